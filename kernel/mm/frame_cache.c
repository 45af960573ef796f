/*
 * kernel/mm/frame_cache.c - per-CPU caches of free order-0 frames.
 *
 * Most allocations are single frames (user pages, page tables, slabs of
 * small objects), and a process that forks, writes and exits allocates and
 * frees them in bursts on one CPU.  Taken from the free lists one by one,
 * each costs buddy_lock (a cache line every CPU writes) and a split, and
 * each free a merge back.  So every CPU keeps a small stack of free frames
 * of its own: page_alloc(0) pops from it and page_free(.., 0) pushes onto
 * it, touching only this CPU's cache.  The free lists are visited once per
 * FRAME_CACHE_BATCH frames: an empty cache is refilled with a batch, and a
 * full one gives its oldest batch back.  The stack is last in, first out,
 * so the frame handed out is the one freed last, the likeliest to be in
 * this CPU's data cache.  (Linux: the per-CPU page lists, "pcp", in
 * mm/page_alloc.c.)
 *
 * A cached frame is free: page_free() already ran its checks and told the
 * shadow-TLB checker that no CPU translates to it, its refcount is 0 and
 * its head carries PG_CACHED (not PG_FREE: the buddy allocator must not
 * merge it into a bigger block while it sits in a cache).
 * page_free_frames() counts it.
 *
 * Locking: each cache has its own lock, held with interrupts off (so
 * interrupt handlers may allocate).  Its owner CPU is almost the only one
 * to take it, so its cache line stays with that CPU; another CPU takes it
 * only to drain the cache (an allocation failing anywhere,
 * frame_cache_drain_all()).  That is why a lock and not only "interrupts
 * off": an allocation that would fail while other CPUs hold free frames in
 * their caches takes them back without interrupting those CPUs (a
 * cross-CPU call cannot be made from every context that allocates:
 * interrupts off, spinlocks held, docs/locking.md rule 3).
 *
 * The lock is a test-and-set word, not a struct spinlock: a spinlock's
 * bookkeeping (the rank check, the holder, preemption; three interrupt
 * save/restores) costs more than the cache saves - measured on Bochs, the
 * fork benchmark took 86800 cycles with a spinlock here, 81700 with this
 * word, 90000 with no cache.  It stays out of the rank check
 * (kernel/lock_order.h) because it needs none: only this file takes it,
 * never two at once, never under buddy_lock, and under it only buddy_lock
 * (whose own check verifies the caller's locks in every refill and drain),
 * the checker's frame locks and the console's are taken.  So it sits just
 * before buddy_lock in the order, and no cycle can pass through it.  A wait
 * longer than spin_timeout_ns panics, as a spinlock's does.
 *
 * Double frees stay exact: the free changes the head's flags from the
 * checked state to PG_CACHED with one compare-and-swap, so of two CPUs
 * freeing the same frame at once exactly one succeeds and the other sees
 * PG_CACHED and panics.  The buddy allocator changes flags only under
 * buddy_lock, and a cached frame's flags only under that lock too (refill,
 * drain) or by the compare-and-swap of the frame's only owner.
 */
#include "buddy.h"
#include <kernel/percpu.h>
#include <kernel/config.h>
#include <kernel/spinlock.h>
#include <kernel/time.h>
#include <kernel/boot_options.h>
#include <arch/cpu.h>
#include <kernel/panic.h>
#include <kernel/debug/tlbcheck.h>
#include <lib/string.h>

struct frame_cache {
    _Atomic uint32_t lock;              /* 0 free, else 1 + the holder's CPU */
    bool ready;                         /* set once, before the CPU allocates */
    unsigned count;                     /* frames in pfn[0..count); pfn[count-1] is the newest */
    uint32_t pfn[FRAME_CACHE_SIZE];
};

static DEFINE_PER_CPU(struct frame_cache, frame_cache);

/* frame_cache=off: every allocation goes to the free lists (to measure what
 * the caches save, and to keep the buddy allocator's order-0 path tested). */
static bool frame_cache_on = true;
CMDLINE_BOOL(frame_cache, frame_cache_on, "per-CPU caches of free single frames in front of the buddy allocator");

bool frame_cache_enabled(void)
{
    return frame_cache_on;
}

void frame_cache_init_cpu(unsigned cpu)
{
    struct frame_cache *c = per_cpu_ptr(&frame_cache, cpu);
    atomic_store_explicit(&c->lock, 0, memory_order_relaxed);
    c->count = 0;
    /* Pairs with the acquire in cache_ready(): a CPU that sees ready sees
     * an initialized cache. */
    __atomic_store_n(&c->ready, frame_cache_on, __ATOMIC_RELEASE);
}

static bool cache_ready(const struct frame_cache *c)
{
    return __atomic_load_n(&c->ready, __ATOMIC_ACQUIRE);
}

static __noinline void lock_stuck(struct frame_cache *c)
{
    panic("frame cache lock: cpu%u waited over %llu ms for it, held by cpu%u",
          this_cpu_id(), (unsigned long long)(spin_timeout_ns / 1000000),
          atomic_load_explicit(&c->lock, memory_order_relaxed) - 1);
}

