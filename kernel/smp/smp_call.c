/*
 * kernel/smp/smp_call.c - running a function on other CPUs (see kernel/smp.h).
 *
 * Data structures (all per-CPU, nothing allocated):
 *
 *   call_queue   one per target CPU: a lock-free LIFO list of call slots
 *                waiting to run there.  Many CPUs push (CAS on head), only
 *                the owner pops, and it always takes the whole list at once
 *                (exchange with NULL), so there is no ABA problem.
 *
 *   call_slots   one array per calling CPU, with one slot per target CPU:
 *                slot [me][t] carries my calls to t.  A slot is `busy` from
 *                the moment I queue it until t is done with it; I reuse it
 *                only when it is free again.  One slot per (caller, target)
 *                pair is enough because a caller never has two calls to the
 *                same target outstanding: a second call waits for the first
 *                slot to be released.
 *
 * Protocol for a call from C to T:
 *   caller C (interrupts off while it claims and fills the slot, so an
 *   interrupt handler on C cannot grab the same slot half-way):
 *     1. wait until slot[C][T].busy == 0                     (load-acquire A1)
 *     2. write fn, arg, wait into the slot; busy = 1
 *     3. push the slot on T's queue                          (CAS-release R1)
 *     4. if the queue was empty, send T the call IPI: a non-empty queue
 *        already has an IPI on its way (or T is about to look at it)
 *     5. if waiting: spin until busy == 0                    (load-acquire A2)
 *   target T, in the IPI handler or in a wait loop (smp_call_service):
 *     1. take the whole queue: head = NULL                   (xchg-acquire A3)
 *     2. reverse it, so calls run in the order they were queued
 *     3. for each slot: copy fn/arg/wait out of it; for a call nobody waits
 *        for, release the slot now (store-release R2), then run fn; for a
 *        waited-for call, run fn, then release the slot (store-release R2).
 *        The slot is never touched after its release: C may reuse it.
 *
 * Ordering pairs:
 *   R1 -> A3   the target sees fn, arg, wait and the list links written by
 *              every caller whose push it takes (later pushes are RMWs on
 *              the same head, so they extend R1's release sequence).
 *   R2 -> A1   a caller reusing a slot sees the target done reading it.
 *   R2 -> A2   a waiting caller sees everything fn did.
 *   IPI        the call IPI is sent after R1; the APIC code orders the ICR
 *              write after earlier stores (arch/x86_64/apic/lapic.c).
 *
 * Why the queue cannot lose a call: T's exchange and every caller's CAS are
 * RMWs on one variable, so they are totally ordered.  A caller that finds
 * the queue non-empty pushed before T's next exchange, which therefore takes
 * its slot, and that exchange will happen because whoever made the queue
 * non-empty sent an IPI.  An IPI that finds an empty queue (its calls were
 * run by a wait loop) is harmless.
 *
 * Why CPUs calling each other cannot deadlock: a CPU that waits (for its
 * slot to free up, or for its call to finish) runs smp_call_service() in the
 * loop, with interrupts off around it, so calls queued for it make progress
 * even when the waiter itself has interrupts disabled or sits in an IPI
 * handler.  If all CPUs wait on each other, each is still serving the
 * others' calls, and every call finishes.  A CPU spinning on a spinlock
 * serves nothing, though: so a caller that waits must hold no spinlock
 * (checked on entry; docs/locking.md, rule 3).
 */
#include <kernel/smp.h>
#include <kernel/lock_order.h>
#include <kernel/preempt.h>
#include <kernel/percpu.h>
#include <arch/smp.h>
#include <arch/cpu.h>
#include <stdatomic.h>

struct call_slot {
    struct call_slot *next;         /* link in the target's queue */
    smp_call_fn_t fn;
    void *arg;
    bool wait;
    _Atomic uint32_t busy;          /* 1: queued or running; owned by the target */
} __cacheline_aligned;

struct call_queue {
    _Atomic(struct call_slot *) head;
} __cacheline_aligned;

static DEFINE_PER_CPU(struct call_slot[MAX_CPUS], call_slots);
static DEFINE_PER_CPU(struct call_queue, call_queue);

void smp_call_service(void)
{
    struct call_queue *q = this_cpu_ptr(&call_queue);

    /* A plain look first: the common case in wait loops is "nothing". */
    if (!atomic_load_explicit(&q->head, memory_order_relaxed))
        return;
    /* A3: pairs with R1 in enqueue(). */
    struct call_slot *list = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);

    struct call_slot *fifo = NULL;
    while (list) {
        struct call_slot *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    while (fifo) {
        struct call_slot *s = fifo;
        fifo = s->next;
        smp_call_fn_t fn = s->fn;
        void *arg = s->arg;
        bool wait = s->wait;
        /* R2 (pairs with A1, and for waited calls with A2). */
        if (!wait)
            atomic_store_explicit(&s->busy, 0, memory_order_release);
        fn(arg);
        if (wait)
            atomic_store_explicit(&s->busy, 0, memory_order_release);
    }
}

