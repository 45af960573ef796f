/*
 * arch/x86_64/mm/kernel_map.c - the kernel's own page tables.
 *
 * paging_init() replaces the early tables of boot/multiboot2.asm with:
 *
 *   PML4[256..511]  a PDPT each, allocated now and never freed (the shared
 *                   kernel half, see arch/paging.h), among them:
 *   direct map      DIRECT_MAP_BASE + pa for every pa in [0, top): 1 GiB
 *                   pages where the CPU has them, else 2 MiB pages; RW, NX,
 *                   global.  top = the end of RAM rounded up to the page
 *                   size, and at least 4 GiB, so that firmware tables and
 *                   device ranges below 4 GiB that code reads through
 *                   phys_to_virt() stay reachable (the firmware's MTRRs keep
 *                   device ranges uncached, whatever this mapping says).
 *   kernel image    KERNEL_VMA + pa, 4 KiB pages, by section:
 *                     .boot (early stack, now-dead 32-bit code)  RW NX
 *                     .text                                        R X
 *                     .rodata                                      R NX
 *                     .data, .bss                                  RW NX
 *   ioremap window  the tables for its first 2 MiB, made now so that
 *                   ioremap() never needs memory (ioremap.c)
 *
 * and no identity map: after the switch, low virtual addresses fault.
 * kernel_pml4 itself is in .bss, i.e. physically just above 2 MiB, because
 * the AP trampoline loads CR3 while still in 32-bit mode.
 */
#include <arch/paging.h>
#include <arch/x86/cpufeatures.h>
#include <arch/x86/x86.h>
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/spinlock.h>
#include <arch/kva.h>
#include <kernel/mm.h>
#include <kernel/sections.h>

pte_t kernel_pml4[PTES_PER_TABLE] __aligned(PAGE_SIZE);
DEFINE_SPINLOCK(kernel_pt_lock, LOCK_RANK_KERNEL_PT);

static bool paging_ready;

static pte_t *alloc_table_or_panic(const char *what)
{
    phys_addr_t pa = page_alloc_zeroed(0);
    if (!pa)
        panic("paging_init: out of memory for %s", what);
    pa_to_page(pa)->flags |= PG_PAGETABLE;
    return phys_to_virt(pa);
}

static void map_direct(phys_addr_t top)
{
    pte_t leaf = (PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX) & pte_supported_mask;
    for (phys_addr_t pa = 0; pa < top; pa += HUGE_PAGE_SIZE) {
        uintptr_t va = DIRECT_MAP_BASE + pa;
        pte_t *pdpt = phys_to_virt(kernel_pml4[PML4_INDEX(va)] & PTE_ADDR);
        if (cpu_features.page1g) {
            pdpt[PDPT_INDEX(va)] = pa | leaf;
            continue;
        }
        pte_t *pd = alloc_table_or_panic("the direct map");
        for (unsigned i = 0; i < PTES_PER_TABLE && pa + i * LARGE_PAGE_SIZE < top; i++)
            pd[i] = (pa + i * LARGE_PAGE_SIZE) | leaf;
        pdpt[PDPT_INDEX(va)] = virt_to_phys(pd) | PTE_P | PTE_W;
    }
}

static void map_image_range(const void *start, const void *end, uint64_t flags)
{
    for (uintptr_t va = (uintptr_t)start; va < (uintptr_t)end; va += PAGE_SIZE) {
        int err = paging_map(kernel_pml4, va, va - KERNEL_VMA, flags);
        if (err)
            panic("paging_init: mapping the kernel image at %#lx failed (%d)", va, err);
    }
}

phys_addr_t arch_loaded_pgd(void)
{
    return read_cr3() & ~0xffful;
}