/* Interrupts off.  The acquire pairs with the release in cache_unlock(). */
static void cache_lock(struct frame_cache *c)
{
    uint32_t me = this_cpu_id() + 1, free = 0;
    if (likely(atomic_compare_exchange_strong_explicit(&c->lock, &free, me, memory_order_acquire,
                                                       memory_order_relaxed)))
        return;
    uint64_t start = ktime_ns();
    unsigned spins = 0;
    for (;;) {
        free = 0;
        if (atomic_load_explicit(&c->lock, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&c->lock, &free, me, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        arch_cpu_relax();
        if (++spins % 1024 == 0 && ktime_ns() - start > spin_timeout_ns && !panic_in_progress())
            lock_stuck(c);
    }
}

static void cache_unlock(struct frame_cache *c)
{
    atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* Under c->lock: refill an empty cache with up to a batch.  The count moves
 * under buddy_lock (see frame_cache_frames_locked).  The frame taken first
 * goes on top, so the next allocation gets the very frame the free lists
 * would have handed out alone (from their smallest block). */
static void refill(struct frame_cache *c)
{
    uint32_t got[FRAME_CACHE_BATCH];
    unsigned n = 0;
    uint64_t flags = buddy_lock_irqsave();
    while (n < FRAME_CACHE_BATCH) {
        uint32_t pfn = buddy_take_frame_locked();
        if (pfn == UINT32_MAX)
            break;
        frame_table[pfn].flags = PG_CACHED;
        got[n++] = pfn;
    }
    while (n)
        c->pfn[c->count++] = got[--n];
    buddy_unlock_irqrestore(flags);
}

/* Under c->lock: give the oldest n frames back to the free lists. */
static void drain(struct frame_cache *c, unsigned n)
{
    uint64_t flags = buddy_lock_irqsave();
    for (unsigned i = 0; i < n; i++) {
        struct page *pg = &frame_table[c->pfn[i]];
        BUG_ON(pg->flags != PG_CACHED);
        pg->flags = 0;
        buddy_give_frame_locked(c->pfn[i]);
    }
    memmove(&c->pfn[0], &c->pfn[n], (c->count - n) * sizeof(c->pfn[0]));
    c->count -= n;
    buddy_unlock_irqrestore(flags);
}

phys_addr_t frame_cache_alloc(void)
{
    /* Interrupts off before choosing the cache: the lock would be right on
     * any CPU's cache, but this CPU's is the one whose line is here. */
    uint64_t irq = arch_irq_save();
    struct frame_cache *c = this_cpu_ptr(&frame_cache);
    if (!c->ready) {
        arch_irq_restore(irq);
        return 0;
    }
    cache_lock(c);
    if (c->count == 0)
        refill(c);
    uint32_t pfn = c->count ? c->pfn[--c->count] : UINT32_MAX;
    if (pfn != UINT32_MAX) {
        struct page *pg = &frame_table[pfn];
        pg->flags = PG_ALLOCATED;
        pg->order = 0;
    }
    cache_unlock(c);
    arch_irq_restore(irq);
    if (pfn == UINT32_MAX)
        return 0;
    atomic_store_explicit(&frame_table[pfn].refcount, 1, memory_order_relaxed);
    return (phys_addr_t)pfn << PAGE_SHIFT;
}

bool frame_cache_free(phys_addr_t pa, void *caller)
{
    uint64_t irq = arch_irq_save();
    struct frame_cache *c = this_cpu_ptr(&frame_cache);
    if (!c->ready) {
        arch_irq_restore(irq);
        return false;
    }
    cache_lock(c);
    struct page *pg = pa_to_page(pa);
    uint8_t seen = pg ? READ_ONCE(pg->flags) : 0;
    const char *err;
    do {
        err = page_block_check(pa, 0, seen);
    } while (!err && !__atomic_compare_exchange_n(&pg->flags, &seen, PG_CACHED, false,
                                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    if (err) {
        cache_unlock(c);
        arch_irq_restore(irq);
        page_free_bug(pa, 0, err, caller);
    }
    /* No CPU may still translate to this frame (the checker's frame-lifetime
     * rule): checked when it is freed, not when the cache gives it back. */
    tlbcheck_frame_free(pa, 0);
    pg->owner_data = 0;
    atomic_store_explicit(&pg->refcount, 0, memory_order_relaxed);
    if (c->count == FRAME_CACHE_SIZE)
        drain(c, FRAME_CACHE_BATCH);
    c->pfn[c->count++] = (uint32_t)(pa >> PAGE_SHIFT);
    cache_unlock(c);
    arch_irq_restore(irq);
    return true;
}

/* The CPUs that have a cache: their per-CPU copy exists and is set up. */
static struct frame_cache *cache_of(unsigned cpu)
{
    if (cpu >= MAX_CPUS || !percpu_base[cpu])
        return NULL;
    struct frame_cache *c = per_cpu_ptr(&frame_cache, cpu);
    return cache_ready(c) ? c : NULL;
}

size_t frame_cache_frames_locked(void)
{
    size_t n = 0;
    for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
        struct frame_cache *c = cache_of(cpu);
        if (c)
            n += READ_ONCE(c->count);
    }
    return n;
}

size_t frame_cache_drain_all(void)
{
    size_t drained = 0;
    for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
        struct frame_cache *c = cache_of(cpu);
        if (!c || !READ_ONCE(c->count))
            continue;
        uint64_t irq = arch_irq_save();
        cache_lock(c);
        drained += c->count;
        drain(c, c->count);
        cache_unlock(c);
        arch_irq_restore(irq);
    }
    return drained;
}

unsigned frame_cache_count(unsigned cpu)
{
    struct frame_cache *c = cache_of(cpu);
    return c ? READ_ONCE(c->count) : 0;
}
