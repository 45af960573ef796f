/*
 * kernel/page_alloc.h - physical page frames (the buddy allocator).
 *
 * Frames are named by physical address; reach their contents through the
 * direct map (phys_to_virt).  A block of order k is 2^k contiguous frames,
 * aligned to its size.  Physical address 0 is never handed out, so 0 means
 * failure.
 *
 * Every frame from 0 to the top of RAM has a `struct page` (16 bytes) in one
 * array, the frame table.  The allocator uses `flags`, `order` and the free
 * list links `next`/`prev` (meaningful only while the frame heads a free
 * block); `refcount`
 * is set to 1 when a block is allocated and to 0 when it is freed, and is
 * otherwise left to the users of a frame (copy-on-write counts the mappings
 * of a frame there).  See docs/memory.md.
 */
#pragma once
#include <arch/memlayout.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>

#define PAGE_ORDER_MAX 10       /* largest block: 2^10 frames = 4 MiB */

struct boot_info;

void page_alloc_init(const struct boot_info *bi);
/*
 * page_alloc_init() hands the allocator only RAM below 4 GiB, because the
 * early page tables map only that much in the direct map.  Once the kernel's
 * own page tables map all RAM, arch paging init calls this to add the rest.
 */
void page_alloc_add_high_memory(void);
/* One past the highest physical address of usable RAM (from the memory map). */
phys_addr_t page_ram_end(void);

phys_addr_t page_alloc(unsigned order);
phys_addr_t page_alloc_zeroed(unsigned order);
void page_free(phys_addr_t pa, unsigned order);
/* Frames currently free, over all orders. */
size_t page_free_frames(void);
/* Frames the allocator manages (free or allocated), fixed after boot. */
size_t page_managed_frames(void);
/* Free blocks of each order on the free lists (not counting the frames in
 * the per-CPU caches below), for statistics and tests. */
size_t page_free_blocks(unsigned order);
void page_alloc_print_stats(void);

/*
 * Per-CPU frame caches (kernel/mm/frame_cache.c): each CPU keeps up to
 * FRAME_CACHE_SIZE free order-0 frames, refilled from and given back to the
 * free lists FRAME_CACHE_BATCH at a time.  Cached frames are free and
 * counted by page_free_frames().  Boot option frame_cache=off disables them.
 */
#define FRAME_CACHE_SIZE 64
#define FRAME_CACHE_BATCH 16
/* Whether the caches are on (frame_cache=, default on). */
bool frame_cache_enabled(void);
/* Set up CPU n's cache, before that CPU's first allocation. */
void frame_cache_init_cpu(unsigned cpu);
/* Give every CPU's cached frames back to the free lists; returns how many. */
size_t frame_cache_drain_all(void);
/* Frames in CPU n's cache now (tests, statistics). */
unsigned frame_cache_count(unsigned cpu);

/* ---- the frame table ---------------------------------------------------- */

struct page {
    _Atomic uint32_t refcount;  /* 1 while allocated; users may count more */
    uint8_t order;              /* order of the block this frame heads */
    uint8_t flags;              /* PG_* below */
    uint16_t owner_data;        /* free for the owner of an allocated frame (0 at allocation);
                                 * a page table's: its lock (arch/x86_64/mm/pt_lock.c) */
    uint32_t next, prev;        /* free-list links (frame numbers), buddy_lock */
};

/*
 * Exactly one of RESERVED, FREE, CACHED, ALLOCATED is set on the first frame
 * of a block; the other frames of a block ("tails") have none of them.
 *   PG_RESERVED   never managed: below 1 MiB, the kernel image, boot info,
 *                 modules, the frame table itself, firmware ranges, holes
 *   PG_FREE       heads a free block of 2^order frames (on a free list)
 *   PG_CACHED     a free order-0 frame in a CPU's frame cache (never merged
 *                 while there)
 *   PG_ALLOCATED  heads an allocated block of 2^order frames
 * The owner of an allocated block may add:
 *   PG_SLAB       the frame belongs to a slab (kernel/mm/slab.c); set on
 *                 every frame of the slab, with `order` = the slab's order
 *   PG_LARGE_KMALLOC  heads a kmalloc block too big for the size classes
 *   PG_PAGETABLE  holds a page table (arch paging code)
 */
#define PG_RESERVED         0x01
#define PG_FREE             0x02
#define PG_ALLOCATED        0x04
#define PG_SLAB             0x08
#define PG_LARGE_KMALLOC    0x10
#define PG_PAGETABLE        0x20
#define PG_CACHED           0x40

extern struct page *frame_table;
extern size_t frame_table_len;      /* entries: frames 0 .. frame_table_len-1 */

/* The struct page of a physical address, or NULL if beyond the table. */
static inline struct page *pa_to_page(phys_addr_t pa)
{
    size_t pfn = pa >> PAGE_SHIFT;
    return pfn < frame_table_len ? &frame_table[pfn] : NULL;
}

static inline phys_addr_t page_to_pa(const struct page *pg)
{
    return (phys_addr_t)(pg - frame_table) << PAGE_SHIFT;
}

/*
 * The checks page_free() makes before freeing.  Returns NULL when freeing
 * [pa, order) is legal, or a description of the bug (double free, a frame
 * the allocator does not manage, not the start of a block, wrong order).
 * page_free() panics with that description; tests call this directly.
 */
const char *page_free_check(phys_addr_t pa, unsigned order);
