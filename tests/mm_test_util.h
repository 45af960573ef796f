/*
 * tests/mm_test_util.h - kernel threads that run on a user mm, for tests of
 * the mm and TLB code without ring 3 (tests/test_mm_smp.c,
 * tests/test_tlb_counters.c, the labs' suites in tests/test_lab_shootdown.c
 * and tests/test_lab_generations.c).  A test thread adopts an mm by being
 * created with t->mm = t->active_mm = mm (holding an mm_users reference,
 * as a user thread does) and gives it back with unuse_mm().
 */
#pragma once
#include "smp_test_util.h"
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <arch/x86/cpufeatures.h>
#include <arch/mmu_context.h>
#include <arch/cpu.h>
#include <stdatomic.h>

/*
 * Start a kernel thread running fn(arg) bound to `cpu`.  With mm it runs as
 * a "user" thread of mm: it holds its own mm_users reference (the one a
 * user thread owns; fn gives it back with unuse_mm) and the scheduler's
 * switch_mm loads mm for it.  NULL when out of memory (no reference taken).
 */
static inline struct task *mm_thread_start(void (*fn)(void *), void *arg, const char *name,
                                           struct mm *mm, unsigned cpu)
{
    struct task *th = kthread_create(fn, arg, name);
    if (!th)
        return NULL;
    if (mm) {
        mmget(mm);
        th->mm = th->active_mm = mm;
    }
    kthread_bind(th, cpu);
    kthread_start(th);
    return th;
}

/* Read a word at a user address from the kernel, as copy_from_user would
 * but without its fault handling: with SMAP on, only while RFLAGS.AC is set. */
static inline uint64_t read_user_u64(uintptr_t va)
{
    uint64_t v;
    if (smap_enabled)
        __asm__ volatile("stac" ::: "memory");
    v = *(volatile uint64_t *)va;
    if (smap_enabled)
        __asm__ volatile("clac" ::: "memory");
    return v;
}

/*
 * Stop using the adopted mm, like kthread_unuse_mm: switch this CPU to
 * init_mm (a kernel thread's active_mm; borrowing init_mm needs no
 * reference in any lazy_mm mode), then give up the user reference.
 */
static inline void unuse_mm(struct mm *mm)
{
    struct task *me = current_task();
    uint64_t flags = arch_irq_save();
    switch_mm(mm, &init_mm, me);
    me->active_mm = &init_mm;
    me->mm = NULL;
    arch_irq_restore(flags);
    mmput(mm);
}

/*
 * A barrier that n threads meet at again and again, each counting its own
 * meetings in *step: returns once all n arrived at this one (or *round went
 * negative: the test is ending).  The writer suites use it to make their
 * faults - and flushes - of one mm happen at the same moment on purpose
 * (tests/test_mm_concurrent.c, the holes scenario of test_tlbcheck_owed.c).
 */
static inline void meet_all(_Atomic uint64_t *arrived, uint64_t *step, unsigned n,
                            _Atomic int *round)
{
    uint64_t target = ++*step * n;
    atomic_fetch_add(arrived, 1);
    WAIT_UNTIL_PROGRESS(atomic_load(arrived) >= target || atomic_load(round) < 0,
                        atomic_load(arrived), yield());
}

/* A thread that keeps an mm loaded on its CPU until told to leave. */
struct holder {
    struct mm *mm;
    _Atomic bool loaded, leave;
};

static inline void holder_fn(void *arg)
{
    struct holder *h = arg;
    atomic_store(&h->loaded, true);
    SPIN_UNTIL(atomic_load(&h->leave));
    unuse_mm(h->mm);
}

/* Start a holder of mm bound to cpu (it takes its own mm_users reference,
 * which unuse_mm gives back).  NULL when out of memory. */
static inline struct task *holder_start(struct holder *h, struct mm *mm, unsigned cpu, const char *name)
{
    *h = (struct holder){ .mm = mm };
    return mm_thread_start(holder_fn, h, name, mm, cpu);
}

/*
 * A holder that can go lazy: on `go_lazy` it starts a kernel thread bound
 * to its CPU and blocks in kthread_join() on it, so that CPU runs the
 * kernel thread on the holder's mm (user -> kernel thread: lazy).  The
 * kernel thread reports `lazy` only once the holder is blocked and off the
 * CPU, and spins until `back` (or `leave`): then the holder runs again on
 * its mm (lazy -> user: the catch-up of switch_mm), says `returned`, and
 * keeps the mm loaded until `leave`.  (tests/test_tlb_counters.c,
 * tests/lab_test_util.h, tests/test_tlb_trace.c)
 */
struct lazy_holder {
    struct mm *mm;
    struct task *self;
    _Atomic bool loaded, go_lazy, lazy, back, returned, leave;
};

static inline void lazy_holder_borrow(void *arg)
{
    struct lazy_holder *h = arg;
    while (atomic_load(&h->self->state) != TASK_BLOCKED || atomic_load(&h->self->on_cpu))
        yield();
    atomic_store(&h->lazy, true);
    SPIN_UNTIL(atomic_load(&h->back) || atomic_load(&h->leave));
}

static inline void lazy_holder_run(void *arg)
{
    struct lazy_holder *h = arg;
    atomic_store(&h->loaded, true);
    SPIN_UNTIL(atomic_load(&h->go_lazy) || atomic_load(&h->leave));
    if (atomic_load(&h->go_lazy)) {
        struct task *b = kthread_create(lazy_holder_borrow, h, "tlb-borrower");
        if (b) {
            kthread_bind(b, this_cpu_id());
            kthread_start(b);
            kthread_join(b);
        }
        atomic_store(&h->returned, true);
    }
    SPIN_UNTIL(atomic_load(&h->leave));
    unuse_mm(h->mm);
}

/* Start a lazy holder of mm bound to cpu (with its own mm_users reference,
 * which unuse_mm gives back).  NULL when out of memory. */
static inline struct task *lazy_holder_start(struct lazy_holder *h, struct mm *mm, unsigned cpu)
{
    *h = (struct lazy_holder){ .mm = mm };
    struct task *th = kthread_create(lazy_holder_run, h, "tlb-holder");
    if (!th)
        return NULL;
    h->self = th;
    mmget(mm);
    th->mm = th->active_mm = mm;
    kthread_bind(th, cpu);
    kthread_start(th);
    return th;
}

/* A kernel thread that gives the CPU back at once, until told to stop: the
 * partner a measuring thread yields to, so that each yield is one switch to
 * a kernel thread and one back (tests/test_tlb_counters.c, test_lazy_mm.c). */
struct yielder {
    _Atomic bool running, stop;
};

static inline void yielder_fn(void *arg)
{
    struct yielder *y = arg;
    atomic_store(&y->running, true);
    while (!atomic_load(&y->stop))
        yield();
}

/* Start a yielder on `cpu` and wait until it has run once, so that from
 * then on it is always on that CPU's run queue when another task yields. */
static inline struct task *start_yielder(struct yielder *y, unsigned cpu)
{
    struct task *t = kthread_create(yielder_fn, y, "yielder");
    if (!t)
        return NULL;
    kthread_bind(t, cpu);
    kthread_start(t);
    while (!atomic_load(&y->running))
        yield();                /* lets it run when it shares our CPU */
    return t;
}
