/*
 * tests/test_page_alloc.c - the buddy allocator: splitting, coalescing,
 * alignment, exhaustion, the frames it must never hand out, and the checks
 * that catch bad frees.
 *
 * The tests compare the free-block counts per order before and after: a
 * block handed out and given back must leave every count exactly as it was,
 * which is only true if splitting and coalescing are exact inverses.  Each
 * count is taken after giving the per-CPU frame caches back to the free
 * lists (tests/test_frame_cache.c tests the caches themselves), so it sees
 * every free frame where the buddy allocator keeps it.
 */
#include "ktest_suite.h"
#include <kernel/bootinfo.h>
#include <kernel/page_alloc.h>
#include <kernel/kmalloc.h>
#include <lib/string.h>
#include <kernel/sections.h>
#include <kernel/smp.h>
#include <kernel/percpu.h>

struct counts {
    size_t blocks[PAGE_ORDER_MAX + 1];
    size_t frames;
};

static void snapshot(struct counts *c)
{
    frame_cache_drain_all();
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++)
        c->blocks[o] = page_free_blocks(o);
    c->frames = page_free_frames();
}

static void expect_same_counts(struct ktest *t, const struct counts *a, const struct counts *b)
{
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++)
        if (a->blocks[o] != b->blocks[o])
            ktest_fail_at(t, __FILE__, __LINE__, "order %u: %zu free blocks before, %zu after",
                          o, a->blocks[o], b->blocks[o]);
    EXPECT_EQ(t, a->frames, b->frames);
}

/* Allocating order o takes the smallest free block of order k >= o and
 * leaves one new free block at each order o..k-1. */
static void test_split(struct ktest *t)
{
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++) {
        struct counts before, after;
        snapshot(&before);
        unsigned k = o;
        while (k <= PAGE_ORDER_MAX && !before.blocks[k])
            k++;
        ASSERT_LE(t, k, (unsigned)PAGE_ORDER_MAX);
        phys_addr_t pa = page_alloc(o);
        ASSERT_NE(t, pa, 0u);
        snapshot(&after);
        EXPECT_EQ(t, after.frames, before.frames - (1ul << o));
        for (unsigned j = 0; j <= PAGE_ORDER_MAX; j++) {
            size_t want = before.blocks[j];
            if (j == k)
                want--;
            else if (j >= o && j < k)
                want++;
            if (after.blocks[j] != want)
                ktest_fail_at(t, __FILE__, __LINE__, "alloc order %u from order %u: order %u has %zu blocks, expected %zu",
                              o, k, j, after.blocks[j], want);
        }
        page_free(pa, o);
        snapshot(&after);
        expect_same_counts(t, &before, &after);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Many single frames (forcing splits of big blocks), freed in a random
 * order: every count must come back, so every split was undone. */
static void test_coalesce_random_order(struct ktest *t)
{
    enum { N = 2048 };
    phys_addr_t *pas = kmalloc(N * sizeof(*pas));
    ASSERT_TRUE(t, pas != NULL);
    struct counts before, after;
    snapshot(&before);
    for (unsigned i = 0; i < N; i++) {
        pas[i] = page_alloc(0);
        ASSERT_NE(t, pas[i], 0u);
    }
    EXPECT_EQ(t, page_free_frames(), before.frames - N);
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = (unsigned)(rng() % (i + 1));
        phys_addr_t tmp = pas[i];
        pas[i] = pas[j];
        pas[j] = tmp;
    }
    for (unsigned i = 0; i < N; i++)
        page_free(pas[i], 0);
    snapshot(&after);
    expect_same_counts(t, &before, &after);
    kfree(pas);
}

/* Blocks are aligned to their size, never overlap, and are usable. */
static void test_alignment_and_distinct(struct ktest *t)
{
    enum { PER_ORDER = 16, ORDERS = 6 };
    phys_addr_t pas[ORDERS][PER_ORDER];
    for (unsigned o = 0; o < ORDERS; o++)
        for (unsigned i = 0; i < PER_ORDER; i++) {
            pas[o][i] = page_alloc(o);
            ASSERT_NE(t, pas[o][i], 0u);
            EXPECT_EQ(t, pas[o][i] & ((PAGE_SIZE << o) - 1), 0u);
            EXPECT_GE(t, pas[o][i], 1ul << 20);
            /* Tag the first and last word of the block. */
            uint64_t *p = phys_to_virt(pas[o][i]);
            p[0] = pas[o][i];
            p[(PAGE_SIZE << o) / 8 - 1] = ~pas[o][i];
        }
    for (unsigned o = 0; o < ORDERS; o++)
        for (unsigned i = 0; i < PER_ORDER; i++) {
            uint64_t *p = phys_to_virt(pas[o][i]);
            EXPECT_EQ(t, p[0], pas[o][i]);
            EXPECT_EQ(t, p[(PAGE_SIZE << o) / 8 - 1], ~pas[o][i]);
            for (unsigned o2 = 0; o2 < ORDERS; o2++)
                for (unsigned i2 = 0; i2 < PER_ORDER; i2++) {
                    if (o2 == o && i2 == i)
                        continue;
                    phys_addr_t a = pas[o][i], b = pas[o2][i2];
                    if (a < b + (PAGE_SIZE << o2) && b < a + (PAGE_SIZE << o))
                        ktest_fail_at(t, __FILE__, __LINE__, "blocks %#lx (order %u) and %#lx (order %u) overlap",
                                      a, o, b, o2);
                }
        }
    for (unsigned o = 0; o < ORDERS; o++)
        for (unsigned i = 0; i < PER_ORDER; i++)
            page_free(pas[o][i], o);
}

