/*
 * arch/paging.h - x86-64 4-level page tables.
 *
 * A page-table tree is named by its top level (the PML4), as a pointer in the
 * direct map.  The functions below work on ANY tree: the kernel's own
 * (kernel_pml4) or a user address space's.  They map, unmap, change and look
 * up single 4 KiB pages; intermediate tables (PDPT, PD, PT) are allocated on
 * demand by paging_map() and freed by paging_unmap() when they become empty.
 *
 * What the API does NOT do:
 *   - lock: the caller holds the lock that protects the tree (an mm's
 *     page-table lock; kernel_pt_lock for the kernel virtual area);
 *   - flush TLBs: only the caller knows which CPUs may cache the old entry.
 *     Unmapping in the user half returns the tables it emptied on a
 *     pt_free_list instead of freeing them, because a CPU may still walk a
 *     table until it has flushed (paging-structure caches).  The caller
 *     flushes (every CPU that may use the tree) and only then calls
 *     pt_free_list_release().  Kernel-half tables are never freed.
 *   - split large pages: the direct map's 2 MiB / 1 GiB pages are not
 *     changed through this API (map/unmap/protect inside them fail).
 *
 * Kernel half: PML4 entries 256..511 point to PDPTs allocated once at boot
 * and never freed, so every address space can copy these 256 entries when it
 * is created and stays in sync for ever after (changes happen below the
 * PDPT level, in tables all trees share).
 */
#pragma once
#include <arch/memlayout.h>
#include <stdbool.h>
#include <stddef.h>
#include <kernel/debug/counters.h>

typedef uint64_t pte_t;

/* Entry bits (Intel SDM vol. 3, 4.5). */
#define PTE_P       (1ul << 0)      /* present */
#define PTE_W       (1ul << 1)      /* writable */
#define PTE_U       (1ul << 2)      /* user accessible */
#define PTE_PWT     (1ul << 3)      /* write-through */
#define PTE_PCD     (1ul << 4)      /* cache disable */
#define PTE_A       (1ul << 5)      /* accessed (set by the CPU) */
#define PTE_D       (1ul << 6)      /* dirty (set by the CPU, leaf only) */
#define PTE_PS      (1ul << 7)      /* large page, in a PDPTE (1 GiB) or PDE (2 MiB) */
#define PTE_G       (1ul << 8)      /* global: survives CR3 writes (needs CR4.PGE) */
#define PTE_NX      (1ul << 63)     /* no execute (needs EFER.NXE) */
#define PTE_ADDR    0x000ffffffffff000ul    /* physical address of a 4 KiB page or table */
#define PTE_FLAGS   (~PTE_ADDR)

/* Uncached, for device registers (PAT entry 3 = UC with the reset PAT). */
#define PTE_UNCACHED (PTE_PCD | PTE_PWT)

/* Handy combinations for kernel mappings (G is dropped where PGE is absent). */
#define PTE_KERNEL_RW   (PTE_P | PTE_W | PTE_G | PTE_NX)
#define PTE_KERNEL_RO   (PTE_P | PTE_G | PTE_NX)
#define PTE_KERNEL_RX   (PTE_P | PTE_G)

#define PML4_INDEX(va)  (((uintptr_t)(va) >> 39) & 511)
#define PDPT_INDEX(va)  (((uintptr_t)(va) >> 30) & 511)
#define PD_INDEX(va)    (((uintptr_t)(va) >> 21) & 511)
#define PT_INDEX(va)    (((uintptr_t)(va) >> 12) & 511)
#define PTES_PER_TABLE  512
#define PML4_KERNEL_FIRST 256       /* entries 256..511: the shared kernel half */

/* Error codes: the negated errno values, so callers may pass them on. */
#define PT_ENOENT   (-2)            /* nothing mapped there */
#define PT_ENOMEM   (-12)           /* no memory for an intermediate table */
#define PT_EEXIST   (-17)           /* already mapped */
#define PT_EINVAL   (-22)           /* bad address or flags, or inside a large page */

/* Tables emptied by paging_unmap(), waiting for the TLB flush.  Linked
 * through the tables themselves (the first word), so no allocation.  Start
 * with PT_FREE_LIST_INIT. */
struct pt_free_list {
    pte_t *head;
    unsigned count;
};
#define PT_FREE_LIST_INIT { NULL, 0 }

/* The kernel's tree (in the kernel image, so physically below 4 GiB: the AP
 * trampoline loads it into CR3 while still in 32-bit mode). */
extern pte_t kernel_pml4[PTES_PER_TABLE];
static inline phys_addr_t kernel_cr3(void) { return virt_to_phys(kernel_pml4); }

/*
 * Map the 4 KiB page at va to pa with `flags` (PTE_P is implied; PTE_NX and
 * PTE_G are dropped on CPUs without NX / PGE).  Intermediate tables are
 * allocated as needed, with P|W (and U when va is in the user half) so that
 * the leaf alone decides the access rights.
 * Returns 0, PT_EEXIST (something is mapped there), PT_ENOMEM, PT_EINVAL.
 */
int paging_map(pte_t *pml4, uintptr_t va, phys_addr_t pa, uint64_t flags);

/*
 * Unmap the 4 KiB page at va.  Stores the old entry in *old (may be NULL;
 * PTE_ADDR of it is the frame, which the caller still owns).  If `freed` is
 * not NULL and va is in the user half, tables left empty are unhooked and
 * put on it (never the PML4); with NULL, empty tables stay.  Kernel-half
 * tables are never unhooked (arch/x86_64/mm/kva.c says why).
 * Returns 0, PT_ENOENT (not mapped), PT_EINVAL (inside a large page).
 */
