/*
 * tests/test_mm.c - the address-space API without ring 3: build mms, map,
 * write, fault pages in by calling mm_handle_fault() as the page-fault
 * handler would, fork and count copy-on-write sharing and copies, unmap and
 * check that pages and page tables go back to the allocator.  Every case
 * checks that frames, heap and mm_live_count return to where they were.
 */
#include "ktest_suite.h"
#include <kernel/pt_walk.h>
#include <kernel/kmalloc.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <arch/paging.h>
#include <arch/pte.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

#define BASE    0x400000ul      /* a PML4/PDPT/PD-aligned spot in the user half */
#define RW      (SD_PROT_READ | SD_PROT_WRITE)

/* Free frames once every page table waiting for a grace period (pt_free=rcu)
 * went back: an earlier unmap's tables must not come back in the middle of
 * a count. */
static size_t settled_free_frames(void)
{
    pt_free_drain();
    return page_free_frames();
}

struct baseline {
    size_t frames, heap;
    unsigned mms;
};

static struct baseline baseline_now(void)
{
    return (struct baseline){ settled_free_frames(), kmalloc_bytes_in_use(), mm_live_count() };
}

#define EXPECT_BASELINE(t, b)                                                  \
    do {                                                                       \
        EXPECT_EQ(t, settled_free_frames(), (b).frames);                       \
        EXPECT_EQ(t, kmalloc_bytes_in_use(), (b).heap);                        \
        EXPECT_EQ(t, mm_live_count(), (b).mms);                                \
    } while (0)

static bool mapped(struct mm *mm, uintptr_t va, phys_addr_t *pa, uint64_t *flags)
{
    return paging_lookup(mm->pml4, va, pa, flags, NULL);
}

static unsigned vma_count(struct mm *mm)
{
    unsigned n = 0;
    struct list_head *p;
    list_for_each(p, &mm->vmas)
        n++;
    return n;
}

static uint32_t refcount_at(struct mm *mm, uintptr_t va)
{
    phys_addr_t pa;
    if (!mapped(mm, va, &pa, NULL))
        return 0;
    return atomic_load(&pa_to_page(pa & PTE_ADDR)->refcount);
}

/* The frame went back to the allocator (page_free zeroes the count).  The
 * free-frame total is no use for this: kmalloc may take or give back slab
 * pages in between. */
static bool frame_freed(phys_addr_t pa)
{
    return atomic_load(&pa_to_page(pa)->refcount) == 0;
}

static uint64_t read_u64(struct mm *mm, uintptr_t va)
{
    phys_addr_t pa;
    if (!mapped(mm, va, &pa, NULL))
        return ~0ull;
    return *(uint64_t *)phys_to_virt(pa);
}

static void test_create_destroy(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *mms[8];
    for (int i = 0; i < 8; i++) {
        mms[i] = mm_create();
        ASSERT_TRUE(t, mms[i] != NULL);
        EXPECT_EQ(t, atomic_load(&mms[i]->mm_users), 1);
        EXPECT_EQ(t, atomic_load(&mms[i]->mm_count), 1);
        EXPECT_EQ(t, atomic_load(&mms[i]->tlb_gen), 0u);
        EXPECT_TRUE(t, cpumask_empty(&mms[i]->cpumask));
        EXPECT_TRUE(t, list_empty(&mms[i]->vmas));
        EXPECT_NE(t, mms[i]->ctx_id, 0u);
        if (i)
            EXPECT_GT(t, mms[i]->ctx_id, mms[i - 1]->ctx_id);
        /* The kernel half is the kernel's; the user half is empty. */
        EXPECT_EQ(t, memcmp(&mms[i]->pml4[PML4_KERNEL_FIRST], &kernel_pml4[PML4_KERNEL_FIRST],
                            (PTES_PER_TABLE - PML4_KERNEL_FIRST) * sizeof(pte_t)), 0);
        EXPECT_EQ(t, mms[i]->pml4[0], 0u);
    }
    EXPECT_EQ(t, mm_live_count(), b.mms + 8);
    for (int i = 0; i < 8; i++)
        mmput(mms[i]);
    EXPECT_BASELINE(t, b);

    /* The split: the last mmput tears the mappings down, the struct and
     * PML4 stay for a lazy holder until its mmdrop. */
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, BASE, 4 * PAGE_SIZE, RW), 0);
    uint64_t v = 42;
    ASSERT_EQ(t, mm_write(mm, BASE, &v, sizeof(v)), 0);
    phys_addr_t page;
    ASSERT_TRUE(t, mapped(mm, BASE, &page, NULL));
    mmgrab(mm);                 /* like a CPU that keeps it loaded lazily */
    mmget(mm);
    mmput(mm);
    EXPECT_TRUE(t, mapped(mm, BASE, NULL, NULL));      /* one user left */
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), b.mms + 1);
    EXPECT_TRUE(t, list_empty(&mm->vmas));
    EXPECT_FALSE(t, mapped(mm, BASE, NULL, NULL));
    EXPECT_EQ(t, mm->pml4[0], 0u);                      /* tables freed too */
    EXPECT_TRUE(t, frame_freed(page));
    EXPECT_EQ(t, page_free_check(mm->pgd, 0), NULL);     /* the PML4 is still ours */
    mmdrop(mm);
    EXPECT_BASELINE(t, b);
}

