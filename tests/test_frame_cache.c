/*
 * tests/test_frame_cache.c - the per-CPU caches of free frames
 * (kernel/mm/frame_cache.c): refilled a batch at a time, reused last in
 * first out, a full cache gives its oldest batch back, cached frames are
 * free (counted, and a second free of one is caught), and frame_cache=off
 * sends every allocation to the free lists.
 *
 * Each test runs with interrupts off, so it stays on one CPU and nothing
 * else uses that CPU's cache meanwhile: the counts are exact.  Taking every
 * frame back from the other CPUs' caches when memory runs out is tested in
 * test_page_alloc.c (test_exhaustion).
 */
#include "ktest_suite.h"
#include <kernel/page_alloc.h>
#include <kernel/percpu.h>
#include <kernel/cpumask.h>
#include <arch/cpu.h>

static void free_lists(size_t blocks[PAGE_ORDER_MAX + 1])
{
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++)
        blocks[o] = page_free_blocks(o);
}

/* The first single frame refills an empty cache with a batch; a freed frame
 * goes back to the cache (still counted free, PG_CACHED, refcount 0) and is
 * the next one handed out. */
static void test_refill_and_reuse(struct ktest *t)
{
    uint64_t irq = arch_irq_save();
    unsigned me = this_cpu_id();
    frame_cache_drain_all();
    size_t frames = page_free_frames();
    phys_addr_t pa = page_alloc(0);
    if (!pa) {
        arch_irq_restore(irq);
        ASSERT_NE(t, pa, 0u);
    }
    struct page *pg = pa_to_page(pa);
    unsigned after_alloc = frame_cache_count(me);
    size_t frames_alloc = page_free_frames();
    uint8_t flags_alloc = pg->flags;
    page_free(pa, 0);
    unsigned after_free = frame_cache_count(me);
    size_t frames_free = page_free_frames();
    uint8_t flags_free = pg->flags;
    uint32_t ref_free = atomic_load(&pg->refcount);
    const char *again = page_free_check(pa, 0);
    phys_addr_t pb = page_alloc(0);
    if (pb)
        page_free(pb, 0);
    arch_irq_restore(irq);

    EXPECT_EQ(t, frames_alloc, frames - 1);
    EXPECT_EQ(t, frames_free, frames);
    EXPECT_EQ(t, flags_alloc & PG_ALLOCATED, PG_ALLOCATED);
    if (!frame_cache_enabled()) {
        ktest_log("frame caches are off: single frames come from the free lists");
        EXPECT_EQ(t, after_alloc, 0u);
        EXPECT_EQ(t, after_free, 0u);
        EXPECT_EQ(t, flags_free, PG_FREE);
        return;
    }
    EXPECT_EQ(t, after_alloc, FRAME_CACHE_BATCH - 1u);
    EXPECT_EQ(t, after_free, (unsigned)FRAME_CACHE_BATCH);
    EXPECT_EQ(t, flags_free, PG_CACHED);
    EXPECT_EQ(t, ref_free, 0u);
    EXPECT_TRUE(t, again != NULL);      /* freeing a cached frame again is a double free */
    EXPECT_EQ(t, pb, pa);               /* last in, first out */
}

/* Frees fill the cache without touching the free lists; the free that finds
 * it full gives the oldest batch back first. */
static void test_full_cache_gives_back_a_batch(struct ktest *t)
{
    if (!frame_cache_enabled())
        KTEST_SKIP(t, "frame_cache=off (the test above checks that mode)");
    enum { N = FRAME_CACHE_SIZE + 1 };
    phys_addr_t pas[N];
    size_t lists_before[PAGE_ORDER_MAX + 1], lists_full[PAGE_ORDER_MAX + 1];
    uint64_t irq = arch_irq_save();
    unsigned me = this_cpu_id();
    unsigned got = 0;
    while (got < N && (pas[got] = page_alloc(0)))
        got++;
    frame_cache_drain_all();
    size_t frames = page_free_frames();
    free_lists(lists_before);
    for (unsigned i = 0; i < got && i < FRAME_CACHE_SIZE; i++)
        page_free(pas[i], 0);
    unsigned full = frame_cache_count(me);
    size_t frames_full = page_free_frames();
    free_lists(lists_full);
    if (got == N)
        page_free(pas[N - 1], 0);
    unsigned after_overflow = frame_cache_count(me);
    size_t frames_end = page_free_frames();
    /* The oldest batch went back: the first frames freed are no longer cached. */
    bool oldest_back = pa_to_page(pas[0])->flags != PG_CACHED;
    bool newest_cached = pa_to_page(pas[FRAME_CACHE_SIZE - 1])->flags == PG_CACHED;
    arch_irq_restore(irq);

    ASSERT_EQ(t, got, (unsigned)N);
    EXPECT_EQ(t, full, (unsigned)FRAME_CACHE_SIZE);
    EXPECT_EQ(t, frames_full, frames + FRAME_CACHE_SIZE);
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++)
        if (lists_full[o] != lists_before[o])
            ktest_fail_at(t, __FILE__, __LINE__, "order %u: %zu free blocks before the frees, %zu after "
                          "(a free into a cache with room touched the free lists)",
                          o, lists_before[o], lists_full[o]);
    EXPECT_EQ(t, after_overflow, FRAME_CACHE_SIZE - FRAME_CACHE_BATCH + 1u);
    EXPECT_EQ(t, frames_end, frames + N);
    EXPECT_TRUE(t, oldest_back);
    EXPECT_TRUE(t, newest_cached);
}

/* Draining gives every cached frame back: the caches are empty and the
 * free frames are all on the lists, nothing lost or counted twice. */
static void test_drain_all(struct ktest *t)
{
    uint64_t irq = arch_irq_save();
    unsigned me = this_cpu_id();
    phys_addr_t pa = page_alloc(0);
    if (pa)
        page_free(pa, 0);
    size_t frames = page_free_frames();
    unsigned cached = frame_cache_count(me);
    frame_cache_drain_all();
    unsigned left = 0;
    for (unsigned cpu = 0; cpu < nr_cpus_online; cpu++)
        left += frame_cache_count(cpu);
    size_t frames_after = page_free_frames();
    arch_irq_restore(irq);

    ASSERT_NE(t, pa, 0u);
    if (frame_cache_enabled())
        EXPECT_GE(t, cached, 1u);
    EXPECT_EQ(t, left, 0u);
    EXPECT_EQ(t, frames_after, frames);
}

static const struct ktest_case frame_cache_cases[] = {
    KTEST_CASE(test_refill_and_reuse),
    KTEST_CASE(test_full_cache_gives_back_a_batch),
    KTEST_CASE(test_drain_all),
    {0},
};
KTEST_SUITE(frame_cache, frame_cache_cases);
