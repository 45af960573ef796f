/*
 * kernel/rcu/rcu.c - grace periods from per-CPU quiescent states, and the
 * callbacks that wait for them (kernel/rcu.h, docs/rcu.md).
 *
 * THE MECHANISM.  Each CPU counts its quiescent states in qs_seq (only the
 * CPU itself adds to it).  A grace period, run by the kernel thread
 * "rcu_gp":
 *   G1  gp_started++ (under cb_lock: callbacks queued from now on wait for
 *       the NEXT grace period), then a full fence;
 *   G2  snapshot qs_seq of every online CPU;
 *   G3  wait until each of those CPUs has a different qs_seq, or is offline;
 *   G4  a full fence, gp_done = gp_started; run the callbacks whose gp is
 *       at most gp_done.
 * A CPU whose counter moved after G2 went through a quiescent state after
 * the grace period started: any reader it ran before has ended.
 *
 * THE BARRIER PAIRS.
 *   Q1 (rcu_qs) is a locked read-modify-write, a full fence on x86: the
 *      reader's loads and stores before it are done before the new count
 *      is visible, and the loads of a reader that starts after it see
 *      everything the writer stored before G1.  It pairs with the fences
 *      of G1 (the writer's unpublish is visible before the snapshot reads
 *      a count) and G4 (the free comes after the moved count was read).
 *   Without the fence after Q1, a reader that began right after a
 *   quiescent state could read the old pointer from before G1 while the
 *   snapshot read the count from before Q1: store buffering, the one
 *   reordering x86-TSO allows.  The count would move, the grace period
 *   end, and the reader still hold the freed object.
 *
 * WHY A TICK IS A QUIESCENT STATE: readers hold preempt_count() > 0
 * (rcu_read_lock), so a tick that finds the interrupted code at count 0
 * interrupted no reader.  Code that runs with interrupts off cannot be
 * ticked at all, and a tick from user mode or from the idle loop always
 * sees 0.  So a CPU that only idles, or only runs user code, reports one
 * quiescent state per tick and never holds a grace period up.
 *
 * Offline CPUs (never started, or gone) are not in the snapshot, and a CPU
 * that goes offline during G3 is not waited for: it runs no readers.
 */
#include <kernel/rcu.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/spinlock.h>
#include <kernel/cpumask.h>
#include <kernel/percpu.h>
#include <kernel/panic.h>
#include <kernel/debug/counters.h>
#include <arch/cpu.h>
#include <stdatomic.h>

DEFINE_COUNTER(rcu, gp_completed, "RCU: grace periods completed");
DEFINE_COUNTER(rcu, gp_polls, "RCU: times the grace-period thread found a CPU still owing a quiescent state and slept");
DEFINE_COUNTER(rcu, gp_hurries, "RCU: reschedule requests sent to a CPU that still owed a quiescent state after two polls");
DEFINE_COUNTER(rcu, callbacks_queued, "RCU: call_rcu() calls (synchronize_rcu and rcu_barrier queue one each)");
DEFINE_COUNTER(rcu, callbacks_run, "RCU: callbacks run after their grace period");

/* Q1's counter, one per CPU; written by its CPU only, read by rcu_gp. */
static DEFINE_PER_CPU(_Atomic uint64_t, qs_seq);

/* The callbacks waiting, oldest first; gp is non-decreasing along the list. */
static DEFINE_SPINLOCK(cb_lock, LOCK_RANK_RCU);
static struct rcu_head *cb_head, **cb_tail = &cb_head;
static uint64_t gp_started;             /* under cb_lock */
static _Atomic uint64_t gp_done;        /* written by rcu_gp only */
static bool gp_thread_asleep;           /* under cb_lock: needs a wake-up */
static struct wait_queue gp_wq;
static struct task *gp_thread;
static _Atomic unsigned last_gp_cpus;   /* CPUs the last grace period waited for */

void rcu_qs(void)
{
    /* Interrupts off: the count must be the one of the CPU we are on when
     * we add (a migration in between would report another CPU's state). */
    uint64_t flags = arch_irq_save();
    atomic_fetch_add_explicit(this_cpu_ptr(&qs_seq), 1, memory_order_seq_cst);   /* Q1 */
    arch_irq_restore(flags);
}

void rcu_tick(void)
{
    if (preempt_count() == 0)
        rcu_qs();
}

uint64_t rcu_gp_completed(void)
{
    return atomic_load_explicit(&gp_done, memory_order_acquire);
}

unsigned rcu_last_gp_cpus(void)
{
    return atomic_load_explicit(&last_gp_cpus, memory_order_relaxed);
}

uint64_t rcu_cpu_qs_count(unsigned cpu)
{
    return atomic_load_explicit(per_cpu_ptr(&qs_seq, cpu), memory_order_relaxed);
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
    head->func = func;
    head->next = NULL;
    uint64_t flags = spin_lock_irqsave(&cb_lock);
    /* A grace period that is already running may have taken its snapshot
     * before our caller unpublished the object: wait for the next one. */
    head->gp = gp_started + 1;
    *cb_tail = head;
    cb_tail = &head->next;
    bool wake = gp_thread_asleep;
    gp_thread_asleep = false;
    spin_unlock_irqrestore(&cb_lock, flags);
    count_event(rcu, callbacks_queued);
    if (wake)
        wake_up_one(&gp_wq);
}

