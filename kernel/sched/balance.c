/*
 * kernel/sched/balance.c - moving tasks between CPUs.
 *
 * Pull model: a CPU looks at the other queues and, if the busiest one has at
 * least two more waiting tasks than its own (or it is idle and the busiest
 * has any), takes one task that is allowed to run here.  Queue lengths are
 * read without locks (a stale value only makes a pull a little early or
 * late); the move itself holds both run-queue locks, taken with trylock
 * (double_rq_trylock below): a busy lock just means "not this time".
 *
 * Why a migration is safe: only a task that is on a run queue is moved, and
 * a queued task is not running (rq->curr is never queued) and its on_cpu is
 * false (it was cleared, with release, before its last CPU dropped the lock
 * we now hold).  t->cpu is changed with both locks held, which is what
 * task_rq_lock() relies on.
 */
#include "sched_internal.h"
#include <kernel/cpumask.h>
#include <kernel/panic.h>
#include <arch/cpu.h>

/*
 * Take both run-queue locks, or neither.  Balancing is optional work, so it
 * never waits for a lock: with ticket locks a waiter queues behind every
 * earlier one, and under a hypervisor (or QEMU with more vCPUs than host
 * cores) a queued waiter that loses its host CPU stalls every CPU behind it.
 * Idle CPUs all polling the same busy queue would build exactly that convoy
 * on the busy CPU's lock.  Trying both locks also cannot deadlock.
 */
static bool double_rq_trylock(struct runqueue *a, struct runqueue *b)
{
    if (!raw_spin_trylock(&a->lock))
        return false;
    if (!raw_spin_trylock(&b->lock)) {
        raw_spin_unlock(&a->lock);
        return false;
    }
    return true;
}

static void double_rq_unlock(struct runqueue *a, struct runqueue *b)
{
    raw_spin_unlock(&a->lock);
    raw_spin_unlock(&b->lock);
}

bool sched_balance(struct runqueue *me)
{
    unsigned cpu, best_cpu = MAX_CPUS, best_len = 0;
    bool idle = me->curr == me->idle;
    unsigned mine = READ_ONCE(me->nr_queued);

    for_each_online_cpu(cpu) {
        struct runqueue *rq = cpu_rq(cpu);
        if (rq == me || !READ_ONCE(rq->online))
            continue;
        unsigned len = READ_ONCE(rq->nr_queued);
        if (len > best_len) {
            best_len = len;
            best_cpu = cpu;
        }
    }
    if (best_cpu == MAX_CPUS)
        return false;
    if (!(idle && mine == 0 && best_len >= 1) && best_len < mine + 2)
        return false;

    struct runqueue *src = cpu_rq(best_cpu);
    uint64_t flags = arch_irq_save();
    if (!double_rq_trylock(me, src)) {
        arch_irq_restore(flags);
        return false;
    }
    bool moved = false;
    struct list_head *pos;
    list_for_each(pos, &src->queue) {
        struct task *t = list_entry(pos, struct task, rq_link);
        if (!cpumask_test_cpu(&t->allowed, me->cpu))
            continue;
        BUG_ON(atomic_load_explicit(&t->on_cpu, memory_order_acquire));
        rq_dequeue(src, t);
        WRITE_ONCE(t->cpu, me->cpu);
        rq_enqueue(me, t);
        me->stats.migrations_in++;
        moved = true;
        break;
    }
    double_rq_unlock(me, src);
    arch_irq_restore(flags);
    return moved;
}
