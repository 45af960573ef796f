/*
 * tests/test_mmu_gather.c - a frame's reference outlives every translation
 * of it: unmapping keeps the reference the mapping held until the flush that
 * removes the translation has returned (kernel/mm/mmu_gather.h).
 *
 * The scenario of the bug this guards against: a parent P and its fork C
 * share a frame F (refcount 2).  A thread of P on CPU 1 has F's translation
 * in its TLB.  P unmaps the page on CPU 0.  If P's reference went before its
 * flush reached CPU 1, C (on CPU 2) would find refcount 1 on a write fault,
 * take F over in place and write its private data into it - which CPU 1,
 * not yet flushed, still reads through P's address.
 *
 * To look inside that window without relying on timing, CPU 1 is kept from
 * acknowledging the flush: before P unmaps, CPU 0 queues a cross-CPU call
 * to CPU 1 (the "stall") that runs with interrupts off and returns only
 * when the test is done looking.  P's flush IPI queues behind it, so CPU 1
 * cannot have flushed while the stall runs.  The stall waits until P's
 * flush has begun (P's tlb_gen moved: flush_tlb_mm_range's F1 comes after
 * every entry was cleared), then:
 *   - records F's refcount: it must still be 2 (P's pending, and C's);
 *   - with a third CPU, lets C's thread there take its write fault on the
 *     page and write PRIVATE, then reads F through the direct map (what
 *     CPU 1's stale translation reads): it must still be ORIG - C copied.
 * Broken on purpose (mm_unmap dropping each reference before the flush, as
 * kernel/mm/vma.c did before struct mmu_gather), the refcount check fails
 * on 2 CPUs and both fail on 3 or more ("refcount 1", "read PRIVATE").
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/kmalloc.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/smp.h>
#include <arch/paging.h>
#include <uapi/shootdown.h>

#define ADDR    0x400000ul
#define RW      (SD_PROT_READ | SD_PROT_WRITE)
#define ORIG    0x0123456789abcdefull
#define PRIVATE 0xc0ffee00c0ffee00ull

#define STALLED_CPU 1
#define SIBLING_CPU 2

struct window {
    struct mm *parent, *child;
    phys_addr_t frame;
    uint64_t gen_before;        /* parent's tlb_gen before the unmap */
    bool sibling;               /* a third CPU runs the child's thread */
    _Atomic bool stalled, flush_seen, go_sibling, sibling_done, sibling_ok;
    _Atomic bool reader_loaded, reader_leave;
    _Atomic uint64_t reader_saw;
    /* What the stalled CPU saw inside the window. */
    _Atomic bool pte_gone;
    _Atomic uint32_t refcount;
    _Atomic uint64_t word;
};

/* A thread of the parent on STALLED_CPU: caches the translation, then
 * keeps the parent loaded (not lazy) until told to leave. */
static void reader_fn(void *arg)
{
    struct window *w = arg;
    atomic_store(&w->reader_saw, read_user_u64(ADDR));
    atomic_store(&w->reader_loaded, true);
    SPIN_UNTIL(atomic_load(&w->reader_leave));
    unuse_mm(w->parent);
}

/* A thread of the child on SIBLING_CPU: a write fault on the shared page,
 * then a write of its private data, as a forked process would. */
static void sibling_fn(void *arg)
{
    struct window *w = arg;
    SPIN_UNTIL(atomic_load(&w->go_sibling));
    uint64_t v = PRIVATE;
    bool ok = atomic_load(&w->go_sibling) &&
              mm_handle_fault(w->child, ADDR, true, false, true) == 0 &&
              mm_write(w->child, ADDR, &v, sizeof(v)) == 0;
    atomic_store(&w->sibling_ok, ok);
    atomic_store(&w->sibling_done, true);
}

/* The cross-CPU call on STALLED_CPU: interrupts off, so the parent's flush
 * IPI waits behind it. */
static void stall_fn(void *arg)
{
    struct window *w = arg;
    atomic_store(&w->stalled, true);
    if (!SPIN_UNTIL(atomic_load(&w->parent->tlb_gen) > w->gen_before))
        return;
    atomic_store(&w->flush_seen, true);
    /* The tables cannot be freed before we acknowledge: a lock-free walk
     * is safe here. */
    atomic_store(&w->pte_gone, !paging_lookup(w->parent->pml4, ADDR, NULL, NULL, NULL));
    atomic_store(&w->refcount, atomic_load(&pa_to_page(w->frame)->refcount));
    if (w->sibling) {
        atomic_store(&w->go_sibling, true);
        SPIN_UNTIL(atomic_load(&w->sibling_done));
    }
    atomic_store(&w->word, *(volatile uint64_t *)phys_to_virt(w->frame));
}

