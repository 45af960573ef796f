/*
 * kernel/sched/core.c - run queues, schedule() and the context switch.
 *
 * Locking
 *   rq->lock (one per CPU) protects that CPU's queue, rq->curr, and the
 *   `on_rq`, `cpu` and (for tasks on that CPU) `state` transitions of its
 *   tasks.  It is always taken with interrupts off.  Two run-queue locks are
 *   taken only by the balancer, with trylock (double_rq_trylock): the only
 *   place that holds two.
 *   Its place in the lock order (after the wait-queue, mutex and sleepers
 *   locks, before the checker's): docs/locking.md.
 *
 * The context switch (context_switch) in three steps:
 *   1. prepare  - next is marked on_cpu and becomes rq->curr; rq->lock stays
 *                 held across the switch, so no other CPU can see a half-
 *                 switched run queue.
 *   2. address space - switch_mm() if next has an mm, else enter_lazy_tlb():
 *                 the kernel thread borrows prev's active_mm.  What keeps
 *                 a borrowed mm alive is kernel/mm/lazy_mm.c's business
 *                 (lazy_mm=refcount|shootdown|hazard|mmput): the switch calls its
 *                 borrow start / end hooks.
 *   3. arch_switch_stack + finish - on next's stack, finish_task_switch() marks
 *                 prev off the CPU (store-release of prev->on_cpu) and
 *                 releases rq->lock.
 *
 * Invariants (checked with BUG_ON):
 *   - a running task (rq->curr) is on no run queue;
 *   - a task is picked only when its on_cpu is false (it runs on at most one
 *     CPU);
 *   - schedule() is entered with preempt_count 0 and switches with exactly 1
 *     (the rq lock).
 */
#include <kernel/sched.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/smp.h>
#include <kernel/printk.h>
#include <kernel/time.h>
#include <kernel/debug/console_keys.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/lazy_mm.h>
#include <kernel/rcu.h>
#include <arch/mmu_context.h>
#include <arch/task.h>
#include <arch/cpu.h>
#include <lib/string.h>
#include "sched_internal.h"

DEFINE_PER_CPU(struct preempt_state, preempt_state);
DEFINE_PER_CPU(struct runqueue, runqueue);
DEFINE_PER_CPU(struct task, idle_task);
/* rq->curr of this CPU, kept where one %gs-relative load reads it. */
DEFINE_PER_CPU(struct task *, current_task_ptr);

/* Context switches by what they do to the address space (step 2 below);
 * every switch counts in exactly one. */

struct task *current_task(void)
{
    return this_cpu_read(current_task_ptr);
}

static void rq_init_this_cpu(void)
{
    struct runqueue *rq = this_rq();
    struct task *idle = this_cpu_ptr(&idle_task);
    unsigned cpu = this_cpu_id();

    spin_lock_init(&rq->lock, "runqueue.lock", LOCK_RANK_RUNQUEUE);
    list_init(&rq->queue);
    spin_lock_init(&rq->sleepers_lock, "runqueue.sleepers_lock", LOCK_RANK_SLEEPERS);
    list_init(&rq->sleepers);
    rq->cpu = cpu;

    idle->id = -(int)cpu - 1;
    strlcpy(idle->name, "idle", sizeof(idle->name));
    idle->cpu = cpu;
    cpumask_clear(&idle->allowed);
    cpumask_set_cpu(&idle->allowed, cpu);
    atomic_store(&idle->state, TASK_RUNNABLE);
    atomic_store(&idle->on_cpu, true);
    atomic_store(&idle->refcount, 1);
    idle->mm = NULL;
    idle->active_mm = &init_mm;         /* borrowing init_mm needs no reference */
    list_init(&idle->rq_link);
    list_init(&idle->timer_link);
    list_init(&idle->all_link);
    rq->idle = idle;
    rq->curr = idle;
    *this_cpu_ptr(&current_task_ptr) = idle;
    WRITE_ONCE(rq->online, true);
}

