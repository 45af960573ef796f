/*
 * tests/test_paging.c - the page-table API on a scratch tree and on the
 * kernel's tree; faults from unmapped, read-only and no-execute pages,
 * caught with run_expecting_fault() and checked (vector, error code, CR2);
 * kernel stacks and their guard pages; ioremap.
 */
#include "ktest_suite.h"
#include <arch/x86/apic.h>
#include <arch/x86/cpufeatures.h>
#include <arch/extable.h>
#include <arch/kva.h>
#include <arch/mmio.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>
#include <kernel/kstack.h>
#include <kernel/page_alloc.h>
#include <kernel/spinlock.h>
#include <lib/string.h>

/* #PF error code bits (Intel SDM vol. 3, 4.7). */
#define PF_P    (1u << 0)       /* protection violation (else: not present) */
#define PF_W    (1u << 1)       /* write */
#define PF_U    (1u << 2)       /* user mode */
#define PF_I    (1u << 4)       /* instruction fetch */

static void test_scratch_map_lookup_unmap(struct ktest *t)
{
    size_t frames = page_free_frames();
    pte_t *pml4 = paging_new_pml4();
    ASSERT_TRUE(t, pml4 != NULL);
    EXPECT_EQ(t, pml4[PML4_KERNEL_FIRST], kernel_pml4[PML4_KERNEL_FIRST]);
    EXPECT_EQ(t, pml4[511], kernel_pml4[511]);
    EXPECT_EQ(t, pml4[0], 0u);

    phys_addr_t frame = page_alloc(0), frame2 = page_alloc(0);
    ASSERT_TRUE(t, frame && frame2);
    uintptr_t va = 0x400000, va2 = va + PAGE_SIZE;
    size_t before_map = page_free_frames();

    EXPECT_EQ(t, paging_map(pml4, va, frame, PTE_W | PTE_U | PTE_NX), 0);
    /* PDPT, PD and PT were allocated. */
    EXPECT_EQ(t, page_free_frames(), before_map - 3);
    EXPECT_EQ(t, paging_map(pml4, va, frame2, PTE_W), PT_EEXIST);
    EXPECT_EQ(t, paging_map(pml4, va2, frame2, PTE_U), 0);
    EXPECT_EQ(t, page_free_frames(), before_map - 3);      /* same PT */

    phys_addr_t pa;
    uint64_t flags;
    size_t size;
    ASSERT_TRUE(t, paging_lookup(pml4, va + 0x123, &pa, &flags, &size));
    EXPECT_EQ(t, pa, frame + 0x123);
    EXPECT_EQ(t, size, PAGE_SIZE);
    EXPECT_TRUE(t, (flags & (PTE_P | PTE_W | PTE_U)) == (PTE_P | PTE_W | PTE_U));
    EXPECT_EQ(t, flags & PTE_NX, cpu_features.nx ? PTE_NX : 0);
    EXPECT_FALSE(t, paging_lookup(pml4, va + 2 * PAGE_SIZE, NULL, NULL, NULL));
    EXPECT_FALSE(t, paging_lookup(pml4, 0x7f0000000000ul, NULL, NULL, NULL));

    /* The leaf through paging_walk is the one lookup read. */
    pte_t *pte = paging_walk(pml4, va, false);
    ASSERT_TRUE(t, pte != NULL);
    EXPECT_EQ(t, *pte & PTE_ADDR, frame);
    EXPECT_TRUE(t, paging_walk(pml4, 0x40000000ul, false) == NULL);

    /* Protect: drop W, keep the frame. */
    pte_t old;
    EXPECT_EQ(t, paging_protect(pml4, va, PTE_U, &old), 0);
    EXPECT_TRUE(t, old & PTE_W);
    ASSERT_TRUE(t, paging_lookup(pml4, va, &pa, &flags, NULL));
    EXPECT_EQ(t, pa, frame);
    EXPECT_EQ(t, flags & PTE_W, 0u);
    EXPECT_EQ(t, paging_protect(pml4, va + 2 * PAGE_SIZE, PTE_U, NULL), PT_ENOENT);

    /* Unmap: the first leaves the tables (the PT is not empty). */
    struct pt_free_list freed = PT_FREE_LIST_INIT;
    EXPECT_EQ(t, paging_unmap(pml4, va, &old, &freed), 0);
    EXPECT_EQ(t, old & PTE_ADDR, frame);
    EXPECT_EQ(t, freed.count, 0u);
    EXPECT_FALSE(t, paging_lookup(pml4, va, NULL, NULL, NULL));
    EXPECT_EQ(t, paging_unmap(pml4, va, &old, &freed), PT_ENOENT);
    /* The last one empties PT, PD and PDPT. */
    EXPECT_EQ(t, paging_unmap(pml4, va2, &old, &freed), 0);
    EXPECT_EQ(t, old & PTE_ADDR, frame2);
    EXPECT_EQ(t, freed.count, 3u);
    EXPECT_EQ(t, pml4[0], 0u);
    EXPECT_EQ(t, page_free_frames(), before_map - 3);      /* not freed until released */
    pt_free_list_release(&freed);
    EXPECT_EQ(t, page_free_frames(), before_map);

    /* Bad arguments. */
    EXPECT_EQ(t, paging_map(pml4, va + 1, frame, 0), PT_EINVAL);
    EXPECT_EQ(t, paging_map(pml4, va, frame + 1, 0), PT_EINVAL);
    EXPECT_EQ(t, paging_map(pml4, 0x0000800000000000ul, frame, 0), PT_EINVAL);  /* non-canonical */
    EXPECT_EQ(t, paging_map(pml4, va, frame, PTE_PS), PT_EINVAL);

    /* Without a free list, emptied tables stay. */
    EXPECT_EQ(t, paging_map(pml4, va, frame, PTE_U), 0);
    EXPECT_EQ(t, paging_unmap(pml4, va, NULL, NULL), 0);
    EXPECT_NE(t, pml4[0], 0u);
    EXPECT_EQ(t, paging_map(pml4, va, frame, PTE_U), 0);
    EXPECT_EQ(t, paging_unmap(pml4, va, NULL, &freed), 0);
    EXPECT_EQ(t, freed.count, 3u);
    pt_free_list_release(&freed);

    page_free(frame, 0);
    page_free(frame2, 0);
    paging_free_pml4(pml4);
    EXPECT_EQ(t, page_free_frames(), frames);
}

