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

/*
 * The count and the flag are read and changed with single %gs-relative
 * instructions.  A sequence "find this CPU's copy, then increment it" could be
 * preempted (the count is still 0) and migrated in between, and would then
 * increment the count of the CPU it left.
 */
#define __preempt_off(field) (__percpu_offset(&preempt_state) + offsetof(struct preempt_state, field))

static inline int preempt_count(void) { return arch_this_cpu_read_int(__preempt_off(count)); }
static inline bool need_resched(void) { return arch_this_cpu_read_u8(__preempt_off(need_resched)); }

static inline void preempt_disable(void)
{
    arch_this_cpu_add_int(__preempt_off(count), 1);
    barrier();      /* the critical section starts after the increment */
}

/* Drop the count without rescheduling (used by the scheduler itself). */
static inline void preempt_enable_no_resched(void)
{
    barrier();
    arch_this_cpu_add_int(__preempt_off(count), -1);
}

void preempt_schedule(void);

static inline void preempt_enable(void)
{
    barrier();
    arch_this_cpu_add_int(__preempt_off(count), -1);
    /* Once the count is 0 we may be preempted anywhere below, which is fine:
     * both reads are of whatever CPU we are on at that instant. */
    if (unlikely(need_resched()) && preempt_count() == 0)
        preempt_schedule();
}

/* Only ever called with interrupts off (tick, IPI, wake-up paths). */
static inline void set_need_resched(void) { WRITE_ONCE(this_cpu_ptr(&preempt_state)->need_resched, true); }
