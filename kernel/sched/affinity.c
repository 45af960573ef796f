/*
 * kernel/sched/affinity.c - changing where a task that already runs may run.
 *
 * The balancer only ever pulls queued tasks to CPUs they are allowed on, so
 * after t->allowed changes the task itself has to get off a CPU it is no
 * longer allowed on.  Three cases, all under the lock of t's run queue:
 *   - queued there: dequeue and push it now;
 *   - running (rq->curr): its next schedule() does not requeue it locally
 *     but leaves it to finish_task_switch(), which pushes it once it is off
 *     the CPU (see __schedule in core.c);
 *   - blocked (on no queue and, since we hold the lock its last switch
 *     released, on no CPU): just change t->cpu, so the wake-up queues it on
 *     an allowed CPU.
 *
 * A pushed task is "in flight": RUNNABLE, on no queue, on no CPU.  Nothing
 * else touches such a task (wake_up_task() ignores RUNNABLE tasks, the
 * balancer looks only at queues), so t->cpu may be changed holding only the
 * old queue's lock: anyone who then locks the new queue through
 * task_rq_lock() finds t->cpu pointing at it.
 */
#include "sched_internal.h"
#include <kernel/panic.h>

static struct spinlock affinity_lock = SPINLOCK_INIT("affinity_lock", LOCK_RANK_AFFINITY);

static unsigned pick_allowed_cpu(const struct task *t)
{
    struct cpumask m;
    cpumask_and(&m, &t->allowed, &cpu_online_mask);
    BUG_ON(cpumask_empty(&m));
    return cpumask_next(&m, 0);
}

void sched_push_task(struct task *t)
{
    uint64_t flags;
    struct runqueue *rq = task_rq_lock(t, &flags);
    BUG_ON(t->on_rq || atomic_load_explicit(&t->on_cpu, memory_order_acquire));
    WRITE_ONCE(t->cpu, pick_allowed_cpu(t));
    task_rq_unlock(rq, flags);

    rq = task_rq_lock(t, &flags);
    if (!t->on_rq && rq->curr != t) {
        rq_enqueue(rq, t);
        if (rq->curr == rq->idle)
            resched_cpu(rq->cpu);
    }
    task_rq_unlock(rq, flags);
}

void sched_get_affinity(struct task *t, struct cpumask *mask)
{
    /* Written under t's run-queue lock (sched_set_affinity): a whole mask. */
    uint64_t flags;
    struct runqueue *rq = task_rq_lock(t, &flags);
    *mask = t->allowed;
    task_rq_unlock(rq, flags);
}

void sched_set_affinity(struct task *t, const struct cpumask *mask)
{
    struct cpumask m;
    cpumask_and(&m, mask, &cpu_online_mask);
    BUG_ON(cpumask_empty(&m));

    /* One change at a time, so two callers cannot push t in two directions. */
    uint64_t aflags = spin_lock_irqsave(&affinity_lock);
    uint64_t flags;
    struct runqueue *rq = task_rq_lock(t, &flags);
    t->allowed = m;
    bool push = false;
    if (!cpumask_test_cpu(&m, t->cpu)) {
        if (t->on_rq) {
            rq_dequeue(rq, t);
            push = true;
        } else if (rq->curr == t) {
            resched_cpu(rq->cpu);
        } else {
            WRITE_ONCE(t->cpu, pick_allowed_cpu(t));
        }
    }
    task_rq_unlock(rq, flags);
    if (push)
        sched_push_task(t);
    spin_unlock_irqrestore(&affinity_lock, aflags);
}