void sched_init(void)
{
    init_mm_setup();
    lazy_mm_init();
    task_cache_init();
    rq_init_this_cpu();
}

void sched_init_ap(void)
{
    rq_init_this_cpu();
}

/* ---- run-queue primitives (rq->lock held) ---- */

void rq_enqueue(struct runqueue *rq, struct task *t)
{
    BUG_ON(t->on_rq);
    BUG_ON(t == rq->idle);
    list_add_tail(&t->rq_link, &rq->queue);
    t->on_rq = true;
    rq->nr_queued++;
}

void rq_dequeue(struct runqueue *rq, struct task *t)
{
    BUG_ON(!t->on_rq);
    list_del(&t->rq_link);
    t->on_rq = false;
    rq->nr_queued--;
}

/*
 * Lock the run queue `t` belongs to.  t->cpu can change while we wait for
 * the lock (a migration holds both the old and the new queue's lock), so
 * check it again once we hold the lock.
 */
struct runqueue *task_rq_lock(struct task *t, uint64_t *flags)
{
    for (;;) {
        *flags = arch_irq_save();
        struct runqueue *rq = cpu_rq(READ_ONCE(t->cpu));
        raw_spin_lock(&rq->lock);
        if (READ_ONCE(t->cpu) == rq->cpu)
            return rq;
        raw_spin_unlock(&rq->lock);
        arch_irq_restore(*flags);
    }
}

void task_rq_unlock(struct runqueue *rq, uint64_t flags)
{
    raw_spin_unlock(&rq->lock);
    arch_irq_restore(flags);
}

/* ---- the switch ---- */

/* Step 3, on next's stack, with rq->lock held and interrupts off. */
void finish_task_switch(struct task *prev)
{
    struct runqueue *rq = this_rq();

    /*
     * Release: everything prev's CPU did with prev (its saved context in
     * arch.ctx_rsp above all) is visible before another CPU that reads
     * on_cpu == false may run or free prev.  Pairs with the acquire in
     * task_wait_off_cpu() and in pick_next/migration checks.
     */
    atomic_store_explicit(&prev->on_cpu, false, memory_order_release);
    struct mm *drop = rq->prev_mm;
    rq->prev_mm = NULL;
    struct task *push = rq->push_task;
    rq->push_task = NULL;
    raw_spin_unlock(&rq->lock);
    preempt_enable_no_resched();
    /* The borrow a kernel thread had ends now that CR3 has left it (see
     * context_switch).  Interrupts are still off: only refcount mode may
     * free the mm here (its mmdrop), and that needs no IPI. */
    if (drop)
        lazy_mm_borrow_end(drop);
    if (push)
        sched_push_task(push);
}

static __always_inline void context_switch(struct runqueue *rq, struct task *prev, struct task *next)
{
    /* Step 1: prepare.  (next->slice_left is the caller's: a fresh slice
     * from __schedule, the rest of prev's from a hand-off.) */
    BUG_ON(atomic_load_explicit(&next->on_cpu, memory_order_acquire));
    atomic_store_explicit(&next->on_cpu, true, memory_order_relaxed);
    rq->curr = next;
    *this_cpu_ptr(&current_task_ptr) = next;
    next->switches_in++;
    next->last_cpu_seen = rq->cpu;
    rq->stats.switches++;

    /*
     * Step 2: the address space.  A kernel thread borrows the mm the CPU has
     * loaded (kernel/mm/lazy_mm.c): user -> kernel starts the borrow
     * (refcount mode: mmgrab; shootdown, mmput: nothing; hazard: publish it in
     * this CPU's slot), kernel -> kernel hands it over with active_mm (no
     * atomics, slot unchanged), kernel -> user ends it - after the switch,
     * in finish_task_switch(), once this CPU no longer runs on that mm.
     */
    tlb_ev_context_switch(prev->mm, prev->active_mm, next->mm);
    if (!next->mm) {
        next->active_mm = prev->active_mm;      /* borrow it */
        if (prev->mm)
            lazy_mm_borrow_start(prev->active_mm);
        enter_lazy_tlb(next->active_mm, next);
    } else {
        switch_mm(prev->active_mm, next->mm, next);
        if (!prev->mm)
            rq->prev_mm = prev->active_mm;      /* borrow ends after the switch */
    }
    if (!prev->mm)
        prev->active_mm = NULL;                 /* the borrow ends with the switch */

    /* Step 3: switch stacks, then finish on next's stack. */
    arch_switch_to(prev, next);
    prev = arch_switch_stack(&prev->arch, &next->arch, prev);
    finish_task_switch(prev);
}