/* Mappings far apart in one scratch tree: separate tables, all freed. */
static void test_scratch_many_tables(struct ktest *t)
{
    size_t frames = page_free_frames();
    pte_t *pml4 = paging_new_pml4();
    ASSERT_TRUE(t, pml4 != NULL);
    phys_addr_t frame = page_alloc(0);
    ASSERT_NE(t, frame, 0u);
    static const uintptr_t vas[] = { 0x1000, 0x200000, 0x40000000, 0x8000000000ul, 0x7ffffffff000ul };
    for (unsigned i = 0; i < ARRAY_SIZE(vas); i++)
        EXPECT_EQ(t, paging_map(pml4, vas[i], frame, PTE_U), 0);
    for (unsigned i = 0; i < ARRAY_SIZE(vas); i++) {
        phys_addr_t pa;
        EXPECT_TRUE(t, paging_lookup(pml4, vas[i], &pa, NULL, NULL) && pa == frame);
    }
    struct pt_free_list freed = PT_FREE_LIST_INIT;
    for (unsigned i = 0; i < ARRAY_SIZE(vas); i++)
        EXPECT_EQ(t, paging_unmap(pml4, vas[i], NULL, &freed), 0);
    for (unsigned i = 0; i < PML4_KERNEL_FIRST; i++)
        if (pml4[i])
            ktest_fail_at(t, __FILE__, __LINE__, "PML4 entry %u left behind", i);
    pt_free_list_release(&freed);
    page_free(frame, 0);
    paging_free_pml4(pml4);
    EXPECT_EQ(t, page_free_frames(), frames);
}

