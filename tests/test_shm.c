/*
 * tests/test_shm.c - shared memory objects (kernel/shm.h) through the mm
 * API, without ring 3: fork shares a shared VMA's pages instead of
 * copying them, both mms write the same frame, frame references count the
 * object and each mapping, a frame outlives the unmap of one mm while
 * another still maps it and goes with the last, munmap splits keep each
 * part on its own pages of the object, and the futex key of a word is the
 * same in every mm that maps it.  With tlbcheck=on (every runner row) the
 * checker also verifies each free against the flushes of every mm that
 * mapped the frame.  Every case returns frames, heap, mms and objects to
 * where they were.
 */
#include "ktest_suite.h"
#include <kernel/kmalloc.h>
#include <kernel/mm.h>
#include <kernel/shm.h>
#include <kernel/page_alloc.h>
#include <arch/paging.h>
#include <arch/pte.h>
#include <uapi/shootdown.h>

#define BASE    0x400000ul
#define OTHER   0x10000000ul        /* another address for the same object */
#define RW      (SD_PROT_READ | SD_PROT_WRITE)

struct baseline {
    size_t heap;
    unsigned mms, objects;
};

static struct baseline baseline_now(void)
{
    return (struct baseline){ kmalloc_bytes_in_use(), mm_live_count(), shm_live_count() };
}

#define EXPECT_BASELINE(t, b)                                                  \
    do {                                                                       \
        EXPECT_EQ(t, kmalloc_bytes_in_use(), (b).heap);                        \
        EXPECT_EQ(t, mm_live_count(), (b).mms);                                \
        EXPECT_EQ(t, shm_live_count(), (b).objects);                           \
    } while (0)

static bool mapped(struct mm *mm, uintptr_t va, phys_addr_t *pa, uint64_t *flags)
{
    return paging_lookup(mm->pml4, va, pa, flags, NULL);
}

static phys_addr_t frame_at(struct mm *mm, uintptr_t va)
{
    phys_addr_t pa;
    return mapped(mm, va, &pa, NULL) ? (pa & PTE_ADDR) : 0;
}

static uint32_t refcount_of(phys_addr_t pa)
{
    return atomic_load(&pa_to_page(pa)->refcount);
}

static uint64_t read_u64(struct mm *mm, uintptr_t va)
{
    phys_addr_t pa = frame_at(mm, va);
    return pa ? *(uint64_t *)phys_to_virt(pa) : ~0ull;
}

