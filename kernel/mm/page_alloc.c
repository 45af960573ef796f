/*
 * kernel/mm/page_alloc.c - the buddy allocator for physical page frames.
 *
 * Free memory is kept as blocks of 2^order frames (order 0..PAGE_ORDER_MAX),
 * each aligned to its own size, on one free list per order.  Two blocks of
 * order k are "buddies" when their frame numbers differ only in bit k; when
 * both are free they merge into one block of order k+1.  Allocation takes
 * the smallest free block that is big enough and splits it, giving the
 * unused halves back to the lower free lists.
 *
 * All bookkeeping lives in the frame table (one struct page per frame, see
 * page_alloc.h): the head frame of each block says whether the block is free
 * or allocated and its order (that is how page_free() finds a buddy and
 * catches double frees), and the free lists are doubly linked through the
 * `next`/`prev` frame numbers of the free blocks' head frames.  Keeping the
 * links out of the free memory itself means the allocator never touches a
 * free page: booting with many GiB does not write to every free block (under
 * an emulator, that would make the host commit memory the guest never uses).
 *
 * What is never managed (frames stay PG_RESERVED): memory the firmware does
 * not report as available, everything below 1 MiB (the AP trampoline and
 * firmware data live there), the kernel image (including the .boot part),
 * the multiboot2 information, the boot modules, and the frame table itself.
 *
 * Single frames mostly do not come from here: each CPU keeps a small cache
 * of free order-0 frames in front of the free lists (frame_cache.c), and
 * page_alloc(0)/page_free(.., 0) go there first.
 *
 * Locking: buddy_lock protects the free lists, the counters, and the flags,
 * order and links of the frame-table entries of free blocks and of the heads
 * of allocated blocks.  It is taken with interrupts off, so interrupt
 * handlers may allocate.  Under it only the checker's frame locks and the
 * console's are taken (the whole order: docs/locking.md); a CPU's frame
 * cache lock may be held around it.
 * refcount is atomic and not covered by it.
 */
#include <kernel/page_alloc.h>
#include "buddy.h"
#include <kernel/bootinfo.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/spinlock.h>
#include <kernel/debug/tlbcheck.h>
#include <lib/string.h>
#include <kernel/sections.h>

struct page *frame_table;
size_t frame_table_len;

#define NO_PFN UINT32_MAX       /* end of a free list */

static DEFINE_SPINLOCK(buddy_lock, LOCK_RANK_BUDDY);
static uint32_t free_list[PAGE_ORDER_MAX + 1];     /* first pfn of each list, or NO_PFN */
static size_t free_blocks[PAGE_ORDER_MAX + 1];
static size_t free_frames;
static size_t managed_frames;
static phys_addr_t ram_end;

/* ---- physical ranges, used only while booting ----------------------------- */

#define MAX_RANGES 256

struct range {
    phys_addr_t start, end;     /* [start, end), page aligned */
};

/* Usable RAM after the exclusions.  The part at or above
 * EARLY_DIRECT_MAP_END is held back until page_alloc_add_high_memory(). */
static struct range usable[MAX_RANGES];
static unsigned usable_count;
static bool high_memory_added;

/* boot/multiboot2.asm maps this much in the direct map. */
#define EARLY_DIRECT_MAP_END (4ul << 30)

/* Exclusions grow outwards to whole pages. */
static void range_remove(phys_addr_t start, phys_addr_t end)
{
    start = ALIGN_DOWN(start, PAGE_SIZE);
    end = ALIGN_UP(end, PAGE_SIZE);
    if (start >= end)
        return;
    for (unsigned i = 0; i < usable_count; i++) {
        struct range *r = &usable[i];
        if (end <= r->start || start >= r->end)
            continue;
        if (start > r->start && end < r->end) {
            /* A hole in the middle: split in two. */
            if (usable_count == MAX_RANGES)
                panic("page_alloc: more than %d ranges of usable memory", MAX_RANGES);
            usable[usable_count++] = (struct range){ end, r->end };
            r->end = start;
        } else if (start <= r->start && end >= r->end) {
            r->start = r->end = 0;      /* swallowed whole */
        } else if (start <= r->start) {
            r->start = end;
        } else {
            r->end = start;
        }
    }
}

/* Available RAM shrinks inwards to whole pages. */
static void range_add(phys_addr_t start, phys_addr_t end)
{
    start = ALIGN_UP(start, PAGE_SIZE);
    end = ALIGN_DOWN(end, PAGE_SIZE);
    if (start >= end)
        return;
    if (usable_count == MAX_RANGES)
        panic("page_alloc: more than %d ranges of usable memory", MAX_RANGES);
    usable[usable_count++] = (struct range){ start, end };
}

/* ---- the free lists ------------------------------------------------------- */