struct rcu_waiter {
    struct rcu_head head;
    struct completion done;
};

static void wake_waiter(struct rcu_head *head)
{
    struct rcu_waiter *w = (struct rcu_waiter *)head;
    complete(&w->done);
}

void synchronize_rcu(void)
{
    BUG_ON(preempt_count() != 0);       /* inside a reader we would wait for ourselves */
    struct rcu_waiter w;
    completion_init(&w.done, "synchronize_rcu");
    call_rcu(&w.head, wake_waiter);
    wait_for_completion(&w.done);
}

void rcu_barrier(void)
{
    /* Callbacks run in queue order (gp never decreases along the list), so
     * the one queued now runs after every earlier one. */
    synchronize_rcu();
}

static bool work_waiting(void)
{
    uint64_t flags = spin_lock_irqsave(&cb_lock);
    bool any = cb_head != NULL;
    if (!any)
        gp_thread_asleep = true;
    spin_unlock_irqrestore(&cb_lock, flags);
    return any;
}

static void run_grace_period(void)
{
    static uint64_t snap[MAX_CPUS];
    static bool snap_taken[MAX_CPUS];
    static struct cpumask owing;

    uint64_t flags = spin_lock_irqsave(&cb_lock);
    uint64_t gp = ++gp_started;                                 /* G1 */
    spin_unlock_irqrestore(&cb_lock, flags);
    atomic_thread_fence(memory_order_seq_cst);

    cpumask_clear(&owing);                                      /* G2 */
    unsigned cpu;
    for (unsigned c = 0; c < MAX_CPUS; c++)
        snap_taken[c] = false;
    for_each_online_cpu(cpu) {
        snap[cpu] = rcu_cpu_qs_count(cpu);
        snap_taken[cpu] = true;
        cpumask_set_cpu(&owing, cpu);
    }
    for (unsigned polls = 0;; polls++) {                        /* G3 */
        for_each_cpu(cpu, &owing)
            if (!cpumask_test_cpu(&cpu_online_mask, cpu) || rcu_cpu_qs_count(cpu) != snap[cpu])
                cpumask_clear_cpu(&owing, cpu);
        if (cpumask_empty(&owing))
            break;
        /*
         * A CPU that runs one kernel thread in a loop of short readers is
         * almost always inside one when its tick comes, and never switches.
         * Ask it to reschedule: its next rcu_read_unlock() (or the return
         * of the IPI, if no reader runs) goes through schedule(), and
         * __schedule() reports the quiescent state even when it picks the
         * same thread again.  A reader is never cut short: preemption waits
         * for its end.
         */
        if (polls >= 2) {
            for_each_cpu(cpu, &owing) {
                uint64_t flags = arch_irq_save();
                resched_cpu(cpu);
                arch_irq_restore(flags);
                count_event(rcu, gp_hurries);
            }
        }
        count_event(rcu, gp_polls);
        msleep(1);      /* a context switch here: our own CPU's quiescent state */
    }
    unsigned waited = 0;
    for (unsigned c = 0; c < MAX_CPUS; c++)
        waited += snap_taken[c];
    atomic_store_explicit(&last_gp_cpus, waited, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);                  /* G4 */
    atomic_store_explicit(&gp_done, gp, memory_order_release);
    count_event(rcu, gp_completed);
}

/* Take the callbacks whose grace period is done off the list and run them. */
static void run_callbacks(void)
{
    uint64_t done = rcu_gp_completed();
    uint64_t flags = spin_lock_irqsave(&cb_lock);
    struct rcu_head *ready = NULL, **rtail = &ready;
    while (cb_head && cb_head->gp <= done) {
        *rtail = cb_head;
        rtail = &cb_head->next;
        cb_head = cb_head->next;
    }
    *rtail = NULL;
    if (!cb_head)
        cb_tail = &cb_head;
    spin_unlock_irqrestore(&cb_lock, flags);
    while (ready) {
        struct rcu_head *next = ready->next;    /* func may free ready */
        ready->func(ready);
        count_event(rcu, callbacks_run);
        ready = next;
    }
}

static void gp_thread_fn(void *arg)
{
    (void)arg;
    for (;;) {
        wait_event(&gp_wq, work_waiting());
        run_grace_period();
        run_callbacks();
    }
}

void rcu_init(void)
{
    wait_queue_init(&gp_wq, "rcu_gp");
    gp_thread = kthread_create(gp_thread_fn, NULL, "rcu_gp");
    BUG_ON(!gp_thread);
    /* On the boot CPU, always online: a long reader elsewhere (which
     * holds its CPU) must not also hold the thread that waits for it. */
    kthread_bind(gp_thread, 0);
    kthread_start(gp_thread);
}
