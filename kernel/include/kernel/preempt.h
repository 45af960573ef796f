/*
 * kernel/preempt.h - kernel preemption control.
 *
 * The scheduler may switch a running kernel thread out when its time slice
 * ends (at the timer interrupt's return) or when another task must run at
 * once (need_resched).  Code that must not be switched out - anything using
 * this_cpu_ptr() state across several statements, anything holding a
 * spinlock - raises this CPU's preempt_count.  Preemption happens only when
 * the count is zero, interrupts are enabled, and need_resched is set.
 *
 * preempt_count lives per CPU (not per task): a task is only ever switched
 * out with a count of exactly one (the run-queue lock schedule() holds), and
 * the next task's finish_task_switch() drops that same lock, so the count is
 * handed over with the lock.
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/percpu.h>

struct preempt_state {
    int count;
    bool need_resched;
};
DECLARE_PER_CPU(struct preempt_state, preempt_state);

static inline int preempt_count(void) { return this_cpu_ptr(&preempt_state)->count; }

static inline void preempt_disable(void)
{
    this_cpu_ptr(&preempt_state)->count++;
    barrier();      /* the critical section starts after the increment */
}

/* Drop the count without rescheduling (used by the scheduler itself). */
static inline void preempt_enable_no_resched(void)
{
    barrier();
    this_cpu_ptr(&preempt_state)->count--;
}

void preempt_schedule(void);

static inline void preempt_enable(void)
{
    barrier();
    struct preempt_state *ps = this_cpu_ptr(&preempt_state);
    if (--ps->count == 0 && unlikely(READ_ONCE(ps->need_resched)))
        preempt_schedule();
}

static inline void set_need_resched(void) { WRITE_ONCE(this_cpu_ptr(&preempt_state)->need_resched, true); }
static inline bool need_resched(void) { return READ_ONCE(this_cpu_ptr(&preempt_state)->need_resched); }