static struct task *pick_next(struct runqueue *rq)
{
    if (list_empty(&rq->queue))
        return rq->idle;
    struct task *t = list_first_entry(&rq->queue, struct task, rq_link);
    rq_dequeue(rq, t);
    return t;
}

/*
 * With rq->lock held, before a switch away from prev: put prev back on its
 * queue if it stays runnable.
 *
 * A preempted task stays runnable whatever its state says: it may have set
 * BLOCKED and be about to check its wake-up condition, or have found the
 * condition true and be about to set RUNNABLE again.  Taking it off the
 * queue here would put it to sleep with nobody left to wake it - the lost
 * wake-up.  Only a task that calls schedule() itself sleeps.
 */
static __always_inline void put_prev_task(struct runqueue *rq, struct task *prev, bool preempted)
{
    int state = atomic_load_explicit(&prev->state, memory_order_relaxed);
    if (prev != rq->idle && (state == TASK_RUNNABLE || preempted)) {
        /* A runnable task no longer allowed here (sched_set_affinity) is
         * pushed to an allowed CPU once it is off this one. */
        if (state == TASK_RUNNABLE && !cpumask_test_cpu(&prev->allowed, rq->cpu))
            rq->push_task = prev;
        else
            rq_enqueue(rq, prev);       /* to the back: round robin */
    }
}

static void __schedule(bool preempted)
{
    struct runqueue *rq = this_rq();
    struct task *prev = rq->curr;

    BUG_ON(arch_irqs_enabled());
    if (preempt_count() != 0)
        panic("schedule() while atomic: preempt_count %d in task '%s'", preempt_count(), prev->name);
    /* A context switch is a quiescent state: the caller held no preempt
     * count, so it is in no RCU reader (kernel/rcu/rcu.c). */
    rcu_qs();
    preempt_disable();
    raw_spin_lock(&rq->lock);
    this_cpu_ptr(&preempt_state)->need_resched = false;

    put_prev_task(rq, prev, preempted);
    struct task *next = pick_next(rq);
    BUG_ON(next->on_rq);

    if (next == prev) {
        raw_spin_unlock(&rq->lock);
        preempt_enable_no_resched();
        return;
    }
    if (preempted)
        rq->stats.preemptions++;
    next->slice_left = 1 + next->priority;
    context_switch(rq, prev, next);
}

void schedule(void)
{
    uint64_t flags = arch_irq_save();
    do {
        __schedule(false);
    } while (need_resched());
    arch_irq_restore(flags);
}

void yield(void)
{
    schedule();
}

void preempt_schedule(void)
{
    /* With interrupts off we cannot switch here; the next interrupt return
     * or preempt_enable() with interrupts on will. */
    if (!arch_irqs_enabled() || !READ_ONCE(this_rq()->online))
        return;
    arch_irq_disable();
    do {
        __schedule(true);
    } while (need_resched());
    arch_irq_enable();
}

void preempt_on_irq_return(void)
{
    /* Interrupts are off (we are in the handler); the interrupted context had
     * them on and no preempt count: it is safe to switch it out. */
    if (!need_resched() || preempt_count() != 0 || !READ_ONCE(this_rq()->online))
        return;
    do {
        __schedule(true);
    } while (need_resched());
}