int paging_unmap(pte_t *pml4, uintptr_t va, pte_t *old, struct pt_free_list *freed);

/* A page table's lock, held (arch/x86_64/mm/pt_lock.c, docs/locking.md
 * "Page-table locks"): where its word is and the interrupt state to
 * restore.  Generic code takes it through arch_pte_lock (arch/pte.h). */
struct pte_lock {
    uint16_t *word;
    uint64_t flags;
};
/* Lock the table that holds *entry (interrupts off until the unlock:
 * arch_pte_unlock). */
void pt_lock_entry_table(const pte_t *entry, struct pte_lock *l);

/* Give the tables on the list back to the page allocator.  Only after every
 * CPU that may have walked them has flushed its TLB. */
void pt_free_list_release(struct pt_free_list *freed);

/*
 * Replace the flags of the mapped 4 KiB page at va (the frame stays).
 * Stores the old entry in *old (may be NULL).  Returns 0, PT_ENOENT,
 * PT_EINVAL.  The caller flushes (reducing rights always needs a flush).
 */
int paging_protect(pte_t *pml4, uintptr_t va, uint64_t flags, pte_t *old);

/*
 * Look up va: true if mapped, with *pa the physical address of va itself
 * (page offset included) and *flags the leaf entry's flags (PTE_PS set when
 * the leaf is a large page; *size receives its size).  Any out-pointer may be
 * NULL.  Lock-free readers (tests, debugging) see a consistent single entry.
 */
bool paging_lookup(pte_t *pml4, uintptr_t va, phys_addr_t *pa, uint64_t *flags, size_t *size);

/*
 * The leaf entry for a 4 KiB page, for code that edits entries in place
 * (fork's copy-on-write).  With `alloc`, missing intermediate tables are
 * allocated (NULL on out of memory); without, NULL if any level is missing.
 * NULL too if va lies inside a large page.
 */
pte_t *paging_walk(pte_t *pml4, uintptr_t va, bool alloc);

/*
 * The first page address in [va, end) whose 4 KiB entry may be present,
 * skipping every range whose page table (or a table above it) is missing;
 * `end` if there is none.  va page aligned.  So walking a region costs what
 * is mapped in it, not its size (fork, munmap, mprotect, teardown).  A large
 * page's address is returned as is (the callers find no 4 KiB leaf there).
 */
uintptr_t paging_next_present(pte_t *pml4, uintptr_t va, uintptr_t end);

/* A new, empty top-level table whose kernel half is the kernel's (for a new
 * address space), and its release (the tree below the user half must already
 * be empty).  0 on out of memory. */
pte_t *paging_new_pml4(void);
void paging_free_pml4(pte_t *pml4);

/* Flags the CPU supports, ANDed into every entry this API writes. */
extern uint64_t pte_supported_mask;

/* TLB flushing on THIS CPU: arch/tlbflush.h.  Reaching every CPU is the
 * job of flush_tlb_kernel_range() (below) and, for user address spaces,
 * flush_tlb_mm_range() (kernel/mm.h). */
#include <arch/tlbflush.h>

/*
 * Make a change to kernel-half mappings in [start, end) visible: after it
 * returns, no CPU uses an old translation of the range - every online CPU has
 * flushed it, idle ones included (arch/x86_64/mm/tlb_kernel.c).  Kernel
 * mappings are global, so a CR3 switch does not drop them: without this, a
 * CPU that once ran on a freed kernel stack could keep writing through its
 * stale translation into whatever the frames became.
 */
void flush_tlb_kernel_range(uintptr_t start, uintptr_t end);
/* The same when kernel page-table pages were unhooked too and are freed
 * after it returns: with PCID every CPU does the global full flush, since
 * INVLPG drops paging-structure caches of the current PCID only and a CPU
 * may have walked the freed table under another one. */
void flush_tlb_kernel_range_freed(uintptr_t start, uintptr_t end, bool freed_tables);

/* Boot: build the kernel's page tables, switch CR3 to them, and hand the
 * RAM above 4 GiB to the page allocator.  After page_alloc_init(). */
void paging_init(void);
/* The physical address of the page-table root this CPU has loaded (x86-64:
 * CR3 without its PCID bits).  init_mm_setup() takes the kernel's from it. */
phys_addr_t arch_loaded_pgd(void);

/* The lock for the kernel tree below the shared PDPTs (the kernel virtual
 * area: stacks, ioremap).  The direct map and the image mapping never change
 * after paging_init(). */
struct spinlock;
extern struct spinlock kernel_pt_lock;

/* Kernel-tree helpers that take kernel_pt_lock and flush (kernel_map.c).
 * kernel_unmap_page returns the frame that was mapped (0 if none), after
 * the flush: only then may the caller free it.  Tables stay (kva.c). */
int kernel_map_page(uintptr_t va, phys_addr_t pa, uint64_t flags);
phys_addr_t kernel_unmap_page(uintptr_t va);
int kernel_protect_page(uintptr_t va, uint64_t flags);
/* For generic code (kernel/mm/kstack.c), which names no entry bits: map a
 * page of kernel data (read-write, no-execute, global); and clear the
 * entries of n pages from va WITHOUT flushing, storing the frames they
 * mapped - the caller flushes (flush_tlb_kernel_range) before it frees
 * them.  0, or the paging error of the first page that was not mapped
 * (the pages before it are cleared). */
int kernel_map_data_page(uintptr_t va, phys_addr_t pa);
int kernel_clear_pages(uintptr_t va, unsigned n, phys_addr_t *frames);
