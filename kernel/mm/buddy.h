/*
 * kernel/mm/buddy.h - the buddy allocator's locked operations, for the
 * per-CPU frame caches (frame_cache.c).  Not for use outside kernel/mm/.
 *
 * page_alloc.c owns the free lists and buddy_lock; frame_cache.c moves
 * order-0 frames between the free lists and a CPU's cache in batches, under
 * buddy_lock, so that page_free_frames() (which sums both under the same
 * lock) never sees a frame twice or not at all.
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/page_alloc.h>
#include <stdbool.h>

uint64_t buddy_lock_irqsave(void);
void buddy_unlock_irqrestore(uint64_t flags);

/* buddy_lock held: the frame number of one order-0 frame taken from the free
 * lists (splitting a bigger block if needed), or UINT32_MAX when none is
 * left.  Its head's flags are left 0: the caller marks it. */
uint32_t buddy_take_frame_locked(void);
/* buddy_lock held: give one order-0 frame (flags already 0) back to the free
 * lists, merging it with its buddies. */
void buddy_give_frame_locked(uint32_t pfn);

/*
 * The checks page_free() makes (see page_free_check), on a snapshot `flags`
 * of the head frame's flags, so a caller that then changes the flags with a
 * compare-and-swap knows exactly which state it judged.  NULL when legal.
 */
const char *page_block_check(phys_addr_t pa, unsigned order, uint8_t flags);
/* page_free() found a bad free: panic naming it (never returns). */
__noreturn void page_free_bug(phys_addr_t pa, unsigned order, const char *err, void *caller);

/* ---- the per-CPU frame caches (frame_cache.c) ---------------------------- */

/* Called by page_alloc()/page_free() for order 0: 0 / false when this CPU
 * has no cache yet (early boot) or, for allocation, the cache is empty and
 * the free lists had nothing to refill it. */
phys_addr_t frame_cache_alloc(void);
bool frame_cache_free(phys_addr_t pa, void *caller);
/* Frames in all caches; buddy_lock held (refills and drains change the
 * caches' counts under it, so the sum with the free lists is exact). */
size_t frame_cache_frames_locked(void);