static void test_map_write_lookup(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);

    EXPECT_EQ(t, mm_map_anon(mm, BASE, 4 * PAGE_SIZE, RW), 0);
    EXPECT_EQ(t, mm_map_anon(mm, BASE + 8 * PAGE_SIZE, 2 * PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_EQ(t, mm_map_anon(mm, BASE + 6 * PAGE_SIZE, PAGE_SIZE, SD_PROT_READ | SD_PROT_EXEC), 0);
    EXPECT_EQ(t, vma_count(mm), 3u);
    /* Sorted by start. */
    struct vma *first = list_first_entry(&mm->vmas, struct vma, link);
    EXPECT_EQ(t, first->start, BASE);
    struct vma *second = list_entry(first->link.next, struct vma, link);
    EXPECT_EQ(t, second->start, BASE + 6 * PAGE_SIZE);

    /* Bad requests. */
    EXPECT_EQ(t, mm_map_anon(mm, BASE + PAGE_SIZE, PAGE_SIZE, RW), -SD_EEXIST);
    EXPECT_EQ(t, mm_map_anon(mm, BASE + 5 * PAGE_SIZE, 2 * PAGE_SIZE, RW), -SD_EEXIST);
    EXPECT_EQ(t, mm_map_anon(mm, BASE + 123, PAGE_SIZE, RW), -SD_EINVAL);
    EXPECT_EQ(t, mm_map_anon(mm, BASE + 5 * PAGE_SIZE, 100, RW), -SD_EINVAL);
    EXPECT_EQ(t, mm_map_anon(mm, 0, PAGE_SIZE, RW), -SD_EINVAL);
    EXPECT_EQ(t, mm_map_anon(mm, SD_USER_TOP - PAGE_SIZE, 2 * PAGE_SIZE, RW), -SD_EINVAL);
    EXPECT_EQ(t, mm_map_anon(mm, BASE + 20 * PAGE_SIZE, PAGE_SIZE, 8), -SD_EINVAL);

    /* Free ranges: after the hint, around the VMAs. */
    EXPECT_EQ(t, mm_find_free(mm, BASE, PAGE_SIZE), BASE + 4 * PAGE_SIZE);
    EXPECT_EQ(t, mm_find_free(mm, BASE, 2 * PAGE_SIZE), BASE + 4 * PAGE_SIZE);
    EXPECT_EQ(t, mm_find_free(mm, BASE, 3 * PAGE_SIZE), BASE + 10 * PAGE_SIZE);
    EXPECT_EQ(t, mm_find_free(mm, 0, PAGE_SIZE), (uintptr_t)SD_USER_MMAP_BASE);
    EXPECT_EQ(t, mm_find_free(mm, SD_USER_TOP - PAGE_SIZE, 2 * PAGE_SIZE), 0u);

    /* mm_write across a page boundary allocates exactly the pages it touches. */
    char msg[64];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('A' + i % 26);
    uintptr_t at = BASE + 2 * PAGE_SIZE - 20;
    size_t frames = settled_free_frames();
    EXPECT_EQ(t, mm_write(mm, at, msg, sizeof(msg)), 0);
    EXPECT_EQ(t, settled_free_frames(), frames - 2 - 3);  /* 2 pages + PDPT, PD, PT */
    EXPECT_FALSE(t, mapped(mm, BASE, NULL, NULL));
    phys_addr_t pa1, pa2;
    uint64_t f1, f2;
    ASSERT_TRUE(t, mapped(mm, at, &pa1, &f1));
    ASSERT_TRUE(t, mapped(mm, BASE + 2 * PAGE_SIZE, &pa2, &f2));
    EXPECT_EQ(t, memcmp(phys_to_virt(pa1), msg, 20), 0);
    EXPECT_EQ(t, memcmp(phys_to_virt(pa2), msg + 20, sizeof(msg) - 20), 0);
    /* The rest of the page is zero (demand-zero semantics). */
    EXPECT_EQ(t, *(uint8_t *)phys_to_virt(pa2 + 100), 0);
    EXPECT_EQ(t, f1 & (PTE_P | PTE_U | PTE_W), PTE_P | PTE_U | PTE_W);
    EXPECT_EQ(t, f1 & PTE_NX, pte_supported_mask & PTE_NX);   /* NX where the CPU has it */
    EXPECT_EQ(t, refcount_at(mm, at), 1u);

    /* Ignores protections (the loader writes read-only text); needs a VMA. */
    EXPECT_EQ(t, mm_write(mm, BASE + 8 * PAGE_SIZE, msg, 8), 0);
    uint64_t f;
    ASSERT_TRUE(t, mapped(mm, BASE + 8 * PAGE_SIZE, NULL, &f));
    EXPECT_EQ(t, f & (PTE_U | PTE_W), PTE_U);
    EXPECT_EQ(t, mm_write(mm, BASE + 6 * PAGE_SIZE, msg, 8), 0);
    ASSERT_TRUE(t, mapped(mm, BASE + 6 * PAGE_SIZE, NULL, &f));
    EXPECT_EQ(t, f & (PTE_U | PTE_W | PTE_NX), PTE_U);     /* executable */
    EXPECT_EQ(t, mm_write(mm, BASE + 4 * PAGE_SIZE, msg, 8), -SD_EFAULT);
    EXPECT_EQ(t, mm_write(mm, BASE + 4 * PAGE_SIZE - 4, msg, 8), -SD_EFAULT);
    EXPECT_EQ(t, mm_write(mm, SD_USER_TOP - 4, msg, 8), -SD_EFAULT);

    mmput(mm);
    EXPECT_BASELINE(t, b);
}

static void test_demand_zero(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    size_t frames = settled_free_frames();
    ASSERT_EQ(t, mm_map_anon(mm, BASE, 8 * PAGE_SIZE, RW), 0);
    EXPECT_FALSE(t, mapped(mm, BASE, NULL, NULL));     /* mmap allocates no page */
    EXPECT_EQ(t, mm->pml4[0], 0u);
    frames = settled_free_frames();

    uint64_t dz = atomic_load(&mm_stats.demand_zero_faults);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 3 * PAGE_SIZE + 8, false, false, true), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.demand_zero_faults), dz + 1);
    EXPECT_EQ(t, settled_free_frames(), frames - 1 - 3);  /* the page, PDPT, PD, PT */
    phys_addr_t pa;
    uint64_t f;
    ASSERT_TRUE(t, mapped(mm, BASE + 3 * PAGE_SIZE, &pa, &f));
    EXPECT_EQ(t, f & (PTE_U | PTE_W), PTE_U | PTE_W);
    const uint8_t *p = phys_to_virt(pa);
    bool zero = true;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        zero &= p[i] == 0;
    EXPECT_TRUE(t, zero);
    EXPECT_FALSE(t, mapped(mm, BASE + 2 * PAGE_SIZE, NULL, NULL));

    /* A second fault on the same page (another thread won, a stale TLB
     * entry) changes nothing. */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 3 * PAGE_SIZE, true, false, true), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.demand_zero_faults), dz + 1);
    phys_addr_t again;
    ASSERT_TRUE(t, mapped(mm, BASE + 3 * PAGE_SIZE, &again, NULL));
    EXPECT_EQ(t, again, pa);

    /* A write fault first also gets a zeroed page; kernel-mode faults on
     * user addresses (copy_to_user) follow the same rules. */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 7 * PAGE_SIZE, true, false, false), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.demand_zero_faults), dz + 2);
    EXPECT_EQ(t, read_u64(mm, BASE + 7 * PAGE_SIZE), 0u);

    mmput(mm);
    EXPECT_BASELINE(t, b);
}