static void test_kernel_tree_lookup(struct ktest *t)
{
    /* The direct map: large pages, global, NX. */
    phys_addr_t pa;
    uint64_t flags;
    size_t size;
    phys_addr_t probe = 0x1234000;
    ASSERT_TRUE(t, paging_lookup(kernel_pml4, (uintptr_t)phys_to_virt(probe) + 5, &pa, &flags, &size));
    EXPECT_EQ(t, pa, probe + 5);
    EXPECT_EQ(t, size, cpu_features.page1g ? HUGE_PAGE_SIZE : LARGE_PAGE_SIZE);
    EXPECT_TRUE(t, flags & PTE_PS);
    EXPECT_TRUE(t, flags & PTE_W);
    if (cpu_features.nx)
        EXPECT_TRUE(t, flags & PTE_NX);
    if (cpu_features.pge)
        EXPECT_TRUE(t, flags & PTE_G);
    /* The last byte of RAM is in the direct map. */
    EXPECT_TRUE(t, paging_lookup(kernel_pml4, (uintptr_t)phys_to_virt(page_ram_end() - 1), &pa, NULL, NULL));
    EXPECT_EQ(t, pa, page_ram_end() - 1);
    /* Large pages are not changed through the 4 KiB API. */
    EXPECT_EQ(t, paging_unmap(kernel_pml4, (uintptr_t)phys_to_virt(probe), NULL, NULL), PT_EINVAL);
    EXPECT_EQ(t, paging_protect(kernel_pml4, (uintptr_t)phys_to_virt(probe), PTE_KERNEL_RO, NULL), PT_EINVAL);
    EXPECT_EQ(t, paging_map(kernel_pml4, (uintptr_t)phys_to_virt(probe), probe, PTE_KERNEL_RO), PT_EEXIST);
    /* The kernel image: 4 KiB pages. */
    ASSERT_TRUE(t, paging_lookup(kernel_pml4, (uintptr_t)test_kernel_tree_lookup, &pa, &flags, &size));
    EXPECT_EQ(t, size, PAGE_SIZE);
    EXPECT_EQ(t, pa, virt_to_phys((void *)test_kernel_tree_lookup));
    /* No identity map: the lower half of the kernel's tree is empty. */
    EXPECT_FALSE(t, paging_lookup(kernel_pml4, 0x100000, NULL, NULL, NULL));
    EXPECT_FALSE(t, paging_lookup(kernel_pml4, KERNEL_PHYS, NULL, NULL, NULL));
    for (unsigned i = 0; i < PML4_KERNEL_FIRST; i++)
        if (kernel_pml4[i])
            ktest_fail_at(t, __FILE__, __LINE__, "kernel PML4 entry %u (user half) is %#lx", i, kernel_pml4[i]);
    /* The kernel half is all present, and the root is below 4 GiB. */
    for (unsigned i = PML4_KERNEL_FIRST; i < PTES_PER_TABLE; i++)
        EXPECT_TRUE(t, kernel_pml4[i] & PTE_P);
    EXPECT_LT(t, kernel_cr3(), 1ul << 32);
    EXPECT_EQ(t, read_cr3() & PTE_ADDR, kernel_cr3());
}

/* ---- faults ---------------------------------------------------------------- */

static void read_u64(void *arg)
{
    *(volatile uint64_t *)arg;
}

static void write_u64(void *arg)
{
    *(volatile uint64_t *)arg = 0x1122334455667788ull;
}

static void call_code(void *arg)
{
    ((void (*)(void))arg)();
}

static void expect_pf(struct ktest *t, const char *what, bool faulted, const struct fault_report *r,
                      uintptr_t addr, uint64_t err_bits)
{
    if (!faulted) {
        ktest_fail_at(t, __FILE__, __LINE__, "%s: no fault", what);
        return;
    }
    EXPECT_EQ(t, r->vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r->cr2, addr);
    /* Only the bits that describe the access; RSVD (bit 3) must be clear. */
    EXPECT_EQ(t, r->error_code & (PF_P | PF_W | PF_U | (1u << 3) | PF_I), err_bits);
}

/* A scratch page in the kernel virtual area: the stack pages of a kstack
 * and the unmapped guard below them. */