void set_current_state(enum task_state s)
{
    /* Sequentially consistent: the state store is ordered before the sleeper's
     * later load of its wake-up condition.  Pairs with the waker's condition
     * store followed by its locked read of the state in wake_up_task(). */
    atomic_store(&current_task()->state, s);
}

/* Ask `cpu` to reschedule: locally a flag, remotely an IPI. */
void resched_cpu(unsigned cpu)
{
    if (cpu == this_cpu_id())
        set_need_resched();
    else
        smp_send_reschedule(cpu);
}

void sched_reschedule_ipi(void)
{
    set_need_resched();
}

bool wake_up_task(struct task *t)
{
    uint64_t flags;
    struct runqueue *rq = task_rq_lock(t, &flags);

    if (atomic_load(&t->state) != TASK_BLOCKED) {
        task_rq_unlock(rq, flags);
        return false;
    }
    atomic_store(&t->state, TASK_RUNNABLE);
    /*
     * If t is still rq->curr it has not switched out yet: its schedule() will
     * see RUNNABLE (it takes this same lock) and keep running.  If it is on
     * the queue it was preempted while BLOCKED and is runnable already.
     * Otherwise it is fully off the CPU (on_cpu was cleared before the lock
     * we hold was released) and goes back on its queue.
     */
    if (rq->curr != t && !t->on_rq) {
        BUG_ON(atomic_load_explicit(&t->on_cpu, memory_order_acquire));
        rq_enqueue(rq, t);
        if (rq->curr == rq->idle)
            resched_cpu(rq->cpu);
    }
    task_rq_unlock(rq, flags);
    return true;
}

/*
 * The hand-off: a synchronous wake-up that wakes a task and switches to it
 * in one hold of the run-queue lock (docs/scheduler.md, "Hand-off").
 *
 * A wake-up followed at once by the waker's own sleep, as in every IPC
 * round trip (the caller wakes the server and waits for the reply, the
 * server wakes the caller and waits for the next call), costs through the
 * ordinary path two holds of the run-queue lock: wake_up_task() queues the
 * woken task at the back, then schedule() takes the lock again and picks
 * the first queued task.  When both tasks are on this CPU, the hand-off
 * does both in one hold and runs the woken task next, as L4's and seL4's
 * IPC fast paths and Linux's synchronous wake-ups (WF_SYNC) do.
 *
 * Between prepare and switch the woken task is RUNNABLE on no queue and
 * on no CPU, like a task being pushed (affinity.c): wake_up_task() ignores
 * a RUNNABLE task and the balancer looks only at queues, and everything
 * else that looks at it takes this run-queue lock, which we hold until the
 * switch is done (finish_task_switch on its stack releases it).  So nobody
 * can queue, move or run it in between, and it cannot exit.
 *
 * Fairness: the woken task jumps the queue, so it gets only the rest of
 * the waker's time slice, not a fresh one; a pair of tasks handing the CPU
 * back and forth shares one slice and is preempted when it ends (the tick,
 * when others are queued), like any task.  A pending reschedule refuses
 * the hand-off: the ordinary path then queues the woken task at the back.
 */
DEFINE_COUNTER(switch, handoff, "of the switches, hand-offs: a wake-up and the switch to the woken task in one run-queue lock hold");