static void list_push(unsigned order, size_t pfn)
{
    struct page *pg = &frame_table[pfn];
    uint32_t first = free_list[order];
    pg->next = first;
    pg->prev = NO_PFN;
    if (first != NO_PFN)
        frame_table[first].prev = (uint32_t)pfn;
    free_list[order] = (uint32_t)pfn;
    pg->flags = PG_FREE;
    pg->order = (uint8_t)order;
    free_blocks[order]++;
    free_frames += 1ul << order;
}

static void list_unlink(unsigned order, size_t pfn)
{
    struct page *pg = &frame_table[pfn];
    if (pg->prev != NO_PFN)
        frame_table[pg->prev].next = pg->next;
    else
        free_list[order] = pg->next;
    if (pg->next != NO_PFN)
        frame_table[pg->next].prev = pg->prev;
    pg->next = pg->prev = NO_PFN;
    pg->flags = 0;
    free_blocks[order]--;
    free_frames -= 1ul << order;
}

/* Free the block at pfn, merging it with its buddy for as long as the buddy
 * is a free block of the same order.  buddy_lock held. */
static void free_block_locked(size_t pfn, unsigned order)
{
    while (order < PAGE_ORDER_MAX) {
        size_t buddy = pfn ^ (1ul << order);
        if (buddy + (1ul << order) > frame_table_len)
            break;
        const struct page *bp = &frame_table[buddy];
        /* Only a free block's head has PG_FREE; a tail of a bigger free
         * block or a reserved frame never matches. */
        if (READ_ONCE(bp->flags) != PG_FREE || bp->order != order)
            break;
        list_unlink(order, buddy);
        pfn &= ~(1ul << order);         /* the merged block starts at the lower half */
        order++;
    }
    list_push(order, pfn);
}

/* Hand a range of frames to the allocator, in the largest aligned blocks. */
static void add_free_range(phys_addr_t start, phys_addr_t end)
{
    size_t pfn = start >> PAGE_SHIFT, last = end >> PAGE_SHIFT;
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    while (pfn < last) {
        unsigned order = 0;
        while (order < PAGE_ORDER_MAX && !(pfn & (1ul << order)) && pfn + (2ul << order) <= last)
            order++;
        for (size_t i = 0; i < (1ul << order); i++)
            frame_table[pfn + i].flags = 0;     /* no longer reserved */
        managed_frames += 1ul << order;
        free_block_locked(pfn, order);
        pfn += 1ul << order;
    }
    spin_unlock_irqrestore(&buddy_lock, flags);
}

/* ---- boot ------------------------------------------------------------------ */

static const char *mmap_type_name(uint32_t type)
{
    switch (type) {
    case MMAP_AVAILABLE: return "available";
    case MMAP_RESERVED: return "reserved";
    case MMAP_ACPI_RECLAIM: return "ACPI reclaimable";
    case MMAP_ACPI_NVS: return "ACPI NVS";
    case MMAP_BAD: return "bad";
    default: return "unknown";
    }
}

/* Take `bytes` (page aligned) from the first usable range that has room
 * and ends below `limit`. */
static phys_addr_t steal_boot_memory(size_t bytes, phys_addr_t limit)
{
    for (unsigned i = 0; i < usable_count; i++) {
        struct range *r = &usable[i];
        if (r->start < r->end && r->end - r->start >= bytes && r->start + bytes <= limit) {
            phys_addr_t pa = r->start;
            r->start += bytes;
            return pa;
        }
    }
    return 0;
}