static void test_fault_unmapped_read(struct ktest *t)
{
    uintptr_t top = kstack_alloc();
    ASSERT_NE(t, top, 0u);
    uintptr_t guard = top - KSTACK_SIZE - 8;
    struct fault_report r;
    bool faulted = run_expecting_fault(read_u64, (void *)guard, &r);
    expect_pf(t, "read below a kernel stack", faulted, &r, guard, 0);
    uint64_t v;
    EXPECT_FALSE(t, probe_read_u64((void *)guard, &v));
    EXPECT_TRUE(t, probe_read_u64((void *)(top - 8), &v));
    kstack_free(top);
    /* A freed stack waits, still mapped, in the stack cache; once the cache
     * is drained the stack itself is gone too. */
    kstack_cache_drain();
    EXPECT_FALSE(t, probe_read_u64((void *)(top - 8), &v));
}

static void test_fault_write_readonly(struct ktest *t)
{
    uintptr_t top = kstack_alloc();
    ASSERT_NE(t, top, 0u);
    uintptr_t page = top - PAGE_SIZE;
    *(volatile uint64_t *)page = 7;
    ASSERT_EQ(t, kernel_protect_page(page, PTE_KERNEL_RO), 0);
    struct fault_report r;
    bool faulted = run_expecting_fault(write_u64, (void *)(page + 16), &r);
    expect_pf(t, "write to a read-only page", faulted, &r, page + 16, PF_P | PF_W);
    EXPECT_EQ(t, *(volatile uint64_t *)page, 7u);        /* still readable */
    ASSERT_EQ(t, kernel_protect_page(page, PTE_KERNEL_RW), 0);
    faulted = run_expecting_fault(write_u64, (void *)(page + 16), &r);
    EXPECT_FALSE(t, faulted);
    EXPECT_EQ(t, *(volatile uint64_t *)(page + 16), 0x1122334455667788ull);
    kstack_free(top);
}

static void test_fault_exec_nx(struct ktest *t)
{
    if (!cpu_features.nx)
        KTEST_SKIP(t, "the CPU has no NX");
    uintptr_t top = kstack_alloc();
    ASSERT_NE(t, top, 0u);
    uintptr_t code = top - PAGE_SIZE;
    *(volatile uint8_t *)code = 0xc3;                   /* ret */
    struct fault_report r;
    bool faulted = run_expecting_fault(call_code, (void *)code, &r);
    expect_pf(t, "execute a no-execute page", faulted, &r, code, PF_P | PF_I);
    EXPECT_EQ(t, r.rip, code);
    kstack_free(top);
}

/* A fresh mapping in the kernel tree through kernel_map_page, in the guard
 * area of a stack slot (never mapped otherwise). */
static void test_kernel_map_unmap(struct ktest *t)
{
    uintptr_t top = kstack_alloc();
    ASSERT_NE(t, top, 0u);
    uintptr_t va = top - KSTACK_SIZE - PAGE_SIZE;
    phys_addr_t frame = page_alloc_zeroed(0);
    ASSERT_NE(t, frame, 0u);
    *(uint64_t *)phys_to_virt(frame) = 0xfeedface;
    EXPECT_EQ(t, kernel_map_page(va, frame, PTE_KERNEL_RO), 0);
    uint64_t v = 0;
    EXPECT_TRUE(t, probe_read_u64((void *)va, &v));
    EXPECT_EQ(t, v, 0xfeedface);
    EXPECT_FALSE(t, probe_write_u64((void *)va, 1));
    EXPECT_EQ(t, kernel_map_page(va, frame, PTE_KERNEL_RO), PT_EEXIST);
    EXPECT_EQ(t, kernel_unmap_page(va), frame);
    EXPECT_FALSE(t, probe_read_u64((void *)va, &v));
    EXPECT_EQ(t, kernel_unmap_page(va), 0u);
    page_free(frame, 0);
    kstack_free(top);
}

/* ---- kernel stacks ----------------------------------------------------------- */