static void test_protection_faults(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, BASE, PAGE_SIZE, SD_PROT_READ), 0);
    ASSERT_EQ(t, mm_map_anon(mm, BASE + PAGE_SIZE, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_map_anon(mm, BASE + 2 * PAGE_SIZE, PAGE_SIZE, SD_PROT_NONE), 0);
    ASSERT_EQ(t, mm_map_anon(mm, BASE + 3 * PAGE_SIZE, PAGE_SIZE, SD_PROT_READ | SD_PROT_EXEC), 0);
    uint64_t dz = atomic_load(&mm_stats.demand_zero_faults);
    size_t frames = settled_free_frames();

    EXPECT_EQ(t, mm_handle_fault(mm, BASE, true, false, true), -SD_EFAULT);      /* write to RO */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE, false, true, true), -SD_EFAULT);      /* exec of non-X */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + PAGE_SIZE, false, true, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 2 * PAGE_SIZE, false, false, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 2 * PAGE_SIZE, true, false, false), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 4 * PAGE_SIZE, false, false, true), -SD_EFAULT); /* no VMA */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE - 1, false, false, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(mm, 0, false, false, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(mm, 0xffff800000001000ul, false, false, false), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(&init_mm, BASE, false, false, false), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(NULL, BASE, false, false, false), -SD_EFAULT);
    EXPECT_EQ(t, atomic_load(&mm_stats.demand_zero_faults), dz);
    EXPECT_EQ(t, settled_free_frames(), frames);          /* nothing allocated */

    /* The allowed accesses work. */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE, false, false, true), 0);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 3 * PAGE_SIZE, false, true, true), 0);
    uint64_t f;
    ASSERT_TRUE(t, mapped(mm, BASE, NULL, &f));
    EXPECT_EQ(t, f & PTE_W, 0u);
    /* A present read-only page of a read-only VMA is no COW candidate. */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE, true, false, true), -SD_EFAULT);
    ASSERT_TRUE(t, mapped(mm, BASE + 3 * PAGE_SIZE, NULL, &f));
    EXPECT_EQ(t, f & PTE_NX, 0u);

    mmput(mm);
    EXPECT_BASELINE(t, b);
}