static void test_zeroed(struct ktest *t)
{
    phys_addr_t pa = page_alloc(2);
    ASSERT_NE(t, pa, 0u);
    memset(phys_to_virt(pa), 0xa5, 4 * PAGE_SIZE);
    page_free(pa, 2);
    /* Likely the same block again; either way it must read as zeroes. */
    pa = page_alloc_zeroed(2);
    ASSERT_NE(t, pa, 0u);
    const uint64_t *p = phys_to_virt(pa);
    size_t nonzero = 0;
    for (size_t i = 0; i < 4 * PAGE_SIZE / 8; i++)
        nonzero += p[i] != 0;
    EXPECT_EQ(t, nonzero, 0u);
    page_free(pa, 2);
}

/*
 * Take every free block (largest orders first, so no block is split: the
 * number of allocations equals the number of free blocks), check that the
 * allocator then refuses, give everything back.  The blocks are recorded in
 * a table from kmalloc, not in the blocks themselves, so free memory stays
 * untouched.  Nothing else in the kernel allocates pages while a test runs.
 */
/* Runs on another CPU (a cross-CPU call, interrupts off): fill that CPU's
 * frame cache with frames freed there. */
struct fill {
    unsigned cpu, cached;
};

static void fill_cache_here(void *arg)
{
    struct fill *f = arg;
    enum { N = 2 * FRAME_CACHE_BATCH };
    phys_addr_t pas[N];
    unsigned got = 0;
    while (got < N && (pas[got] = page_alloc(0)))
        got++;
    while (got)
        page_free(pas[--got], 0);
    f->cached = frame_cache_count(f->cpu);
}

/*
 * ...and when another CPU's frame cache holds free frames, they are taken
 * too: an allocation that finds the free lists empty takes the caches back
 * before it fails.
 */
static void test_exhaustion(struct ktest *t)
{
    frame_cache_drain_all();
    size_t nblocks = 0;
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++)
        nblocks += page_free_blocks(o);
    /* Room for the blocks the table's own allocation may split off, and for
     * the cached frames below (taken back one block each at worst). */
    size_t cap = nblocks + 2 * (PAGE_ORDER_MAX + 1) + 2 * FRAME_CACHE_BATCH;
    struct { phys_addr_t pa; unsigned order; } *blocks = kmalloc(cap * sizeof(*blocks));
    ASSERT_TRUE(t, blocks != NULL);

    struct counts before, after;
    snapshot(&before);
    struct fill fill = { .cpu = (this_cpu_id() + 1) % nr_cpus_online };
    bool remote = nr_cpus_online > 1 && frame_cache_enabled();
    if (remote) {
        smp_call_cpu(fill.cpu, fill_cache_here, &fill, true);
        EXPECT_EQ(t, fill.cached, 2u * FRAME_CACHE_BATCH);
    }
    size_t n = 0, frames = 0;
    for (int o = PAGE_ORDER_MAX; o >= 0; o--) {
        phys_addr_t pa;
        while (n < cap && (pa = page_alloc((unsigned)o))) {
            blocks[n].pa = pa;
            blocks[n].order = (unsigned)o;
            frames += 1ul << o;
            n++;
        }
    }
    EXPECT_EQ(t, frames, before.frames);
    EXPECT_EQ(t, page_free_frames(), 0u);
    EXPECT_EQ(t, page_alloc(0), 0u);
    EXPECT_EQ(t, page_alloc(PAGE_ORDER_MAX), 0u);
    EXPECT_EQ(t, page_alloc(PAGE_ORDER_MAX + 1), 0u);
    if (remote)
        EXPECT_EQ(t, frame_cache_count(fill.cpu), 0u);
    ktest_log("took %zu blocks, %zu MiB%s", n, frames >> 8,
              remote ? ", with another CPU's cached frames" : "");
    for (size_t i = 0; i < n; i++)
        page_free(blocks[i].pa, blocks[i].order);
    snapshot(&after);
    expect_same_counts(t, &before, &after);
    kfree(blocks);
}

