/*
 * tests/test_mm_smp.c - flush_tlb_mm_range() and switch_mm() with an
 * address space loaded on another CPU, without ring 3.
 *
 * A kernel thread adopts an mm the way a user thread owns one (t->mm and
 * t->active_mm set before it starts, with an mm_users reference), so the
 * scheduler's switch_mm() loads it and sets that CPU's bit in mm->cpumask.
 * It reads memory through the user address (kernel reads of user pages are
 * allowed while RFLAGS.AC is set when SMAP is on).  The test changes the
 * mapping under it and checks that its next read sees the new page, never
 * the old one through a stale TLB entry, and that exactly the other CPUs
 * in the cpumask were sent a flush.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/kmalloc.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/lazy_mm.h>
#include <arch/mmu_context.h>
#include <arch/paging.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(tlb, ipi_sent);

/* Flush IPIs sent so far, summed over the CPUs (kernel/debug/counters.h). */
static uint64_t ipis_sent(void)
{
    return counter_sum(COUNTER(tlb, ipi_sent));
}

#define ADDR    0x400000ul
#define RW      (SD_PROT_READ | SD_PROT_WRITE)

struct reader {
    struct mm *mm;
    _Atomic int cmd;            /* > 0: read ADDR once; -1: leave the mm and exit */
    _Atomic int done;           /* the last command carried out */
    _Atomic uint64_t seen;
};

static void reader_fn(void *arg)
{
    struct reader *r = arg;
    for (;;) {
        int cmd;
        SPIN_UNTIL((cmd = atomic_load(&r->cmd)) != atomic_load(&r->done));
        if (cmd == atomic_load(&r->done))
            continue;           /* the guard ran out: keep waiting */
        if (cmd < 0)
            break;
        atomic_store(&r->seen, read_user_u64(ADDR));
        atomic_store(&r->done, cmd);
    }
    unuse_mm(r->mm);
    atomic_store(&r->done, -1);
}

static uint64_t reader_read(struct reader *r, int cmd)
{
    atomic_store(&r->cmd, cmd);
    if (!SPIN_UNTIL(atomic_load(&r->done) == cmd))
        return ~0ull;
    return atomic_load(&r->seen);
}

/* Other CPUs in the mm's cpumask, as flush_tlb_mm_range counts them. */
static unsigned others_in_mask(struct mm *mm)
{
    struct cpumask m = mm->cpumask;
    cpumask_clear_cpu(&m, this_cpu_id());
    return cpumask_weight(&m);
}

struct remote_args {
    struct ktest *t;
    unsigned reader_cpu;
};