/*
 * A stack built from fresh frames is all zeros, even on a frame that last
 * held other bytes (here 0xcc, standing for a freed program's code: under
 * TCG such a frame made a syscall loop 80x slower, docs/memory.md "Frames
 * that held code").  The buddy allocator hands out the frame freed last
 * first, so the stack's lowest page is the poisoned frame - unless another
 * CPU allocated in between, hence a few tries.
 */
static void test_kstack_fresh_pages_zeroed(struct ktest *t)
{
    unsigned reused = 0, nonzero = 0;
    for (unsigned try = 0; try < 8 && !reused; try++) {
        kstack_cache_drain();                   /* so kstack_alloc builds a stack */
        phys_addr_t dirty = page_alloc(0);
        ASSERT_NE(t, dirty, 0u);
        memset(phys_to_virt(dirty), 0xcc, PAGE_SIZE);
        page_free(dirty, 0);
        uintptr_t top = kstack_alloc();
        ASSERT_NE(t, top, 0u);
        for (uintptr_t va = top - KSTACK_SIZE; va < top; va += PAGE_SIZE) {
            phys_addr_t pa;
            ASSERT_TRUE(t, paging_lookup(kernel_pml4, va, &pa, NULL, NULL));
            if (pa == dirty)
                reused++;
            for (const uint64_t *w = (const uint64_t *)va; w < (const uint64_t *)(va + PAGE_SIZE); w++)
                if (*w)
                    nonzero++;
        }
        kstack_free(top);
    }
    EXPECT_EQ(t, reused, 1u);
    EXPECT_EQ(t, nonzero, 0u);
}

static void test_kstacks(struct ktest *t)
{
    enum { N = 8 };
    uintptr_t tops[N];
    for (unsigned i = 0; i < N; i++) {
        tops[i] = kstack_alloc();
        ASSERT_NE(t, tops[i], 0u);
        EXPECT_GE(t, tops[i], KVA_STACKS_BASE);
        EXPECT_LT(t, tops[i], KVA_IOREMAP_BASE);
        EXPECT_EQ(t, tops[i] % 16, 0u);
        /* All of it is usable, RW and NX; the page below is not mapped. */
        memset((void *)(tops[i] - KSTACK_SIZE), (int)i, KSTACK_SIZE);
        uint64_t flags;
        ASSERT_TRUE(t, paging_lookup(kernel_pml4, tops[i] - KSTACK_SIZE, NULL, &flags, NULL));
        EXPECT_TRUE(t, flags & PTE_W);
        if (cpu_features.nx)
            EXPECT_TRUE(t, flags & PTE_NX);
        EXPECT_FALSE(t, paging_lookup(kernel_pml4, tops[i] - KSTACK_SIZE - 1, NULL, NULL, NULL));
        for (unsigned j = 0; j < i; j++)
            if (tops[i] - KSTACK_SIZE - PAGE_SIZE < tops[j] && tops[j] - KSTACK_SIZE - PAGE_SIZE < tops[i])
                ktest_fail_at(t, __FILE__, __LINE__, "stacks %#lx and %#lx overlap", tops[i], tops[j]);
    }
    for (unsigned i = 0; i < N; i++)
        EXPECT_EQ(t, *(uint8_t *)(tops[i] - 1), i);
    /* A freed range is handed out again. */
    uintptr_t freed = tops[3];
    kstack_free(freed);
    tops[3] = kstack_alloc();
    EXPECT_EQ(t, tops[3], freed);
    for (unsigned i = 0; i < N; i++)
        kstack_free(tops[i]);
}

/*
 * Kernel-half page tables are never freed (arch/x86_64/mm/kva.c): every
 * 2 MiB of the stack region has its PT from boot on, unmapping the only
 * page of a PT leaves the PT hooked in, and paging_unmap() puts nothing on
 * a free list for a kernel address even when asked to.
 */