void page_alloc_init(const struct boot_info *bi)
{
    for (unsigned i = 0; i <= PAGE_ORDER_MAX; i++)
        free_list[i] = NO_PFN;

    /* 1. Available RAM, as the firmware reports it. */
    for (unsigned i = 0; i < bi->mmap_count; i++) {
        const struct boot_mmap_entry *e = &bi->mmap[i];
        printk("mem: 0x%012lx-0x%012lx %s\n", e->base, e->base + e->length - 1, mmap_type_name(e->type));
        if (e->type == MMAP_AVAILABLE) {
            range_add(e->base, e->base + e->length);
            ram_end = MAX(ram_end, ALIGN_DOWN(e->base + e->length, PAGE_SIZE));
        }
    }
    /* 2. Minus whatever firmware marks otherwise (overlapping entries exist
     *    on real machines: the reserved claim wins). */
    for (unsigned i = 0; i < bi->mmap_count; i++)
        if (bi->mmap[i].type != MMAP_AVAILABLE)
            range_remove(bi->mmap[i].base, bi->mmap[i].base + bi->mmap[i].length);
    /* 3. Minus what the kernel must keep. */
    range_remove(0, 1ul << 20);
    range_remove((phys_addr_t)(uintptr_t)__kernel_phys_start, (phys_addr_t)(uintptr_t)__kernel_phys_end);
    range_remove(bi->info_start, bi->info_end);
    for (unsigned i = 0; i < bi->module_count; i++)
        range_remove(bi->modules[i].start, bi->modules[i].end);

    /* 4. The frame table: one struct page per frame up to the end of RAM.
     *    It must lie below 4 GiB, where the early direct map reaches. */
    frame_table_len = ram_end >> PAGE_SHIFT;
    if (frame_table_len >= NO_PFN)
        panic("page_alloc: %lu GiB of RAM is more than 32-bit frame numbers reach", ram_end >> 30);
    size_t table_bytes = ALIGN_UP(frame_table_len * sizeof(struct page), PAGE_SIZE);
    phys_addr_t table_pa = steal_boot_memory(table_bytes, EARLY_DIRECT_MAP_END);
    if (!table_pa)
        panic("page_alloc: no room below 4 GiB for the frame table (%zu KiB for %zu frames)",
              table_bytes >> 10, frame_table_len);
    frame_table = phys_to_virt(table_pa);
    for (size_t i = 0; i < frame_table_len; i++)
        frame_table[i] = (struct page){ .flags = PG_RESERVED, .next = NO_PFN, .prev = NO_PFN };

    /* 5. Give the allocator everything below 4 GiB now. */
    size_t held_back = 0;
    for (unsigned i = 0; i < usable_count; i++) {
        struct range *r = &usable[i];
        if (r->start >= r->end)
            continue;
        if (r->start < EARLY_DIRECT_MAP_END)
            add_free_range(r->start, MIN(r->end, EARLY_DIRECT_MAP_END));
        if (r->end > EARLY_DIRECT_MAP_END)
            held_back += (r->end - MAX(r->start, EARLY_DIRECT_MAP_END)) >> PAGE_SHIFT;
    }
    printk("mem: frame table %zu KiB at %#lx; %zu MiB free below 4 GiB, %zu MiB above 4 GiB\n",
           table_bytes >> 10, table_pa, free_frames >> 8, held_back >> 8);
    /* The boot CPU's per-CPU area is in place (percpu_init_bsp); the other
     * CPUs' caches are set up with their areas (percpu_alloc). */
    frame_cache_init_cpu(0);
}

void page_alloc_add_high_memory(void)
{
    BUG_ON(high_memory_added);
    high_memory_added = true;
    for (unsigned i = 0; i < usable_count; i++) {
        struct range *r = &usable[i];
        if (r->start < r->end && r->end > EARLY_DIRECT_MAP_END)
            add_free_range(MAX(r->start, EARLY_DIRECT_MAP_END), r->end);
    }
    printk("mem: %zu MiB managed, %zu MiB free\n", managed_frames >> 8, free_frames >> 8);
}

phys_addr_t page_ram_end(void)
{
    return ram_end;
}

/* ---- allocation and freeing ------------------------------------------------ */

/* buddy_lock held: the first frame of a block of 2^order frames taken off
 * the free lists, or NO_PFN.  Flags of its head left 0. */
static uint32_t take_block_locked(unsigned order)
{
    unsigned k = order;
    while (k <= PAGE_ORDER_MAX && free_list[k] == NO_PFN)
        k++;
    if (k > PAGE_ORDER_MAX)
        return NO_PFN;
    size_t pfn = free_list[k];
    list_unlink(k, pfn);
    /* Split: keep the lower half, give back the upper half, until small enough. */
    while (k > order) {
        k--;
        list_push(k, pfn + (1ul << k));
    }
    return (uint32_t)pfn;
}

static phys_addr_t alloc_from_lists(unsigned order)
{
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    uint32_t pfn = take_block_locked(order);
    if (pfn == NO_PFN) {
        spin_unlock_irqrestore(&buddy_lock, flags);
        return 0;
    }
    struct page *pg = &frame_table[pfn];
    pg->flags = PG_ALLOCATED;
    pg->order = (uint8_t)order;
    spin_unlock_irqrestore(&buddy_lock, flags);
    atomic_store_explicit(&pg->refcount, 1, memory_order_relaxed);
    return (phys_addr_t)pfn << PAGE_SHIFT;
}

phys_addr_t page_alloc(unsigned order)
{
    if (order > PAGE_ORDER_MAX)
        return 0;
    phys_addr_t pa = order == 0 ? frame_cache_alloc() : 0;
    if (!pa)
        pa = alloc_from_lists(order);
    /* Out of memory on the free lists: the CPUs' caches may still hold free
     * frames (and, merged back, bigger blocks).  Take them back and try once
     * more, so an allocation fails only when memory is really gone. */
    if (!pa && frame_cache_drain_all())
        pa = alloc_from_lists(order);
    return pa;
}