/* The body, in a thread bound to one CPU so "this CPU" stays put. */
static void remote_flush_body(void *arg)
{
    struct remote_args *a = arg;
    struct ktest *t = a->t;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, ADDR, PAGE_SIZE, RW), 0);
    uint64_t v = 111;
    ASSERT_EQ(t, mm_write(mm, ADDR, &v, sizeof(v)), 0);
    phys_addr_t old_frame;
    ASSERT_TRUE(t, paging_lookup(mm->pml4, ADDR, &old_frame, NULL, NULL));

    struct reader r = { .mm = mm };
    struct task *th = kthread_create(reader_fn, &r, "mm-reader");
    ASSERT_TRUE(t, th != NULL);
    mmget(mm);                  /* the reference the "user thread" owns */
    th->mm = th->active_mm = mm;
    kthread_bind(th, a->reader_cpu);
    kthread_start(th);

    /* The reader's CPU loads the mm and caches the translation. */
    EXPECT_EQ(t, reader_read(&r, 1), 111u);
    EXPECT_TRUE(t, cpumask_test_cpu(&mm->cpumask, a->reader_cpu));
    EXPECT_FALSE(t, cpumask_test_cpu(&mm->cpumask, this_cpu_id()));
    EXPECT_EQ(t, others_in_mask(mm), 1u);

    /*
     * Replace the page: unmap (flush), map again, write new contents.  Keep
     * the old frame allocated with its contents intact, so a stale
     * translation would read 111 instead of 222.
     */
    atomic_fetch_add(&pa_to_page(old_frame)->refcount, 1);
    uint64_t ipis = ipis_sent();
    uint64_t gen = atomic_load(&mm->tlb_gen);
    EXPECT_EQ(t, mm_unmap(mm, ADDR, PAGE_SIZE), 0);
    EXPECT_EQ(t, ipis_sent(), ipis + 1);
    EXPECT_GT(t, atomic_load(&mm->tlb_gen), gen);
    ASSERT_EQ(t, mm_map_anon(mm, ADDR, PAGE_SIZE, RW), 0);
    v = 222;
    ASSERT_EQ(t, mm_write(mm, ADDR, &v, sizeof(v)), 0);
    phys_addr_t new_frame;
    ASSERT_TRUE(t, paging_lookup(mm->pml4, ADDR, &new_frame, NULL, NULL));
    EXPECT_NE(t, new_frame, old_frame);
    EXPECT_EQ(t, reader_read(&r, 2), 222u);
    page_free(old_frame, 0);

    /* mprotect and fork change the tables too: one IPI each. */
    ipis = ipis_sent();
    EXPECT_EQ(t, mm_protect(mm, ADDR, PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_EQ(t, ipis_sent(), ipis + 1);
    EXPECT_EQ(t, mm_protect(mm, ADDR, PAGE_SIZE, RW), 0);
    ipis = ipis_sent();
    struct mm *child = mm_fork(mm);
    ASSERT_TRUE(t, child != NULL);
    EXPECT_EQ(t, ipis_sent(), ipis + 1);
    EXPECT_TRUE(t, cpumask_empty(&child->cpumask));
    EXPECT_EQ(t, reader_read(&r, 3), 222u);
    mmput(child);               /* never loaded anywhere: no IPI */
    EXPECT_EQ(t, ipis_sent(), ipis + 1);

    /* The reader leaves; its CPU stays in the cpumask until a flush finds
     * it gone (the lazy clearing), so the teardown's flush still calls it,
     * and that call clears the bit. */
    atomic_store(&r.cmd, -1);
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_EQ(t, atomic_load(&mm->mm_users), 1);
    ipis = ipis_sent();
    EXPECT_TRUE(t, cpumask_test_cpu(&mm->cpumask, a->reader_cpu));
    mmput(mm);
    EXPECT_EQ(t, ipis_sent(), ipis + 1);
}

static void test_remote_flush(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    size_t heap = kmalloc_bytes_in_use();
    unsigned mms = mm_live_count();
    struct remote_args a = { t, 1 };
    struct task *body = mm_thread_start(remote_flush_body, &a, "mm-flusher", NULL, 0);
    ASSERT_TRUE(t, body != NULL);
    kthread_join(body);
    EXPECT_EQ(t, mm_live_count(), mms);
    EXPECT_EQ(t, kmalloc_bytes_in_use(), heap);
}

/* Several CPUs load the same mm: a flush calls every one but the flusher. */
static void test_flush_counts_cpumask(struct ktest *t)
{
    unsigned ncpu = nr_cpus_online;
    if (ncpu < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, ADDR, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, ADDR, true, false, false), 0);

    struct holder h[MAX_CPUS];
    struct task *th[MAX_CPUS];
    unsigned cpu, n = 0;
    for_each_online_cpu(cpu) {
        th[n] = holder_start(&h[n], mm, cpu, "mm-holder");
        ASSERT_TRUE(t, th[n] != NULL);
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h[i].loaded)));
    EXPECT_EQ(t, cpumask_weight(&mm->cpumask), ncpu);

    /* Wherever this thread runs, every other CPU is in the mask. */
    preempt_disable();
    uint64_t ipis = ipis_sent();
    flush_tlb_mm_range(mm, ADDR, ADDR + PAGE_SIZE, false, TLB_CAUSE_TEST);
    EXPECT_EQ(t, ipis_sent(), ipis + others_in_mask(mm));
    EXPECT_EQ(t, others_in_mask(mm), ncpu - 1);
    preempt_enable();

    for (unsigned i = 0; i < n; i++)
        atomic_store(&h[i].leave, true);
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    EXPECT_EQ(t, atomic_load(&mm->mm_users), 1);
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/*
 * Forks of one parent on every CPU at once: children write every page
 * (one copy each, since the parent still maps it) and exit, while other
 * children are being forked from the same frames.  The frame refcounts
 * change under different mms' locks; at the end each parent page is the
 * parent's alone again, the copies are exactly one per child page written,
 * and nothing leaks.
 */
#define STRESS_PAGES 16
#define STRESS_FORKS 20

struct forker {
    struct mm *parent;
    _Atomic unsigned bad;
};

static void forker_fn(void *arg)
{
    struct forker *f = arg;
    for (unsigned round = 0; round < STRESS_FORKS; round++) {
        struct mm *child = mm_fork(f->parent);
        if (!child) {
            atomic_fetch_add(&f->bad, 1);
            return;
        }
        for (uint64_t i = 0; i < STRESS_PAGES; i++) {
            uintptr_t va = ADDR + i * PAGE_SIZE;
            phys_addr_t pa;
            if (mm_handle_fault(child, va, true, false, true) != 0 ||
                !paging_lookup(child->pml4, va, &pa, NULL, NULL) ||
                *(uint64_t *)phys_to_virt(pa) != i)
                atomic_fetch_add(&f->bad, 1);
            uint64_t mine = 1000 + i;
            if (mm_write(child, va, &mine, sizeof(mine)) != 0)
                atomic_fetch_add(&f->bad, 1);
        }
        mmput(child);
    }
}