static void test_munmap_split(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, BASE, 8 * PAGE_SIZE, RW), 0);
    size_t frames = settled_free_frames();
    phys_addr_t pages[8];
    for (unsigned i = 0; i < 8; i++) {
        ASSERT_EQ(t, mm_handle_fault(mm, BASE + i * PAGE_SIZE, true, false, true), 0);
        ASSERT_TRUE(t, mapped(mm, BASE + i * PAGE_SIZE, &pages[i], NULL));
    }
    EXPECT_EQ(t, settled_free_frames(), frames - 3 - 8);

    /* A hole in the middle: two VMAs, two pages freed, tables stay. */
    uint64_t gen = atomic_load(&mm->tlb_gen);
    EXPECT_EQ(t, mm_unmap(mm, BASE + 3 * PAGE_SIZE, 2 * PAGE_SIZE), 0);
    EXPECT_GT(t, atomic_load(&mm->tlb_gen), gen);
    EXPECT_EQ(t, vma_count(mm), 2u);
    struct vma *a = list_first_entry(&mm->vmas, struct vma, link);
    struct vma *c = list_entry(a->link.next, struct vma, link);
    EXPECT_EQ(t, a->start, BASE);
    EXPECT_EQ(t, a->end, BASE + 3 * PAGE_SIZE);
    EXPECT_EQ(t, c->start, BASE + 5 * PAGE_SIZE);
    EXPECT_EQ(t, c->end, BASE + 8 * PAGE_SIZE);
    for (unsigned i = 0; i < 8; i++)
        EXPECT_EQ(t, frame_freed(pages[i]), i == 3 || i == 4);
    EXPECT_TRUE(t, mapped(mm, BASE + 2 * PAGE_SIZE, NULL, NULL));
    EXPECT_FALSE(t, mapped(mm, BASE + 3 * PAGE_SIZE, NULL, NULL));
    EXPECT_FALSE(t, mapped(mm, BASE + 4 * PAGE_SIZE, NULL, NULL));
    EXPECT_TRUE(t, mapped(mm, BASE + 5 * PAGE_SIZE, NULL, NULL));
    /* The hole faults now. */
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 3 * PAGE_SIZE, false, false, true), -SD_EFAULT);

    /* Edges of two VMAs and a range that is partly unmapped already. */
    EXPECT_EQ(t, mm_unmap(mm, BASE + 2 * PAGE_SIZE, 4 * PAGE_SIZE), 0);
    EXPECT_EQ(t, vma_count(mm), 2u);
    EXPECT_EQ(t, a->end, BASE + 2 * PAGE_SIZE);
    c = list_entry(a->link.next, struct vma, link);
    EXPECT_EQ(t, c->start, BASE + 6 * PAGE_SIZE);
    for (unsigned i = 0; i < 8; i++)
        EXPECT_EQ(t, frame_freed(pages[i]), i >= 2 && i <= 5);

    /* Unmapping nothing is fine; bad ranges are not. */
    EXPECT_EQ(t, mm_unmap(mm, BASE + 100 * PAGE_SIZE, PAGE_SIZE), 0);
    EXPECT_EQ(t, mm_unmap(mm, BASE + 1, PAGE_SIZE), -SD_EINVAL);
    EXPECT_EQ(t, mm_unmap(mm, BASE, 0), -SD_EINVAL);

    /* Everything: pages and all three tables go back. */
    EXPECT_EQ(t, mm_unmap(mm, BASE, 8 * PAGE_SIZE), 0);
    EXPECT_EQ(t, vma_count(mm), 0u);
    for (unsigned i = 0; i < 8; i++)
        EXPECT_TRUE(t, frame_freed(pages[i]));
    EXPECT_EQ(t, mm->pml4[0], 0u);

    /* Many pages: more than one unmap batch. */
    ASSERT_EQ(t, mm_map_anon(mm, BASE, 200 * PAGE_SIZE, RW), 0);
    frames = settled_free_frames();
    uint64_t v = 7;
    for (unsigned i = 0; i < 200; i++)
        ASSERT_EQ(t, mm_write(mm, BASE + i * PAGE_SIZE, &v, sizeof(v)), 0);
    EXPECT_EQ(t, settled_free_frames(), frames - 3 - 200);
    EXPECT_EQ(t, mm_unmap(mm, BASE, 200 * PAGE_SIZE), 0);
    EXPECT_GE(t, settled_free_frames(), frames);
    EXPECT_EQ(t, mm->pml4[0], 0u);

    mmput(mm);
    EXPECT_BASELINE(t, b);
}

/* The pages arch_pte_next() stops at in [start, end): each one once.  (No
 * mm->lock: the test's own mms, which nothing else can reach.) */