void paging_init(void)
{
    if (cpu_features.nx)
        pte_supported_mask |= PTE_NX;
    if (cpu_features.pge)
        pte_supported_mask |= PTE_G;

    /* The shared kernel half: every PDPT now, once. */
    for (unsigned i = PML4_KERNEL_FIRST; i < PTES_PER_TABLE; i++)
        kernel_pml4[i] = virt_to_phys(alloc_table_or_panic("the kernel PDPTs")) | PTE_P | PTE_W;

    /* Direct map: round the top up to the leaf size we use. */
    phys_addr_t top = MAX(page_ram_end(), 4ul << 30);
    top = ALIGN_UP(top, cpu_features.page1g ? HUGE_PAGE_SIZE : LARGE_PAGE_SIZE);
    if (top > DIRECT_MAP_SIZE)
        panic("paging_init: %lu GiB of RAM is more than the direct map holds", top >> 30);
    map_direct(top);

    /* The image, W^X.  .boot is everything from the image start to .text. */
    const char *image_start = (const char *)(KERNEL_VMA + (uintptr_t)__kernel_phys_start);
    map_image_range(image_start, __text_start, PTE_KERNEL_RW);
    map_image_range(__text_start, __text_end, PTE_KERNEL_RX);
    map_image_range(__rodata_start, __rodata_end, PTE_KERNEL_RO);
    map_image_range(__data_start, __data_end, PTE_KERNEL_RW);
    map_image_range(__bss_start, __bss_end, PTE_KERNEL_RW);

    kva_init();

    /* The switch.  Every address the kernel uses (image, stack, direct map)
     * has the same translation before and after; only the identity map
     * disappears.  The early tables had no global entries, so this CR3
     * write flushes all of them. */
    tlb_write_cr3(&init_mm, 0, false);
    paging_ready = true;
    printk("paging: kernel page tables at %#lx; direct map of %lu MiB with %s pages%s%s\n",
           kernel_cr3(), top >> 20, cpu_features.page1g ? "1 GiB" : "2 MiB",
           cpu_features.nx ? ", NX" : ", no NX (W^X of the image cannot be enforced)",
           cpu_features.pge ? ", global" : "");

    /* PCID / INVPCID as the CPU and the command line allow (needs the
     * kernel's page tables loaded: CR4.PCIDE wants CR3[11:0] == 0). */
    tlb_init();

    page_alloc_add_high_memory();
}

bool paging_initialized(void)
{
    return paging_ready;
}

/* ---- kernel-tree helpers --------------------------------------------------- */

int kernel_map_page(uintptr_t va, phys_addr_t pa, uint64_t flags)
{
    BUG_ON(va < DIRECT_MAP_BASE);
    uint64_t irq = spin_lock_irqsave(&kernel_pt_lock);
    int err = paging_map(kernel_pml4, va, pa, flags);
    spin_unlock_irqrestore(&kernel_pt_lock, irq);
    /* not-present -> present needs no flush: the TLB caches no
     * translation for a page that was not present, and no CPU's
     * paging-structure caches can hold a walk through a table that was
     * replaced, since kernel-half tables are never freed (kva.c). */
    return err;
}

phys_addr_t kernel_unmap_page(uintptr_t va)
{
    BUG_ON(va < DIRECT_MAP_BASE);
    pte_t old = 0;
    uint64_t irq = spin_lock_irqsave(&kernel_pt_lock);
    int err = paging_unmap(kernel_pml4, va, &old, NULL);
    spin_unlock_irqrestore(&kernel_pt_lock, irq);
    if (err)
        return 0;
    flush_tlb_kernel_range(va, va + PAGE_SIZE);
    return old & PTE_ADDR;
}

int kernel_protect_page(uintptr_t va, uint64_t flags)
{
    uint64_t irq = spin_lock_irqsave(&kernel_pt_lock);
    int err = paging_protect(kernel_pml4, va, flags, NULL);
    spin_unlock_irqrestore(&kernel_pt_lock, irq);
    if (!err)
        flush_tlb_kernel_range(va, va + PAGE_SIZE);
    return err;
}

int kernel_map_data_page(uintptr_t va, phys_addr_t pa)
{
    return kernel_map_page(va, pa, PTE_KERNEL_RW);
}

int kernel_clear_pages(uintptr_t va, unsigned n, phys_addr_t *frames)
{
    BUG_ON(va < DIRECT_MAP_BASE);
    int err = 0;
    uint64_t irq = spin_lock_irqsave(&kernel_pt_lock);
    for (unsigned i = 0; i < n && !err; i++) {
        pte_t old = 0;
        err = paging_unmap(kernel_pml4, va + i * PAGE_SIZE, &old, NULL);
        frames[i] = old & PTE_ADDR;
    }
    spin_unlock_irqrestore(&kernel_pt_lock, irq);
    return err;
}