uint64_t buddy_lock_irqsave(void)
{
    return spin_lock_irqsave(&buddy_lock);
}

void buddy_unlock_irqrestore(uint64_t flags)
{
    spin_unlock_irqrestore(&buddy_lock, flags);
}

uint32_t buddy_take_frame_locked(void)
{
    return take_block_locked(0);
}

void buddy_give_frame_locked(uint32_t pfn)
{
    free_block_locked(pfn, 0);
}

phys_addr_t page_alloc_zeroed(unsigned order)
{
    phys_addr_t pa = page_alloc(order);
    if (pa)
        memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
    return pa;
}

const char *page_block_check(phys_addr_t pa, unsigned order, uint8_t flags)
{
    if (pa & (PAGE_SIZE - 1))
        return "address is not page aligned";
    if (order > PAGE_ORDER_MAX)
        return "order is larger than PAGE_ORDER_MAX";
    struct page *pg = pa_to_page(pa);
    if (!pg)
        return "address is beyond the end of RAM";
    if (flags & PG_RESERVED)
        return "frame is not managed by the allocator (reserved)";
    if (flags & (PG_FREE | PG_CACHED))
        return "double free: the block is already free";
    if (!(flags & PG_ALLOCATED))
        return "not the start of an allocated block (already freed, or inside a block)";
    if (pg->order != order)
        return "freed with another order than it was allocated with";
    return NULL;
}

static uint8_t head_flags(phys_addr_t pa)
{
    struct page *pg = pa_to_page(pa);
    return pg ? READ_ONCE(pg->flags) : 0;
}

const char *page_free_check(phys_addr_t pa, unsigned order)
{
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    const char *err = page_block_check(pa, order, head_flags(pa));
    spin_unlock_irqrestore(&buddy_lock, flags);
    return err;
}

void page_free_bug(phys_addr_t pa, unsigned order, const char *err, void *caller)
{
    struct page *pg = pa_to_page(pa);
    panic("page_free(%#lx, order %u) from %p: %s (frame flags %#x, order %u)", pa, order,
          caller, err, pg ? pg->flags : 0, pg ? pg->order : 0);
}

void page_free(phys_addr_t pa, unsigned order)
{
    if (order == 0 && frame_cache_free(pa, __builtin_return_address(0)))
        return;
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    const char *err = page_block_check(pa, order, head_flags(pa));
    if (err) {
        spin_unlock_irqrestore(&buddy_lock, flags);
        page_free_bug(pa, order, err, __builtin_return_address(0));
    }
    /* No CPU may still translate to these frames (the shadow-TLB checker's
     * frame-lifetime rule; its frame locks rank below buddy_lock). */
    tlbcheck_frame_free(pa, order);
    /* Owners may have marked every frame of the block (PG_SLAB): clear the
     * marks so the frames read as plain tails of a free block. */
    struct page *pg = &frame_table[pa >> PAGE_SHIFT];
    for (size_t i = 0; i < (1ul << order); i++) {
        pg[i].flags = 0;
        pg[i].owner_data = 0;
    }
    atomic_store_explicit(&pg->refcount, 0, memory_order_relaxed);
    free_block_locked(pa >> PAGE_SHIFT, order);
    spin_unlock_irqrestore(&buddy_lock, flags);
}

/* ---- statistics -------------------------------------------------------------- */

size_t page_free_frames(void)
{
    /* Refills and drains move frames between the lists and the caches under
     * buddy_lock: under it, each free frame is counted exactly once. */
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    size_t n = free_frames + frame_cache_frames_locked();
    spin_unlock_irqrestore(&buddy_lock, flags);
    return n;
}

size_t page_managed_frames(void)
{
    return READ_ONCE(managed_frames);
}

size_t page_free_blocks(unsigned order)
{
    return order <= PAGE_ORDER_MAX ? READ_ONCE(free_blocks[order]) : 0;
}

void page_alloc_print_stats(void)
{
    size_t counts[PAGE_ORDER_MAX + 1], total, cached;
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    memcpy(counts, free_blocks, sizeof(counts));
    cached = frame_cache_frames_locked();
    total = free_frames + cached;
    spin_unlock_irqrestore(&buddy_lock, flags);
    printk("page_alloc: %zu of %zu frames free (%zu of %zu MiB), %zu of them in per-CPU caches; "
           "free blocks per order:\n", total, managed_frames, total >> 8, managed_frames >> 8, cached);
    for (unsigned o = 0; o <= PAGE_ORDER_MAX; o++)
        printk("  order %2u (%5lu KiB): %zu\n", o, (PAGE_SIZE << o) >> 10, counts[o]);
}