static unsigned next_stops(struct mm *mm, uintptr_t start, uintptr_t end, uintptr_t *at, unsigned cap)
{
    unsigned n = 0;
    for (uintptr_t va = arch_pte_next(mm, start, end); va < end; va = arch_pte_next(mm, va + PAGE_SIZE, end)) {
        if (n < cap)
            at[n] = va;
        n++;
    }
    return n;
}

/*
 * A region of 1 TiB with three pages touched: fork, mprotect, munmap and
 * the teardown walk only what is mapped (arch_pte_next skips missing
 * tables), so they finish at once; a walk page by page would take 2^28
 * steps per pass.  The stops are counted exactly.
 */
static void test_huge_region_walk(struct ktest *t)
{
    struct baseline b = baseline_now();
    const uintptr_t huge = 0x200000000000ul, size = 1ul << 40;
    /* The first page, the last before and the first after a 512 GiB
     * boundary (separate PML4 entries), and the region's last page. */
    const uintptr_t touch[4] = { huge, huge + (512ul << 30) - PAGE_SIZE, huge + (512ul << 30),
                                 huge + size - PAGE_SIZE };
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, huge, size, RW), 0);
    uintptr_t at[8];
    EXPECT_EQ(t, next_stops(mm, huge, huge + size, at, 8), 0u);
    uint64_t v = 1;
    for (unsigned i = 0; i < 4; i++)
        ASSERT_EQ(t, mm_write(mm, touch[i], &v, sizeof(v)), 0);
    ASSERT_EQ(t, next_stops(mm, huge, huge + size, at, 8), 4u);
    for (unsigned i = 0; i < 4; i++)
        EXPECT_EQ(t, at[i], touch[i]);
    EXPECT_EQ(t, next_stops(mm, huge + PAGE_SIZE, huge + (512ul << 30), at, 8), 1u);
    EXPECT_EQ(t, next_stops(mm, huge + PAGE_SIZE, huge + (512ul << 30) - PAGE_SIZE, at, 8), 0u);

    struct mm *child = mm_fork(mm);
    ASSERT_TRUE(t, child != NULL);
    EXPECT_EQ(t, next_stops(child, huge, huge + size, at, 8), 4u);
    EXPECT_EQ(t, refcount_at(mm, touch[2]), 2u);
    EXPECT_EQ(t, mm_protect(mm, huge, size, SD_PROT_READ), 0);
    EXPECT_EQ(t, mm_unmap(child, huge, size), 0);
    EXPECT_EQ(t, next_stops(child, huge, huge + size, at, 8), 0u);
    EXPECT_EQ(t, refcount_at(mm, touch[2]), 1u);
    mmput(child);
    mmput(mm);              /* the teardown walks the region too */
    EXPECT_BASELINE(t, b);
}

/*
 * Fork's cursors keep the page table (PT: one 2 MiB) they used last
 * (arch_pte_cursor_next, arch_pte_share_cow): pages on both sides of 2 MiB
 * boundaries inside one 1 GiB, a PT reached after skipped ranges, and the
 * last page before a 1 GiB boundary must reach the child at their own
 * address with their own frame, each once, whichever PT the cursors held
 * before.  Then the teardown, which goes once over the tables, gives every
 * frame and table back (the baseline).
 */
static void test_fork_pt_boundaries(struct ktest *t)
{
    struct baseline b = baseline_now();
    const uintptr_t gib = 1ul << 30, mib2 = 2ul << 20;
    const uintptr_t base = 4 * gib;
    const uintptr_t touch[7] = { base, base + mib2 - PAGE_SIZE, base + mib2, base + mib2 + PAGE_SIZE,
                                 base + 3 * mib2 + 5 * PAGE_SIZE, base + gib - PAGE_SIZE, base + gib };
    struct mm *parent = mm_create();
    ASSERT_TRUE(t, parent != NULL);
    ASSERT_EQ(t, mm_map_anon(parent, base, gib + mib2, RW), 0);
    for (uint64_t i = 0; i < 7; i++)
        ASSERT_EQ(t, mm_write(parent, touch[i], &i, sizeof(i)), 0);
    struct mm *child = mm_fork(parent);
    ASSERT_TRUE(t, child != NULL);
    uintptr_t at[8];
    ASSERT_EQ(t, next_stops(child, base, base + gib + mib2, at, 8), 7u);
    for (unsigned i = 0; i < 7; i++) {
        phys_addr_t pp, pc;
        EXPECT_EQ(t, at[i], touch[i]);
        ASSERT_TRUE(t, mapped(parent, touch[i], &pp, NULL));
        ASSERT_TRUE(t, mapped(child, touch[i], &pc, NULL));
        EXPECT_EQ(t, pc, pp);
        EXPECT_EQ(t, refcount_at(parent, touch[i]), 2u);
        EXPECT_EQ(t, read_u64(child, touch[i]), (uint64_t)i);
    }
    mmput(child);
    for (unsigned i = 0; i < 7; i++)
        EXPECT_EQ(t, refcount_at(parent, touch[i]), 1u);
    mmput(parent);
    EXPECT_BASELINE(t, b);
}