static void test_kernel_tables_stay(struct ktest *t)
{
    uintptr_t end = KVA_STACKS_BASE + (uintptr_t)KVA_STACK_SLOTS * KVA_STACK_SLOT;
    unsigned missing = 0;
    for (uintptr_t va = KVA_STACKS_BASE; va < end; va += LARGE_PAGE_SIZE)
        if (!paging_walk(kernel_pml4, va, false))
            missing++;
    EXPECT_EQ(t, missing, 0u);

    /* The guard area of the last slot: no stack page shares its PT. */
    uintptr_t va = end - KVA_STACK_SLOT;
    size_t frames = page_free_frames();
    phys_addr_t frame = page_alloc_zeroed(0);
    ASSERT_NE(t, frame, 0u);
    ASSERT_EQ(t, kernel_map_page(va, frame, PTE_KERNEL_RW), 0);
    EXPECT_EQ(t, page_free_frames(), frames - 1);       /* no table allocated */
    EXPECT_EQ(t, kernel_unmap_page(va), frame);
    EXPECT_TRUE(t, paging_walk(kernel_pml4, va, false) != NULL);

    struct pt_free_list freed = PT_FREE_LIST_INIT;
    uint64_t irq = spin_lock_irqsave(&kernel_pt_lock);
    EXPECT_EQ(t, paging_map(kernel_pml4, va, frame, PTE_KERNEL_RW), 0);
    EXPECT_EQ(t, paging_unmap(kernel_pml4, va, NULL, &freed), 0);
    spin_unlock_irqrestore(&kernel_pt_lock, irq);
    flush_tlb_kernel_range(va, va + PAGE_SIZE);
    EXPECT_EQ(t, freed.count, 0u);
    EXPECT_TRUE(t, paging_walk(kernel_pml4, va, false) != NULL);
    page_free(frame, 0);
    EXPECT_EQ(t, page_free_frames(), frames);
}

/* ---- ioremap ------------------------------------------------------------------- */

static void test_ioremap(struct ktest *t)
{
    if (!cpu_features.apic)
        KTEST_SKIP(t, "no local APIC to map");
    const phys_addr_t lapic = 0xfee00000;
    volatile uint32_t *regs = ioremap(lapic, PAGE_SIZE);
    ASSERT_TRUE(t, regs != NULL);
    EXPECT_GE(t, (uintptr_t)regs, KVA_IOREMAP_BASE);
    phys_addr_t pa;
    uint64_t flags;
    ASSERT_TRUE(t, paging_lookup(kernel_pml4, (uintptr_t)regs, &pa, &flags, NULL));
    EXPECT_EQ(t, pa, lapic);
    EXPECT_EQ(t, flags & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
    EXPECT_TRUE(t, flags & PTE_W);
    if (cpu_features.nx)
        EXPECT_TRUE(t, flags & PTE_NX);
    /* The version register (offset 0x30) of an integrated APIC reads 0x1X.
     * In x2APIC mode the MMIO window is switched off (reads give all ones):
     * then only the mapping itself is checked. */
    if (!lapic_x2apic_mode()) {
        uint32_t version = mmio_read32((const volatile uint8_t *)regs + 0x30);
        EXPECT_EQ(t, version & 0xf0, 0x10u);
    }
    /* The same range again: the same mapping; an offset inside it keeps the offset. */
    EXPECT_EQ(t, (uintptr_t)ioremap(lapic, 4), (uintptr_t)regs);
    EXPECT_EQ(t, (uintptr_t)ioremap(lapic + 0x30, 4), (uintptr_t)regs + 0x30);
}

static const struct ktest_case paging_cases[] = {
    KTEST_CASE(test_scratch_map_lookup_unmap),
    KTEST_CASE(test_scratch_many_tables),
    KTEST_CASE(test_kernel_tree_lookup),
    KTEST_CASE(test_fault_unmapped_read),
    KTEST_CASE(test_fault_write_readonly),
    KTEST_CASE(test_fault_exec_nx),
    KTEST_CASE(test_kernel_map_unmap),
    KTEST_CASE(test_kstack_fresh_pages_zeroed),
    KTEST_CASE(test_kstacks),
    KTEST_CASE(test_kernel_tables_stay),
    KTEST_CASE(test_ioremap),
    {0},
};
KTEST_SUITE(paging, paging_cases);
