/*
 * kernel/sched/sleep.c - msleep() through per-CPU sleeper lists checked on
 * every timer tick.
 *
 * A sleeper links itself on its CPU's list with its wake-up time, marks
 * itself BLOCKED and calls schedule(); the tick on that CPU wakes every
 * sleeper whose time has passed.  Resolution is one tick: a sleep ends at the
 * first tick at or after its wake-up time, never before it.
 *
 * sleepers_lock is taken before rq->lock (wake_up_task; the whole order is
 * in docs/locking.md).  The list is touched
 * with interrupts off, since the tick handler takes the same lock.
 */
#include "sched_internal.h"
#include <kernel/wait.h>
#include <kernel/time.h>
#include <arch/cpu.h>

void sleepers_expire(struct runqueue *rq)
{
    uint64_t now = ktime_ns();
    raw_spin_lock(&rq->sleepers_lock);
    struct list_head *pos, *tmp;
    list_for_each_safe(pos, tmp, &rq->sleepers) {
        struct task *t = list_entry(pos, struct task, timer_link);
        if (t->wake_at_ns <= now) {
            list_del(&t->timer_link);
            wake_up_task(t);
        }
    }
    raw_spin_unlock(&rq->sleepers_lock);
}

void msleep(unsigned ms)
{
    struct task *me = current_task();
    uint64_t deadline = ktime_ns() + (uint64_t)ms * 1000000;

    while (ktime_ns() < deadline && !kthread_should_stop()) {
        uint64_t flags = arch_irq_save();
        /* Interrupts off: we cannot migrate between choosing the list and
         * linking onto it, and the tick cannot run in between. */
        struct runqueue *rq = this_rq();
        raw_spin_lock(&rq->sleepers_lock);
        me->wake_at_ns = deadline;
        list_add_tail(&me->timer_link, &rq->sleepers);
        set_current_state(TASK_BLOCKED);
        raw_spin_unlock(&rq->sleepers_lock);
        arch_irq_restore(flags);

        schedule();

        /* Woken early (kthread_stop)?  Then we are still linked. */
        flags = arch_irq_save();
        raw_spin_lock(&rq->sleepers_lock);
        if (!list_empty(&me->timer_link))
            list_del(&me->timer_link);
        raw_spin_unlock(&rq->sleepers_lock);
        arch_irq_restore(flags);
        set_current_state(TASK_RUNNABLE);
    }
}

void schedule_until(uint64_t deadline_ns)
{
    struct task *me = current_task();
    uint64_t flags = arch_irq_save();
    struct runqueue *rq = this_rq();
    raw_spin_lock(&rq->sleepers_lock);
    me->wake_at_ns = deadline_ns;
    list_add_tail(&me->timer_link, &rq->sleepers);
    raw_spin_unlock(&rq->sleepers_lock);
    arch_irq_restore(flags);

    schedule();     /* at once if a wake-up came since the caller's BLOCKED */

    /* Woken by someone else: still on the list of the CPU we linked on. */
    flags = arch_irq_save();
    raw_spin_lock(&rq->sleepers_lock);
    if (!list_empty(&me->timer_link))
        list_del(&me->timer_link);
    raw_spin_unlock(&rq->sleepers_lock);
    arch_irq_restore(flags);
    set_current_state(TASK_RUNNABLE);
}