static bool frame_reserved(phys_addr_t pa)
{
    struct page *pg = pa_to_page(pa);
    return !pg || (pg->flags & PG_RESERVED);
}

/* What must never be handed out is marked reserved in the frame table. */
static void test_reserved_frames(struct ktest *t)
{
    for (phys_addr_t pa = 0; pa < (1ul << 20); pa += PAGE_SIZE)
        if (!frame_reserved(pa))
            ktest_fail_at(t, __FILE__, __LINE__, "low frame %#lx is managed", pa);
    for (phys_addr_t pa = (uintptr_t)__kernel_phys_start; pa < (uintptr_t)__kernel_phys_end; pa += PAGE_SIZE)
        if (!frame_reserved(pa))
            ktest_fail_at(t, __FILE__, __LINE__, "kernel image frame %#lx is managed", pa);
    for (phys_addr_t pa = ALIGN_DOWN(boot_info.info_start, PAGE_SIZE); pa < boot_info.info_end; pa += PAGE_SIZE)
        EXPECT_TRUE(t, frame_reserved(pa));
    for (unsigned m = 0; m < boot_info.module_count; m++)
        for (phys_addr_t pa = ALIGN_DOWN(boot_info.modules[m].start, PAGE_SIZE); pa < boot_info.modules[m].end;
             pa += PAGE_SIZE)
            EXPECT_TRUE(t, frame_reserved(pa));
    /* The frame table itself. */
    EXPECT_TRUE(t, frame_reserved(virt_to_phys(frame_table)));
    /* Non-available memory-map entries. */
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct boot_mmap_entry *e = &boot_info.mmap[i];
        if (e->type == MMAP_AVAILABLE)
            continue;
        for (phys_addr_t pa = ALIGN_DOWN(e->base, PAGE_SIZE); pa < e->base + e->length && pa < page_ram_end();
             pa += PAGE_SIZE)
            if (!frame_reserved(pa))
                ktest_fail_at(t, __FILE__, __LINE__, "frame %#lx of a type-%u range is managed", pa, e->type);
    }
    /* And the counts add up. */
    size_t managed = 0;
    for (size_t pfn = 0; pfn < frame_table_len; pfn++)
        managed += !(frame_table[pfn].flags & PG_RESERVED);
    EXPECT_EQ(t, managed, page_managed_frames());
}

/* The checks behind page_free()'s panics, called directly. */
static void test_bad_frees_detected(struct ktest *t)
{
    phys_addr_t pa = page_alloc(1);
    ASSERT_NE(t, pa, 0u);
    EXPECT_TRUE(t, page_free_check(pa, 1) == NULL);
    EXPECT_TRUE(t, page_free_check(pa, 0) != NULL);             /* wrong order */
    EXPECT_TRUE(t, page_free_check(pa + PAGE_SIZE, 0) != NULL); /* inside the block */
    EXPECT_TRUE(t, page_free_check(pa + 8, 1) != NULL);         /* unaligned */
    page_free(pa, 1);
    const char *err = page_free_check(pa, 1);                   /* double free */
    EXPECT_TRUE(t, err != NULL);
    if (err)
        ktest_log("double free reported as: %s", err);
    EXPECT_TRUE(t, page_free_check((uintptr_t)__kernel_phys_start, 0) != NULL);
    EXPECT_TRUE(t, page_free_check(0, 0) != NULL);
    EXPECT_TRUE(t, page_free_check(page_ram_end() + (1ul << 30), 0) != NULL);
}

static void test_refcount_set(struct ktest *t)
{
    phys_addr_t pa = page_alloc(0);
    ASSERT_NE(t, pa, 0u);
    struct page *pg = pa_to_page(pa);
    EXPECT_EQ(t, atomic_load(&pg->refcount), 1u);
    EXPECT_EQ(t, pg->flags & PG_ALLOCATED, PG_ALLOCATED);
    EXPECT_EQ(t, page_to_pa(pg), pa);
    page_free(pa, 0);
    EXPECT_EQ(t, atomic_load(&pg->refcount), 0u);
}

static const struct ktest_case page_alloc_cases[] = {
    KTEST_CASE(test_split),
    KTEST_CASE(test_coalesce_random_order),
    KTEST_CASE(test_alignment_and_distinct),
    KTEST_CASE(test_zeroed),
    KTEST_CASE(test_exhaustion),
    KTEST_CASE(test_reserved_frames),
    KTEST_CASE(test_bad_frees_detected),
    KTEST_CASE(test_refcount_set),
    {0},
};
KTEST_SUITE(page_alloc, page_alloc_cases);