static void test_mprotect(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, BASE, 4 * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < 4; i++)
        ASSERT_EQ(t, mm_handle_fault(mm, BASE + i * PAGE_SIZE, true, false, true), 0);

    uint64_t gen = atomic_load(&mm->tlb_gen);
    EXPECT_EQ(t, mm_protect(mm, BASE + PAGE_SIZE, 2 * PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_GT(t, atomic_load(&mm->tlb_gen), gen);
    EXPECT_EQ(t, vma_count(mm), 3u);
    uint64_t f;
    for (unsigned i = 0; i < 4; i++) {
        ASSERT_TRUE(t, mapped(mm, BASE + i * PAGE_SIZE, NULL, &f));
        EXPECT_EQ(t, f & PTE_W, (i == 1 || i == 2) ? 0 : PTE_W);
    }
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + PAGE_SIZE, true, false, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE + 3 * PAGE_SIZE, true, false, true), 0);

    /* Back to writable: the pages are this mm's alone, so PTE_W again. */
    EXPECT_EQ(t, mm_protect(mm, BASE + PAGE_SIZE, PAGE_SIZE, RW), 0);
    ASSERT_TRUE(t, mapped(mm, BASE + PAGE_SIZE, NULL, &f));
    EXPECT_EQ(t, f & PTE_W, PTE_W);
    EXPECT_EQ(t, vma_count(mm), 4u);

    /* PROT_NONE: no user access; the page keeps its data. */
    uint64_t v = 0x1234;
    ASSERT_EQ(t, mm_write(mm, BASE, &v, sizeof(v)), 0);
    EXPECT_EQ(t, mm_protect(mm, BASE, PAGE_SIZE, SD_PROT_NONE), 0);
    ASSERT_TRUE(t, mapped(mm, BASE, NULL, &f));
    EXPECT_EQ(t, f & (PTE_U | PTE_W), 0u);
    EXPECT_EQ(t, mm_handle_fault(mm, BASE, false, false, true), -SD_EFAULT);
    EXPECT_EQ(t, mm_protect(mm, BASE, PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_EQ(t, read_u64(mm, BASE), 0x1234u);

    /* Holes and bad arguments. */
    EXPECT_EQ(t, mm_protect(mm, BASE, 5 * PAGE_SIZE, SD_PROT_READ), -SD_ENOMEM);
    EXPECT_EQ(t, mm_protect(mm, BASE, PAGE_SIZE, 0x10), -SD_EINVAL);
    EXPECT_EQ(t, mm_protect(mm, BASE + 8, PAGE_SIZE, SD_PROT_READ), -SD_EINVAL);

    mmput(mm);
    EXPECT_BASELINE(t, b);
}

static void test_fork_cow(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *parent = mm_create();
    ASSERT_TRUE(t, parent != NULL);
    ASSERT_EQ(t, mm_map_anon(parent, BASE, 4 * PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_map_anon(parent, BASE + 8 * PAGE_SIZE, PAGE_SIZE, SD_PROT_READ), 0);
    for (uint64_t i = 0; i < 4; i++)
        ASSERT_EQ(t, mm_write(parent, BASE + i * PAGE_SIZE, &i, sizeof(i)), 0);
    uint64_t ro = 99;
    ASSERT_EQ(t, mm_write(parent, BASE + 8 * PAGE_SIZE, &ro, sizeof(ro)), 0);

    uint64_t copies = atomic_load(&mm_stats.cow_copies);
    uint64_t reuses = atomic_load(&mm_stats.cow_reuses);
    struct mm *child = mm_fork(parent);
    ASSERT_TRUE(t, child != NULL);
    EXPECT_EQ(t, vma_count(child), 2u);
    EXPECT_NE(t, child->ctx_id, parent->ctx_id);
    /* No page was copied. */
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies);
    for (unsigned i = 0; i < 4; i++) {
        uintptr_t va = BASE + i * PAGE_SIZE;
        phys_addr_t pp, pc;
        uint64_t fp, fc;
        ASSERT_TRUE(t, mapped(parent, va, &pp, &fp));
        ASSERT_TRUE(t, mapped(child, va, &pc, &fc));
        EXPECT_EQ(t, pp, pc);
        EXPECT_EQ(t, refcount_at(parent, va), 2u);
        EXPECT_EQ(t, fp & PTE_W, 0u);
        EXPECT_EQ(t, fc & PTE_W, 0u);
        EXPECT_EQ(t, fc & PTE_U, PTE_U);
    }
    EXPECT_EQ(t, refcount_at(child, BASE + 8 * PAGE_SIZE), 2u);

    /* The child writes page 0: exactly one copy; the parent keeps its data. */
    EXPECT_EQ(t, mm_handle_fault(child, BASE, true, false, true), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + 1);
    uint64_t x = 1000;
    ASSERT_EQ(t, mm_write(child, BASE, &x, sizeof(x)), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + 1);   /* already private */
    EXPECT_EQ(t, read_u64(child, BASE), 1000u);
    EXPECT_EQ(t, read_u64(parent, BASE), 0u);
    phys_addr_t pp, pc;
    uint64_t f;
    ASSERT_TRUE(t, mapped(parent, BASE, &pp, NULL));
    ASSERT_TRUE(t, mapped(child, BASE, &pc, &f));
    EXPECT_NE(t, pp, pc);
    EXPECT_EQ(t, f & PTE_W, PTE_W);
    EXPECT_EQ(t, refcount_at(parent, BASE), 1u);
    EXPECT_EQ(t, refcount_at(child, BASE), 1u);

    /* The parent is now page 0's last owner: its write reuses the frame. */
    EXPECT_EQ(t, mm_handle_fault(parent, BASE, true, false, true), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + 1);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_reuses), reuses + 1);
    phys_addr_t pp2;
    ASSERT_TRUE(t, mapped(parent, BASE, &pp2, &f));
    EXPECT_EQ(t, pp2, pp);
    EXPECT_EQ(t, f & PTE_W, PTE_W);

    /* The parent writes page 1 (through mm_write): one more copy. */
    x = 2000;
    ASSERT_EQ(t, mm_write(parent, BASE + PAGE_SIZE, &x, sizeof(x)), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + 2);
    EXPECT_EQ(t, read_u64(parent, BASE + PAGE_SIZE), 2000u);
    EXPECT_EQ(t, read_u64(child, BASE + PAGE_SIZE), 1u);
    /* Pages 2 and 3 are still shared, read-only in both. */
    EXPECT_EQ(t, refcount_at(parent, BASE + 2 * PAGE_SIZE), 2u);
    EXPECT_EQ(t, refcount_at(child, BASE + 3 * PAGE_SIZE), 2u);
    /* A write to the read-only VMA is still refused in both. */
    EXPECT_EQ(t, mm_handle_fault(child, BASE + 8 * PAGE_SIZE, true, false, true), -SD_EFAULT);

    /* A grandchild shares with both: refcount 3. */
    struct mm *grandchild = mm_fork(child);
    ASSERT_TRUE(t, grandchild != NULL);
    EXPECT_EQ(t, refcount_at(parent, BASE + 2 * PAGE_SIZE), 3u);
    EXPECT_EQ(t, read_u64(grandchild, BASE), 1000u);
    mmput(grandchild);
    EXPECT_EQ(t, refcount_at(parent, BASE + 2 * PAGE_SIZE), 2u);

    /* The child exits: the pages it shared are the parent's alone, and the
     * parent's writes reuse them without copying. */
    mmput(child);
    EXPECT_EQ(t, refcount_at(parent, BASE + 2 * PAGE_SIZE), 1u);
    EXPECT_EQ(t, mm_handle_fault(parent, BASE + 2 * PAGE_SIZE, true, false, true), 0);
    EXPECT_EQ(t, mm_handle_fault(parent, BASE + 3 * PAGE_SIZE, true, false, true), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies + 2);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_reuses), reuses + 3);
    EXPECT_EQ(t, read_u64(parent, BASE + 3 * PAGE_SIZE), 3u);

    mmput(parent);
    EXPECT_BASELINE(t, b);
}