static void window_body(void *arg)
{
    struct ktest *t = arg;
    struct window w = { .sibling = nr_cpus_online > SIBLING_CPU };
    w.parent = mm_create();
    ASSERT_TRUE(t, w.parent != NULL);
    ASSERT_EQ(t, mm_map_anon(w.parent, ADDR, PAGE_SIZE, RW), 0);
    uint64_t v = ORIG;
    ASSERT_EQ(t, mm_write(w.parent, ADDR, &v, sizeof(v)), 0);
    ASSERT_TRUE(t, paging_lookup(w.parent->pml4, ADDR, &w.frame, NULL, NULL));
    w.child = mm_fork(w.parent);
    ASSERT_TRUE(t, w.child != NULL);
    EXPECT_EQ(t, atomic_load(&pa_to_page(w.frame)->refcount), 2u);

    struct task *reader = kthread_create(reader_fn, &w, "gather-reader");
    ASSERT_TRUE(t, reader != NULL);
    mmget(w.parent);            /* the reference a user thread owns */
    reader->mm = reader->active_mm = w.parent;
    kthread_bind(reader, STALLED_CPU);
    kthread_start(reader);
    ASSERT_TRUE(t, SPIN_UNTIL(atomic_load(&w.reader_loaded)));
    EXPECT_EQ(t, atomic_load(&w.reader_saw), ORIG);
    EXPECT_TRUE(t, cpumask_test_cpu(&w.parent->cpumask, STALLED_CPU));

    struct task *sibling = NULL;
    if (w.sibling) {
        sibling = kthread_create(sibling_fn, &w, "gather-sibling");
        ASSERT_TRUE(t, sibling != NULL);
        kthread_bind(sibling, SIBLING_CPU);
        kthread_start(sibling);
    }

    w.gen_before = atomic_load(&w.parent->tlb_gen);
    ASSERT_EQ(t, smp_call_cpu(STALLED_CPU, stall_fn, &w, false), 0);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&w.stalled)));
    EXPECT_EQ(t, mm_unmap(w.parent, ADDR, PAGE_SIZE), 0);

    bool flush_seen = atomic_load(&w.flush_seen), pte_gone = atomic_load(&w.pte_gone);
    uint32_t refcount_in_window = atomic_load(&w.refcount);
    uint64_t stale_read = atomic_load(&w.word);
    EXPECT_TRUE(t, flush_seen);
    EXPECT_TRUE(t, pte_gone);
    /* The parent's reference stayed until its flush returned. */
    EXPECT_EQ(t, refcount_in_window, 2u);
    /* The frame the stalled CPU could still read through its stale
     * translation kept the parent's data (with a sibling: the child
     * copied instead of taking it over). */
    EXPECT_EQ(t, stale_read, ORIG);
    if (w.sibling) {
        EXPECT_TRUE(t, atomic_load(&w.sibling_ok));
        phys_addr_t copy;
        EXPECT_TRUE(t, paging_lookup(w.child->pml4, ADDR, &copy, NULL, NULL));
        EXPECT_NE(t, copy, w.frame);
        EXPECT_EQ(t, *(uint64_t *)phys_to_virt(copy), PRIVATE);
        kthread_join(sibling);
    } else {
        uint32_t refs = atomic_load(&pa_to_page(w.frame)->refcount);
        EXPECT_EQ(t, refs, 1u);         /* the child's */
    }

    atomic_store(&w.reader_leave, true);
    kthread_join(reader);
    mmput(w.child);
    mmput(w.parent);
}

static void test_unmap_keeps_reference_until_flushed(struct ktest *t)
{
    if (nr_cpus_online <= STALLED_CPU)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    size_t heap = kmalloc_bytes_in_use();
    struct task *body = mm_thread_start(window_body, t, "gather-body", NULL, 0);
    ASSERT_TRUE(t, body != NULL);
    kthread_join(body);
    EXPECT_EQ(t, mm_live_count(), mms);
    EXPECT_EQ(t, kmalloc_bytes_in_use(), heap);
}

static const struct ktest_case mmu_gather_cases[] = {
    KTEST_CASE(test_unmap_keeps_reference_until_flushed),
    {0},
};
KTEST_SUITE(mmu_gather, mmu_gather_cases);
