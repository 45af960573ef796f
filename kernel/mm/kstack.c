/*
 * kernel/mm/kstack.c - kernel stacks with guard pages.
 *
 * Stacks live in their own region of the kernel virtual area (arch/kva.h):
 * slot i covers [KVA_STACKS_BASE + i*KVA_STACK_SLOT, +KVA_STACK_SLOT); the
 * stack is the top KSTACK_SIZE bytes of the slot, backed by order-0 frames,
 * and everything below it in the slot stays unmapped.  A stack overflow
 * therefore runs into an unmapped page and faults, instead of overwriting
 * whatever lies below.  (The fault handler then needs a stack of its own:
 * #DF has an IST stack, see arch/x86_64/gdt.c.)
 *
 * Free slots are found in a bitmap, lowest first, so freed address ranges
 * are reused.  kstack_lock protects the bitmap and is never held while
 * taking another lock; the page tables are protected by kernel_pt_lock.
 * A slot is reserved in the bitmap before its pages are mapped and released
 * only after they are unmapped and flushed.
 *
 * Freeing: unmap, then flush_tlb_kernel_range(), then free the frames, then
 * release the slot - in that order, so no CPU can reach a frame through the
 * old stack address once it is reused.  The region's page tables are built
 * at boot and never freed (arch/x86_64/mm/kva.c), so mapping a stack never
 * allocates a table and unmapping one never frees one.
 *
 * The flush costs an IPI to every CPU, so freed stacks are first kept, still
 * mapped, in a small cache (up to KSTACK_CACHE_MAX) and handed out again by
 * kstack_alloc(): a thread that replaces an exited one costs no flush at all.
 * Only stacks leaving the cache are unmapped - in batches, one flush for
 * many (kstack_cache_drain(), also used by the tests' leak check).
 */
#include <kernel/kstack.h>
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include <arch/kva.h>
#include <arch/paging.h>
#include <lib/bitmap.h>

#define KSTACK_PAGES (KSTACK_SIZE / PAGE_SIZE)
STATIC_ASSERT(KSTACK_SIZE + PAGE_SIZE <= KVA_STACK_SLOT, "a stack and its guard page fit in a slot");

static DEFINE_SPINLOCK(kstack_lock, LOCK_RANK_KSTACK);
/* Protected by kstack_lock: */
static unsigned long slot_used[BITS_TO_LONGS(KVA_STACK_SLOTS)];
static uintptr_t cached_tops[KSTACK_CACHE_MAX];    /* free stacks, still mapped */
static unsigned cached_count;

static uintptr_t slot_top(unsigned slot)
{
    return KVA_STACKS_BASE + (uintptr_t)(slot + 1) * KVA_STACK_SLOT;
}

/* Unmap the first `pages` pages of the stack below `top` and free them. */
static void unmap_stack(uintptr_t top, unsigned pages)
{
    uintptr_t base = top - KSTACK_SIZE;
    phys_addr_t frames[KSTACK_PAGES];

    if (kernel_clear_pages(base, pages, frames))
        panic("kstack: a page of the stack at %#lx is not mapped", top);
    flush_tlb_kernel_range(base, base + pages * PAGE_SIZE);
    for (unsigned i = 0; i < pages; i++)
        page_free(frames[i], 0);
}

static void release_slot(unsigned slot)
{
    uint64_t irq = spin_lock_irqsave(&kstack_lock);
    bitmap_clear_bit(slot_used, slot);
    spin_unlock_irqrestore(&kstack_lock, irq);
}

uintptr_t kstack_alloc(void)
{
    uint64_t irq = spin_lock_irqsave(&kstack_lock);
    if (cached_count) {
        uintptr_t top = cached_tops[--cached_count];
        spin_unlock_irqrestore(&kstack_lock, irq);
        return top;
    }
    unsigned slot = bitmap_find_next_zero(slot_used, KVA_STACK_SLOTS, 0);
    if (slot < KVA_STACK_SLOTS)
        bitmap_set_bit(slot_used, slot);
    spin_unlock_irqrestore(&kstack_lock, irq);
    if (slot >= KVA_STACK_SLOTS)
        return 0;

    uintptr_t top = slot_top(slot), base = top - KSTACK_SIZE;
    for (unsigned i = 0; i < KSTACK_PAGES; i++) {
        /* Zeroed: a frame may last have held a program's code, and under
         * QEMU TCG a page with translated code left on it sends every store
         * down the emulator's self-modifying-code path until stores have
         * covered that code - a stack writes the same few hundred bytes at
         * its top forever, so it never would (docs/memory.md, "Frames that
         * held code").  A stack from the cache above held only stack data. */
        phys_addr_t pa = page_alloc_zeroed(0);
        if (!pa || kernel_map_data_page(base + i * PAGE_SIZE, pa)) {
            /* Out of memory: undo the pages mapped so far. */
            if (pa)
                page_free(pa, 0);
            unmap_stack(top, i);
            release_slot(slot);
            return 0;
        }
    }
    return top;
}

void kstack_free(uintptr_t top)
{
    if (top < KVA_STACKS_BASE + KVA_STACK_SLOT || top > slot_top(KVA_STACK_SLOTS - 1) ||
        (top - KVA_STACKS_BASE) % KVA_STACK_SLOT)
        panic("kstack_free(%#lx): not the top of a kernel stack", top);
    unsigned slot = (unsigned)((top - KVA_STACKS_BASE) / KVA_STACK_SLOT) - 1;
    uint64_t irq = spin_lock_irqsave(&kstack_lock);
    bool used = bitmap_test_bit(slot_used, slot);
    for (unsigned i = 0; i < cached_count; i++)
        if (cached_tops[i] == top)
            used = false;       /* already freed into the cache */
    if (used && cached_count < KSTACK_CACHE_MAX) {
        cached_tops[cached_count++] = top;
        spin_unlock_irqrestore(&kstack_lock, irq);
        return;
    }
    spin_unlock_irqrestore(&kstack_lock, irq);
    if (!used)
        panic("kstack_free(%#lx): the stack is not allocated (double free?)", top);

    unmap_stack(top, KSTACK_PAGES);
    release_slot(slot);
}

void kstack_cache_drain(void)
{
    enum { BATCH = 16 };
    for (;;) {
        uintptr_t tops[BATCH];
        unsigned n = 0;
        uint64_t irq = spin_lock_irqsave(&kstack_lock);
        while (n < BATCH && cached_count)
            tops[n++] = cached_tops[--cached_count];
        spin_unlock_irqrestore(&kstack_lock, irq);
        if (!n)
            return;

        /* Unmap the whole batch, flush once, then free. */
        phys_addr_t frames[BATCH * KSTACK_PAGES];
        uintptr_t lo = ~0ul, hi = 0;
        for (unsigned s = 0; s < n; s++) {
            uintptr_t base = tops[s] - KSTACK_SIZE;
            if (kernel_clear_pages(base, KSTACK_PAGES, &frames[s * KSTACK_PAGES]))
                panic("kstack: cached stack at %#lx lost a page", tops[s]);
            lo = MIN(lo, base);
            hi = MAX(hi, tops[s]);
        }
        flush_tlb_kernel_range(lo, hi);
        for (unsigned i = 0; i < n * KSTACK_PAGES; i++)
            page_free(frames[i], 0);
        for (unsigned s = 0; s < n; s++)
            release_slot((unsigned)((tops[s] - KVA_STACKS_BASE) / KVA_STACK_SLOT) - 1);
    }
}