/* The parent exits first: the child's pages become its own. */
static void test_fork_parent_exits_first(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *parent = mm_create();
    ASSERT_TRUE(t, parent != NULL);
    ASSERT_EQ(t, mm_map_anon(parent, BASE, 2 * PAGE_SIZE, RW), 0);
    uint64_t v = 5;
    ASSERT_EQ(t, mm_write(parent, BASE, &v, sizeof(v)), 0);
    struct mm *child = mm_fork(parent);
    ASSERT_TRUE(t, child != NULL);
    EXPECT_FALSE(t, mapped(child, BASE + PAGE_SIZE, NULL, NULL));  /* never touched */
    mmput(parent);
    EXPECT_EQ(t, refcount_at(child, BASE), 1u);
    uint64_t copies = atomic_load(&mm_stats.cow_copies);
    EXPECT_EQ(t, mm_handle_fault(child, BASE, true, false, true), 0);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies);
    EXPECT_EQ(t, read_u64(child, BASE), 5u);
    mmput(child);
    EXPECT_BASELINE(t, b);
}

/* A fork system call copies the page of the forking thread's next push at
 * once (fork_copy_now in kernel/mm/fork.c) - only from a single-threaded
 * parent, only a page the parent maps writable; every other page is
 * shared. */
static void test_fork_copy_now(struct ktest *t)
{
    struct baseline b = baseline_now();
    struct mm *parent = mm_create();
    ASSERT_TRUE(t, parent != NULL);
    ASSERT_EQ(t, mm_map_anon(parent, BASE, 3 * PAGE_SIZE, RW), 0);
    for (uint64_t i = 0; i < 3; i++)
        ASSERT_EQ(t, mm_write(parent, BASE + i * PAGE_SIZE, &i, sizeof(i)), 0);
    phys_addr_t p1;
    ASSERT_TRUE(t, mapped(parent, BASE + PAGE_SIZE, &p1, NULL));

    /* The stack pointer at the top of page 1: its next push lands in page 1. */
    uint64_t copies = atomic_load(&mm_stats.cow_copies);
    uint64_t now = atomic_load(&mm_stats.fork_copies);
    struct mm *child = mm_fork_thread(parent, BASE + 2 * PAGE_SIZE);
    ASSERT_TRUE(t, child != NULL);
    EXPECT_EQ(t, atomic_load(&mm_stats.fork_copies), now + 1);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies);
    phys_addr_t pp, pc;
    uint64_t fp, fc;
    ASSERT_TRUE(t, mapped(parent, BASE + PAGE_SIZE, &pp, &fp));
    ASSERT_TRUE(t, mapped(child, BASE + PAGE_SIZE, &pc, &fc));
    EXPECT_EQ(t, pp, p1);                   /* the parent keeps its frame, writable */
    EXPECT_EQ(t, fp & PTE_W, PTE_W);
    EXPECT_NE(t, pc, pp);                   /* the child has its own, writable */
    EXPECT_EQ(t, fc & PTE_W, PTE_W);
    EXPECT_EQ(t, fc & PTE_U, PTE_U);
    EXPECT_EQ(t, refcount_at(parent, BASE + PAGE_SIZE), 1u);
    EXPECT_EQ(t, refcount_at(child, BASE + PAGE_SIZE), 1u);
    EXPECT_EQ(t, read_u64(child, BASE + PAGE_SIZE), 1u);
    /* Pages 0 and 2 are shared read-only as always. */
    for (unsigned i = 0; i < 3; i += 2) {
        ASSERT_TRUE(t, mapped(parent, BASE + i * PAGE_SIZE, &pp, &fp));
        ASSERT_TRUE(t, mapped(child, BASE + i * PAGE_SIZE, &pc, &fc));
        EXPECT_EQ(t, pp, pc);
        EXPECT_EQ(t, fp & PTE_W, 0u);
        EXPECT_EQ(t, refcount_at(parent, BASE + i * PAGE_SIZE), 2u);
    }
    /* Writes on either side stay there, with no fault and no copy. */
    uint64_t x = 100, y = 200;
    ASSERT_EQ(t, mm_write(parent, BASE + PAGE_SIZE, &x, sizeof(x)), 0);
    ASSERT_EQ(t, mm_write(child, BASE + PAGE_SIZE, &y, sizeof(y)), 0);
    EXPECT_EQ(t, read_u64(parent, BASE + PAGE_SIZE), 100u);
    EXPECT_EQ(t, read_u64(child, BASE + PAGE_SIZE), 200u);
    EXPECT_EQ(t, atomic_load(&mm_stats.cow_copies), copies);

    /* A page the parent maps read-only (page 0, shared with child) is
     * shared again: it has other owners already. */
    struct mm *second = mm_fork_thread(parent, BASE + 8);
    ASSERT_TRUE(t, second != NULL);
    EXPECT_EQ(t, atomic_load(&mm_stats.fork_copies), now + 1);
    EXPECT_EQ(t, refcount_at(parent, BASE), 3u);
    mmput(second);

    /* Another user of the parent (a second thread): nothing is copied at
     * once, page 1 is shared and write-protected like the others. */
    mmget(parent);
    struct mm *third = mm_fork_thread(parent, BASE + 2 * PAGE_SIZE);
    ASSERT_TRUE(t, third != NULL);
    EXPECT_EQ(t, atomic_load(&mm_stats.fork_copies), now + 1);
    ASSERT_TRUE(t, mapped(parent, BASE + PAGE_SIZE, &pp, &fp));
    ASSERT_TRUE(t, mapped(third, BASE + PAGE_SIZE, &pc, NULL));
    EXPECT_EQ(t, pp, pc);
    EXPECT_EQ(t, fp & PTE_W, 0u);
    mmput(parent);
    mmput(third);

    mmput(child);
    mmput(parent);
    EXPECT_BASELINE(t, b);
}

static const struct ktest_case mm_cases[] = {
    KTEST_CASE(test_create_destroy),
    KTEST_CASE(test_map_write_lookup),
    KTEST_CASE(test_demand_zero),
    KTEST_CASE(test_protection_faults),
    KTEST_CASE(test_munmap_split),
    KTEST_CASE(test_mprotect),
    KTEST_CASE(test_huge_region_walk),
    KTEST_CASE(test_fork_pt_boundaries),
    KTEST_CASE(test_fork_cow),
    KTEST_CASE(test_fork_parent_exits_first),
    KTEST_CASE(test_fork_copy_now),
    {0},
};
KTEST_SUITE(mm, mm_cases);