bool sched_handoff_prepare(struct task *t, uint64_t *flags)
{
    struct runqueue *rq = this_rq();
    /* Cheap refusals first, without the lock; t->cpu is read again under
     * it (it changes only under the lock of t's queue, this one). */
    if (need_resched() || READ_ONCE(t->cpu) != rq->cpu)
        return false;
    *flags = arch_irq_save();
    preempt_disable();
    raw_spin_lock(&rq->lock);
    if (t->cpu != rq->cpu || t == rq->curr || t->on_rq || need_resched() ||
        atomic_load(&t->state) != TASK_BLOCKED || !cpumask_test_cpu(&t->allowed, rq->cpu)) {
        raw_spin_unlock(&rq->lock);
        preempt_enable_no_resched();    /* the caller's own spinlock keeps the count above 0 */
        arch_irq_restore(*flags);
        return false;
    }
    /* Not queued, not curr, on this queue: off every CPU (its last switch
     * cleared on_cpu before releasing the lock we hold). */
    BUG_ON(atomic_load_explicit(&t->on_cpu, memory_order_acquire));
    /* As in wake_up_task(): sequentially consistent, after the waker's
     * condition stores (pairs with the sleeper's set_current_state). */
    atomic_store(&t->state, TASK_RUNNABLE);
    return true;
}

void sched_handoff_switch(struct task *t, uint64_t flags)
{
    struct runqueue *rq = this_rq();
    struct task *prev = rq->curr;

    /* sched_handoff_prepare() left this CPU holding rq->lock (its owner
     * field, read inline: this runs twice a round trip). */
    BUG_ON(arch_irqs_enabled() || READ_ONCE(rq->lock.owner_cpu) != (int)rq->cpu);
    /* Only the run-queue lock's count is left: the caller holds nothing
     * else, so this is a quiescent state as in __schedule(). */
    if (preempt_count() != 1)
        panic("sched_handoff_switch() while atomic: preempt_count %d in task '%s'",
              preempt_count(), prev->name);
    rcu_qs();
    this_cpu_ptr(&preempt_state)->need_resched = false;
    put_prev_task(rq, prev, false);     /* prev sleeps if it is BLOCKED */
    t->slice_left = prev->slice_left;   /* the rest of the slice, not a new one */
    count_event(switch, handoff);
    context_switch(rq, prev, t);
    /* Running again: the rest of schedule(). */
    while (need_resched())
        __schedule(false);
    arch_irq_restore(flags);
}

/* Called from the timer interrupt on every CPU. */
void sched_tick(void)
{
    struct runqueue *rq = this_rq();

    if (!READ_ONCE(rq->online))
        return;
    sleepers_expire(rq);

    raw_spin_lock(&rq->lock);
    rq->ticks++;
    struct task *curr = rq->curr;
    if (curr == rq->idle) {
        rq->stats.idle_ticks++;
    } else {
        rq->stats.busy_ticks++;
        if (--curr->slice_left <= 0 && rq->nr_queued > 0)
            set_need_resched();
    }
    bool balance_now = rq->ticks % BALANCE_INTERVAL_TICKS == 0 || curr == rq->idle;
    raw_spin_unlock(&rq->lock);

    if (balance_now && sched_balance(rq))
        set_need_resched();
}

__noreturn void sched_idle_loop(void)
{
    struct runqueue *rq = this_rq();
    for (;;) {
        console_keys_poll();    /* 't' on the serial console: the TLB trace */
        rcu_qs();               /* idle: in no RCU reader (kernel/rcu/rcu.c) */
        arch_irq_disable();
        if (!need_resched() && !sched_balance(rq)) {
            /* sti;hlt: an interrupt (or IPI) between the check and the halt
             * still wakes us, because sti delays interrupts by one instruction. */
            arch_safe_halt();
            continue;
        }
        arch_irq_enable();
        schedule();
    }
}

uint64_t sched_ticks(unsigned cpu)
{
    return READ_ONCE(cpu_rq(cpu)->ticks);
}

unsigned sched_nr_queued(unsigned cpu)
{
    return READ_ONCE(cpu_rq(cpu)->nr_queued);
}

void sched_stats_get(unsigned cpu, struct sched_stats *out)
{
    struct runqueue *rq = cpu_rq(cpu);
    uint64_t flags = arch_irq_save();
    raw_spin_lock(&rq->lock);
    *out = rq->stats;
    raw_spin_unlock(&rq->lock);
    arch_irq_restore(flags);
}