/* Fork shares a shared VMA: no copy, writable on both sides, one frame. */
static void test_fork_shares(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *a = mm_create();
    ASSERT_TRUE(t, a != NULL);
    struct shm *s = shm_create(2);
    ASSERT_TRUE(t, s != NULL);
    ASSERT_EQ(t, mm_map_shm(a, BASE, 2 * PAGE_SIZE, RW, s, 0), 0);
    shm_put(s);                 /* the VMA's reference keeps it */
    uint64_t v = 11;
    ASSERT_EQ(t, mm_write(a, BASE, &v, sizeof(v)), 0);
    phys_addr_t pa = frame_at(a, BASE);
    ASSERT_NE(t, pa, 0u);
    EXPECT_EQ(t, refcount_of(pa), 2u);      /* the object's and a's entry */

    uint64_t copies = atomic_load(&mm_stats.cow_copies);
    uint64_t shared_faults = atomic_load(&mm_stats.shared_faults);
    struct mm *c = mm_fork(a);
    ASSERT_TRUE(t, c != NULL);
    /* Not copied into the child's tables: its first touch brings it. */
    EXPECT_FALSE(t, mapped(c, BASE, NULL, NULL));
    uint64_t flags;
    ASSERT_TRUE(t, mapped(a, BASE, NULL, &flags));
    EXPECT_EQ(t, flags & PTE_W, PTE_W);     /* the parent was not write-protected */
    EXPECT_EQ(t, mm_handle_fault(c, BASE, true, false, true), 0);
    EXPECT_EQ(t, frame_at(c, BASE), pa);
    ASSERT_TRUE(t, mapped(c, BASE, NULL, &flags));
    EXPECT_EQ(t, flags & PTE_W, PTE_W);
    EXPECT_EQ(t, refcount_of(pa), 3u);
    EXPECT_EQ(t, atomic_load(&mm_stats.shared_faults), shared_faults + 1);

    /* Writes go both ways, never copied. */
    v = 22;
    ASSERT_EQ(t, mm_write(c, BASE, &v, sizeof(v)), 0);
    EXPECT_EQ(t, read_u64(a, BASE), 22u);
    /* Page 1, first touched by the child after the fork: the parent finds it. */
    v = 33;
    ASSERT_EQ(t, mm_write(c, BASE + PAGE_SIZE, &v, sizeof(v)), 0);
    EXPECT_EQ(t, mm_handle_fault(a, BASE + PAGE_SIZE, false, false, true), 0);
    EXPECT_EQ(t, frame_at(a, BASE + PAGE_SIZE), frame_at(c, BASE + PAGE_SIZE));
    EXPECT_EQ(t, read_u64(a, BASE + PAGE_SIZE), 33u);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies);

    /* mprotect read-only and back: still the same frame, writable, no copy. */
    EXPECT_EQ(t, mm_protect(a, BASE, PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_EQ(t, mm_handle_fault(a, BASE, true, false, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_protect(a, BASE, PAGE_SIZE, RW), 0);
    ASSERT_TRUE(t, mapped(a, BASE, NULL, &flags));
    EXPECT_EQ(t, flags & PTE_W, PTE_W);
    EXPECT_EQ(t, frame_at(a, BASE), pa);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies);

    mmput(c);
    mmput(a);
    EXPECT_EQ(t, refcount_of(pa), 0u);      /* the last mapping and the object went */
    EXPECT_BASELINE(t, b);
}

/* One mm's unmap leaves the frame to the other; the last one frees it. */
static void test_frame_outlives_one_unmap(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *a = mm_create(), *c = mm_create();
    ASSERT_TRUE(t, a && c);
    struct shm *s = shm_create(1);
    ASSERT_TRUE(t, s != NULL);
    /* The same object at two addresses, as shm_map by name would. */
    ASSERT_EQ(t, mm_map_shm(a, BASE, PAGE_SIZE, RW, s, 0), 0);
    ASSERT_EQ(t, mm_map_shm(c, OTHER, PAGE_SIZE, SD_PROT_READ, s, 0), 0);
    shm_put(s);
    EXPECT_EQ(t, shm_live_count(), b.objects + 1);
    uint64_t v = 44;
    ASSERT_EQ(t, mm_write(a, BASE, &v, sizeof(v)), 0);
    EXPECT_EQ(t, mm_handle_fault(c, OTHER, false, false, true), 0);
    phys_addr_t pa = frame_at(a, BASE);
    EXPECT_EQ(t, frame_at(c, OTHER), pa);
    EXPECT_EQ(t, refcount_of(pa), 3u);

    /* The futex key: the same object and offset through either mapping. */
    uint64_t off_a = 1, off_c = 2;
    struct shm *ka = mm_shm_at(a, BASE + 8, &off_a);
    struct shm *kc = mm_shm_at(c, OTHER + 8, &off_c);
    EXPECT_TRUE(t, ka != NULL && ka == kc);
    EXPECT_EQ(t, off_a, 8u);
    EXPECT_EQ(t, off_c, 8u);
    if (ka)
        shm_put(ka);
    if (kc)
        shm_put(kc);
    /* A private word has no shared key. */
    uint64_t off = 0;
    EXPECT_TRUE(t, mm_shm_at(a, BASE + PAGE_SIZE, &off) == NULL);

    EXPECT_EQ(t, mm_unmap(a, BASE, PAGE_SIZE), 0);
    EXPECT_EQ(t, refcount_of(pa), 2u);      /* the object's and c's */
    EXPECT_EQ(t, read_u64(c, OTHER), 44u);
    EXPECT_EQ(t, shm_live_count(), b.objects + 1);
    EXPECT_EQ(t, mm_unmap(c, OTHER, PAGE_SIZE), 0);
    EXPECT_EQ(t, refcount_of(pa), 0u);      /* freed after c's flush */
    EXPECT_EQ(t, shm_live_count(), b.objects);
    mmput(a);
    mmput(c);
    EXPECT_BASELINE(t, b);
}

/* munmap of the middle splits a shared VMA: each part keeps its pages. */
static void test_split_keeps_offsets(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *a = mm_create();
    ASSERT_TRUE(t, a != NULL);
    struct shm *s = shm_create(4);
    ASSERT_TRUE(t, s != NULL);
    ASSERT_EQ(t, mm_map_shm(a, BASE, 4 * PAGE_SIZE, RW, s, 0), 0);
    for (uint64_t i = 0; i < 4; i++)
        ASSERT_EQ(t, mm_write(a, BASE + i * PAGE_SIZE, &i, sizeof(i)), 0);
    phys_addr_t last = frame_at(a, BASE + 3 * PAGE_SIZE);
    EXPECT_EQ(t, mm_unmap(a, BASE + PAGE_SIZE, 2 * PAGE_SIZE), 0);
    /* Page 3 is still mapped (the right part of the split): object + entry. */
    EXPECT_EQ(t, refcount_of(last), 2u);
    /* A second mapping of the object at another address sees page 3's
     * value at its page 3, through the object (not copied). */
    ASSERT_EQ(t, mm_map_shm(a, OTHER, 4 * PAGE_SIZE, SD_PROT_READ, s, 0), 0);
    shm_put(s);
    for (uint64_t i = 0; i < 4; i++) {
        EXPECT_EQ(t, mm_handle_fault(a, OTHER + i * PAGE_SIZE, false, false, true), 0);
        EXPECT_EQ(t, read_u64(a, OTHER + i * PAGE_SIZE), i);
    }
    EXPECT_EQ(t, frame_at(a, OTHER + 3 * PAGE_SIZE), last);
    EXPECT_EQ(t, read_u64(a, BASE + 3 * PAGE_SIZE), 3u);
    mmput(a);
    EXPECT_EQ(t, refcount_of(last), 0u);
    EXPECT_BASELINE(t, b);
}

static void test_bad_arguments(struct ktest *t)
{
    struct baseline b = baseline_now();
    EXPECT_TRUE(t, shm_create(0) == NULL);
    EXPECT_TRUE(t, shm_create(SD_SHM_MAX / PAGE_SIZE + 1) == NULL);
    struct mm *a = mm_create();
    ASSERT_TRUE(t, a != NULL);
    struct shm *s = shm_create(2);
    ASSERT_TRUE(t, s != NULL);
    /* Beyond the object's end. */
    EXPECT_EQ(t, mm_map_shm(a, BASE, 3 * PAGE_SIZE, RW, s, 0), -SD_EINVAL);
    EXPECT_EQ(t, mm_map_shm(a, BASE, PAGE_SIZE, RW, s, 2), -SD_EINVAL);
    EXPECT_EQ(t, mm_map_shm(a, BASE, PAGE_SIZE, RW, s, 1), 0);
    EXPECT_EQ(t, mm_map_shm(a, BASE, PAGE_SIZE, RW, s, 0), -SD_EEXIST);
    shm_put(s);
    mmput(a);
    EXPECT_BASELINE(t, b);
}

static const struct ktest_case shm_cases[] = {
    KTEST_CASE(test_fork_shares),
    KTEST_CASE(test_frame_outlives_one_unmap),
    KTEST_CASE(test_split_keeps_offsets),
    KTEST_CASE(test_bad_arguments),
    {0},
};
KTEST_SUITE(shm, shm_cases);