static void test_concurrent_fork_cow(struct ktest *t)
{
    unsigned mms = mm_live_count();
    struct mm *parent = mm_create();
    ASSERT_TRUE(t, parent != NULL);
    ASSERT_EQ(t, mm_map_anon(parent, ADDR, STRESS_PAGES * PAGE_SIZE, RW), 0);
    for (uint64_t i = 0; i < STRESS_PAGES; i++)
        ASSERT_EQ(t, mm_write(parent, ADDR + i * PAGE_SIZE, &i, sizeof(i)), 0);

    uint64_t copies = atomic_load(&mm_stats.cow_copies);
    uint64_t reuses = atomic_load(&mm_stats.cow_reuses);
    struct forker f = { .parent = parent };
    struct task *th[MAX_CPUS];
    unsigned cpu, n = 0;
    for_each_online_cpu(cpu) {
        th[n] = kthread_create(forker_fn, &f, "mm-forker");
        ASSERT_TRUE(t, th[n] != NULL);
        kthread_bind(th[n], cpu);
        kthread_start(th[n]);
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    EXPECT_EQ(t, atomic_load(&f.bad), 0u);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + (uint64_t)n * STRESS_FORKS * STRESS_PAGES);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_reuses), reuses);

    /* The parent is every page's last owner: its writes copy nothing. */
    for (uint64_t i = 0; i < STRESS_PAGES; i++) {
        uintptr_t va = ADDR + i * PAGE_SIZE;
        phys_addr_t pa;
        ASSERT_TRUE(t, paging_lookup(parent->pml4, va, &pa, NULL, NULL));
        EXPECT_EQ(t, atomic_load(&pa_to_page(pa & PTE_ADDR)->refcount), 1u);
        EXPECT_EQ(t, *(uint64_t *)phys_to_virt(pa), i);
        EXPECT_EQ(t, mm_handle_fault(parent, va, true, false, true), 0);
    }
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_reuses), reuses + STRESS_PAGES);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + (uint64_t)n * STRESS_FORKS * STRESS_PAGES);
    mmput(parent);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/*
 * The exit path of a user thread (like Linux's exit_mm, lazy_mm_exit_mm):
 * become a lazy borrower of the mm, stop owning it (task->mm = NULL), mmput.
 * The mappings go at once.  refcount mode: the struct and PML4 stay while
 * the CPU borrows the mm, and go when it next switches to another user mm.
 * shootdown/hazard: the borrow holds nothing, so the last mmput's mmdrop
 * frees them at once - after making this CPU let go (active_mm = init_mm).
 */
struct exiter {
    struct mm *mm;
    phys_addr_t page;
    _Atomic bool torn_down;     /* the page was freed while the PML4 was live */
};

static void exiter_fn(void *arg)
{
    struct exiter *e = arg;
    struct task *me = current_task();
    struct mm *mm = me->mm;
    lazy_mm_exit_mm(me);        /* the last user: teardown */
    bool ok = atomic_load(&pa_to_page(e->page)->refcount) == 0;
    if (lazy_mm_mode == LAZY_MM_REFCOUNT)
        ok = ok && me->active_mm == mm && atomic_load(&mm->mm_count) >= 1 && list_empty(&mm->vmas);
    else
        ok = ok && me->active_mm == &init_mm;   /* mm is freed: compare only */
    atomic_store(&e->torn_down, ok);
}

static void adopter_fn(void *arg)
{
    unuse_mm(arg);
}

static void test_exit_lazy_reference(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, ADDR, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, ADDR, true, false, true), 0);
    struct exiter e = { .mm = mm };
    ASSERT_TRUE(t, paging_lookup(mm->pml4, ADDR, &e.page, NULL, NULL));

    struct task *th = kthread_create(exiter_fn, &e, "mm-exiter");
    ASSERT_TRUE(t, th != NULL);
    th->mm = th->active_mm = mm;        /* owns the creation's users reference */
    kthread_bind(th, 1);
    kthread_start(th);
    kthread_join(th);
    EXPECT_TRUE(t, atomic_load(&e.torn_down));
    /* CPU 1 may still run on the PML4 lazily (its idle task borrowed it). */
    EXPECT_LE(t, mm_live_count(), mms + 1);

    /* A user mm on CPU 1 ends the borrow: the old mm is freed. */
    struct mm *other = mm_create();
    ASSERT_TRUE(t, other != NULL);
    struct task *th2 = kthread_create(adopter_fn, other, "mm-adopter");
    ASSERT_TRUE(t, th2 != NULL);
    th2->mm = th2->active_mm = other;
    kthread_bind(th2, 1);
    kthread_start(th2);
    kthread_join(th2);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static const struct ktest_case mm_smp_cases[] = {
    KTEST_CASE(test_remote_flush),
    KTEST_CASE(test_flush_counts_cpumask),
    KTEST_CASE(test_concurrent_fork_cow),
    KTEST_CASE(test_exit_lazy_reference),
    {0},
};
KTEST_SUITE(mm_smp, mm_smp_cases);
