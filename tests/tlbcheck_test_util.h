/*
 * tests/tlbcheck_test_util.h - the pieces the shadow-TLB checker's live
 * scenarios share (part 2 of tests/test_tlbcheck.c, test_tlbcheck_machine.c
 * and test_tlbcheck_owed.c): the user addresses they map, the CPU their
 * threads run on, a filled mm, and a thread that keeps that CPU busy.
 *
 * The runner's inject-* rows match the CPU number and the address in the
 * checker's VIOLATION line: the scenarios' threads run on other_cpu() and
 * touch the pages below, so neither may change without those rows.
 */
#pragma once
#include "mm_test_util.h"
#include <arch/uaccess.h>
#include <kernel/mm.h>
#include <kernel/smp.h>
#include <uapi/shootdown.h>

#define P0      0x500000ul      /* stays mapped */
#define P1      0x501000ul      /* the page a scenario unmaps or write-protects */
#define PFAR    0x7f0000000000ul /* a page with page tables of its own */
#define RW      (SD_PROT_READ | SD_PROT_WRITE)

/* The CPU the scenarios' threads run on: the last one, never the test's
 * own when there are two or more (the test runs on CPU 0). */
static inline unsigned other_cpu(void)
{
    return nr_cpus_online - 1;
}

/*
 * A new mm with `pages` pages mapped from P0 (1 or 2: P0, P1), page i
 * holding the word fill + i, and with `far` PFAR too, holding fill + 2.
 * NULL when out of memory.
 */
static inline struct mm *scenario_mm_filled(unsigned pages, bool far, uint64_t fill)
{
    struct mm *mm = mm_create();
    if (!mm)
        return NULL;
    bool bad = mm_map_anon(mm, P0, pages * PAGE_SIZE, RW) ||
               (far && mm_map_anon(mm, PFAR, PAGE_SIZE, RW));
    for (unsigned i = 0; i < pages && !bad; i++) {
        uint64_t v = fill + i;
        bad = mm_write(mm, P0 + i * PAGE_SIZE, &v, 8);
    }
    uint64_t v2 = fill + 2;
    if (bad || (far && mm_write(mm, PFAR, &v2, 8))) {
        mmput(mm);
        return NULL;
    }
    return mm;
}

/* A thread that keeps other_cpu() busy until told to stop: a kernel thread
 * (mm NULL: the CPU goes lazy on what it had, borrowing it) or, with mm, a
 * "user" thread of that address space reading P0 through uaccess. */
struct spinner {
    struct mm *mm;
    _Atomic bool running, stop;
};

static inline void spinner_fn(void *arg)
{
    struct spinner *s = arg;
    atomic_store(&s->running, true);
    uint64_t v;
    while (!atomic_load(&s->stop)) {
        if (s->mm)
            copy_from_user(&v, (const void *)P0, 8);
        arch_cpu_relax();
    }
    if (s->mm)
        unuse_mm(s->mm);
}

/* Start it and wait until it runs.  NULL when out of memory. */
static inline struct task *spinner_start(struct spinner *s, struct mm *mm, const char *name)
{
    *s = (struct spinner){ .mm = mm };
    struct task *th = mm_thread_start(spinner_fn, s, name, mm, other_cpu());
    if (th)
        SPIN_UNTIL(atomic_load(&s->running));
    return th;
}

/* Returns kthread_join's result. */
static inline int spinner_stop(struct spinner *s, struct task *th)
{
    atomic_store(&s->stop, true);
    return kthread_join(th);
}

/* Wait until a thread that set *done is asleep (blocked): its CPU then runs
 * something else - the idle task or a spinner - borrowing its mm. */
static inline void wait_asleep(_Atomic bool *done, struct task *th)
{
    SPIN_UNTIL(atomic_load(done));
    SPIN_UNTIL(atomic_load(&th->state) == TASK_BLOCKED);
}
