/*
 * arch/x86_64/mm/ioremap.c - mapping device registers uncached.
 *
 * Device registers must be neither cached nor write-combined: a read has to
 * reach the device every time, and writes have to arrive in program order.
 * PCD|PWT select PAT entry 3, which is UC in the reset PAT that Shootdown
 * keeps.
 *
 * The window (arch/kva.h) is handed out upwards, page by page, and never
 * reused: devices stay mapped for the whole boot.  A request that lies
 * inside an earlier mapping gets that mapping again (every CPU asks for its
 * local APIC, which sits at the same physical address).  kva_init() (kva.c)
 * builds the page tables for the first 2 MiB of the window at boot, so the
 * first 512 pages of device mappings never allocate memory.
 *
 * ioremap_lock protects next_va and the table of earlier mappings; the page
 * tables themselves are protected by kernel_pt_lock (taken inside, by
 * kernel_map_page; docs/locking.md).
 */
#include <arch/mmio.h>
#include <arch/kva.h>
#include <arch/paging.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/spinlock.h>

struct ioremap_area {
    phys_addr_t pa;     /* page aligned */
    size_t size;        /* page multiple */
    uintptr_t va;
};

#define IOREMAP_AREAS_MAX 64

static DEFINE_SPINLOCK(ioremap_lock, LOCK_RANK_IOREMAP);
static uintptr_t next_va = KVA_IOREMAP_BASE;
static struct ioremap_area areas[IOREMAP_AREAS_MAX];
static unsigned area_count;

void *ioremap(phys_addr_t pa, size_t size)
{
    if (!paging_initialized())
        panic("ioremap(%#lx) before paging_init()", pa);
    if (!size)
        size = 1;
    phys_addr_t first = ALIGN_DOWN(pa, PAGE_SIZE);
    size_t len = ALIGN_UP(pa + size, PAGE_SIZE) - first;

    uint64_t irq = spin_lock_irqsave(&ioremap_lock);
    for (unsigned i = 0; i < area_count; i++) {
        struct ioremap_area *a = &areas[i];
        if (first >= a->pa && first + len <= a->pa + a->size) {
            spin_unlock_irqrestore(&ioremap_lock, irq);
            return (void *)(a->va + (pa - a->pa));
        }
    }
    if (next_va + len > KVA_IOREMAP_BASE + KVA_IOREMAP_SIZE) {
        spin_unlock_irqrestore(&ioremap_lock, irq);
        printk("ioremap(%#lx, %zu): the window is full\n", pa, size);
        return NULL;
    }
    uintptr_t va = next_va;
    for (size_t off = 0; off < len; off += PAGE_SIZE) {
        int err = kernel_map_page(va + off, first + off, PTE_KERNEL_RW | PTE_UNCACHED);
        if (err) {
            /* Only the tables beyond the first 2 MiB can run out; what was
             * mapped stays (the window is never reused anyway). */
            next_va = va + off + PAGE_SIZE;
            spin_unlock_irqrestore(&ioremap_lock, irq);
            printk("ioremap(%#lx, %zu): mapping failed (%d)\n", pa, size, err);
            return NULL;
        }
    }
    next_va = va + len;
    if (area_count < IOREMAP_AREAS_MAX)
        areas[area_count++] = (struct ioremap_area){ first, len, va };
    spin_unlock_irqrestore(&ioremap_lock, irq);
    return (void *)(va + (pa - first));
}