/* Whether a call waits in this CPU's queue.  With interrupts off it stays
 * there (only the IPI handler and wait loops serve it): a test uses this to
 * act while another CPU's call is known to be on its way. */
bool smp_call_pending(void)
{
    return atomic_load_explicit(&this_cpu_ptr(&call_queue)->head, memory_order_acquire) != NULL;
}

/* One turn of a wait loop: serve our own queue (interrupts off, as in the
 * IPI handler), then pause. */
static void wait_a_little(void)
{
    uint64_t flags = arch_irq_save();
    smp_call_service();
    arch_irq_restore(flags);
    arch_cpu_relax();
}

static void wait_until_free(struct call_slot *s)
{
    /* A1/A2: pairs with R2 in smp_call_service(). */
    while (atomic_load_explicit(&s->busy, memory_order_acquire))
        wait_a_little();
}

static struct call_slot *my_slot(unsigned target)
{
    return &(*this_cpu_ptr(&call_slots))[target];
}

/* Steps 1-4 of the protocol.  Interrupts are off. */
static void queue_call(unsigned target, smp_call_fn_t fn, void *arg, bool wait)
{
    struct call_slot *s = my_slot(target);
    wait_until_free(s);
    s->fn = fn;
    s->arg = arg;
    s->wait = wait;
    atomic_store_explicit(&s->busy, 1, memory_order_relaxed);

    struct call_queue *q = per_cpu_ptr(&call_queue, target);
    struct call_slot *old = atomic_load_explicit(&q->head, memory_order_relaxed);
    do {
        s->next = old;
        /* R1: publishes the slot's fields and link with the slot. */
    } while (!atomic_compare_exchange_weak_explicit(&q->head, &old, s, memory_order_release,
                                                    memory_order_relaxed));
    if (!old)
        arch_send_ipi(target, ARCH_IPI_CALL);
}

static bool online(unsigned cpu)
{
    return cpu < MAX_CPUS && cpumask_test_cpu(&cpu_online_mask, cpu);
}

int smp_call_cpu(unsigned cpu, smp_call_fn_t fn, void *arg, bool wait)
{
    if (!online(cpu))
        return -1;
    if (wait)
        lock_order_assert_none_held("making a cross-CPU call that waits");
    preempt_disable();      /* our slots are per CPU: stay on this one */
    uint64_t flags = arch_irq_save();
    if (cpu == this_cpu_id()) {
        fn(arg);
        arch_irq_restore(flags);
        preempt_enable();
        return 0;
    }
    queue_call(cpu, fn, arg, wait);
    arch_irq_restore(flags);
    /* Wait with the caller's interrupt state: a nested call from an
     * interrupt handler may reuse our slot after our call is done, which
     * only makes us wait for its call too. */
    if (wait)
        wait_until_free(my_slot(cpu));
    preempt_enable();
    return 0;
}

void smp_call_mask(const struct cpumask *mask, smp_call_fn_t fn, void *arg, bool wait)
{
    struct cpumask targets;
    unsigned cpu;

    cpumask_and(&targets, mask, &cpu_online_mask);
    if (wait)
        lock_order_assert_none_held("making a cross-CPU call that waits");
    preempt_disable();      /* our slots are per CPU: stay on this one */
    uint64_t flags = arch_irq_save();
    unsigned me = this_cpu_id();
    bool self = cpumask_test_cpu(&targets, me);
    cpumask_clear_cpu(&targets, me);
    /* Queue the remote calls first so they run while we run ours. */
    for_each_cpu(cpu, &targets)
        queue_call(cpu, fn, arg, wait);
    if (self)
        fn(arg);
    arch_irq_restore(flags);
    if (wait)
        for_each_cpu(cpu, &targets)
            wait_until_free(my_slot(cpu));
    preempt_enable();
}

void smp_call_others(smp_call_fn_t fn, void *arg, bool wait)
{
    struct cpumask others = cpu_online_mask;
    preempt_disable();
    cpumask_clear_cpu(&others, this_cpu_id());
    smp_call_mask(&others, fn, arg, wait);
    preempt_enable();
}

void smp_call_all(smp_call_fn_t fn, void *arg, bool wait)
{
    smp_call_mask(&cpu_online_mask, fn, arg, wait);
}
