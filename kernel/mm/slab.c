/*
 * kernel/mm/slab.c - object caches: fixed-size objects cut out of slabs.
 *
 * A slab is a block of 2^order pages from the page allocator.  Its first
 * bytes hold a struct slab; objects follow, each `size` bytes (a multiple of
 * the cache's alignment).  Every frame of a slab is marked PG_SLAB in the
 * frame table, with the slab's order, which is how kfree() recognises a slab
 * object and finds its header (slabs are aligned to their size).
 *
 * A slab is in one of three states:
 *   full     no free object; on no list (reached only through its objects)
 *   partial  some free, some in use; on the cache's partial list
 *   empty    nothing in use: given back to the page allocator at once
 * Giving empty slabs back at once costs a page allocation when a cache
 * oscillates around a slab boundary, but keeps page_free_frames() exact:
 * allocate-and-free leaves the frame count where it was, which the test
 * framework's leak check relies on.
 *
 * Free objects are linked through their first word.  The rest of a free
 * object holds KMEM_POISON_FREE; when the object is handed out again the
 * poison is checked and the link validated, catching writes through stale
 * pointers.  A bitmap per slab (bit set = allocated) catches double frees.
 *
 * Locking: each cache's `lock` protects its lists, counters and slab
 * headers (interrupts off: interrupt handlers may allocate).  It is taken
 * before buddy_lock (slab pages are allocated and freed under it).
 * caches_lock protects the list of all caches; never taken with a cache lock.
 */
#include "slab.h"
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <lib/bitmap.h>
#include <lib/format.h>
#include <lib/string.h>

static DEFINE_SPINLOCK(caches_lock, LOCK_RANK_SLAB_CACHES);
static struct kmem_cache *all_caches;

/* The cache that struct kmem_cache objects come from. */
static struct kmem_cache cache_cache;

static size_t slab_bytes(const struct kmem_cache *c)
{
    return PAGE_SIZE << c->order;
}

static void *obj_at(struct slab *s, unsigned i)
{
    return (char *)s + s->cache->first_offset + (size_t)i * s->cache->size;
}

/* ---- cache setup ------------------------------------------------------------ */

static bool cache_layout(struct kmem_cache *c, size_t size, size_t align)
{
    if (!align)
        align = KMALLOC_MIN_ALIGN;
    if (align & (align - 1) || align > PAGE_SIZE)
        return false;
    align = MAX(align, sizeof(void *));
    c->align = align;
    c->size = ALIGN_UP(MAX(size, (size_t)KMALLOC_MIN_ALIGN), align);
    c->first_offset = ALIGN_UP(sizeof(struct slab), align);
    /* The smallest slab with room for 8 objects, at most 8 pages. */
    for (c->order = 0;; c->order++) {
        size_t n = (slab_bytes(c) - c->first_offset) / c->size;
        if (n >= 8 || c->order == 3) {
            c->objs_per_slab = (unsigned)MIN(n, (size_t)SLAB_MAX_OBJS);
            break;
        }
    }
    return c->objs_per_slab > 0;
}

static void cache_setup(struct kmem_cache *c, const char *name)
{
    strlcpy(c->name, name, sizeof(c->name));
    spin_lock_init(&c->lock, "kmem_cache.lock", LOCK_RANK_SLAB);
    c->partial.next = c->partial.prev = &c->partial;
    c->slabs = c->in_use = 0;
    c->allocs = c->frees = 0;
    uint64_t irq = spin_lock_irqsave(&caches_lock);
    c->next_cache = all_caches;
    all_caches = c;
    spin_unlock_irqrestore(&caches_lock, irq);
}

void kmem_cache_init_static(struct kmem_cache *c, const char *name, size_t size, size_t align)
{
    if (!cache_layout(c, size, align))
        panic("kmem_cache '%s': bad size %zu or alignment %zu", name, size, align);
    c->is_static = true;
    cache_setup(c, name);
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align)
{
    struct kmem_cache layout;
    if (!size || !cache_layout(&layout, size, align))
        return NULL;
    struct kmem_cache *c = kmem_cache_alloc(&cache_cache);
    if (!c)
        return NULL;
    *c = layout;
    c->is_static = false;
    cache_setup(c, name);
    return c;
}

void kmem_cache_destroy(struct kmem_cache *c)
{
    if (!c)
        return;
    if (c->is_static)
        panic("kmem_cache_destroy('%s'): a built-in cache", c->name);
    if (c->in_use)
        panic("kmem_cache_destroy('%s'): %zu objects still allocated (leaked?)", c->name, c->in_use);
    /* No objects in use means no slabs: empty slabs are freed at once. */
    BUG_ON(c->slabs != 0);
    uint64_t irq = spin_lock_irqsave(&caches_lock);
    struct kmem_cache **pp = &all_caches;
    while (*pp != c)
        pp = &(*pp)->next_cache;
    *pp = c->next_cache;
    spin_unlock_irqrestore(&caches_lock, irq);
    kmem_cache_free(&cache_cache, c);
}

size_t kmem_cache_objects_in_use(const struct kmem_cache *c)
{
    return READ_ONCE(c->in_use);
}

/* ---- slabs -------------------------------------------------------------------- */

static void partial_add(struct kmem_cache *c, struct slab *s)
{
    s->next = c->partial.next;
    s->prev = &c->partial;
    c->partial.next->prev = s;
    c->partial.next = s;
}

static void partial_remove(struct slab *s)
{
    s->prev->next = s->next;
    s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void poison_object(struct kmem_cache *c, void *obj, void *next_free)
{
    memset((char *)obj + sizeof(void *), KMEM_POISON_FREE, c->size - sizeof(void *));
    *(void **)obj = next_free;
}

/* A new slab with every object free, on the partial list.  Lock held. */
static struct slab *slab_new(struct kmem_cache *c)
{
    phys_addr_t pa = page_alloc(c->order);
    if (!pa)
        return NULL;
    struct page *pg = pa_to_page(pa);
    for (unsigned i = 0; i < (1u << c->order); i++) {
        pg[i].flags |= PG_SLAB;
        pg[i].order = (uint8_t)c->order;
    }
    /* Every byte of the new slab gets written: the header and the gap up to
     * the first object, and the tail past the last object, are zeroed here,
     * each object is poisoned below.  A byte left as the frame's last owner
     * wrote it may be a program's or the boot loader's code, and under QEMU
     * TCG a page with translated code left on it sends every store down a
     * slow path - here every store to the slab's objects (docs/memory.md,
     * "Frames that held code"). */
    struct slab *s = phys_to_virt(pa);
    char *tail = (char *)s + c->first_offset + (size_t)c->objs_per_slab * c->size;
    memset(s, 0, c->first_offset);
    memset(tail, 0, (size_t)((char *)s + slab_bytes(c) - tail));
    s->magic = SLAB_MAGIC;
    s->cache = c;
    /* Link the objects in address order. */
    for (unsigned i = c->objs_per_slab; i-- > 0;) {
        poison_object(c, obj_at(s, i), s->free);
        s->free = obj_at(s, i);
    }
    c->slabs++;
    partial_add(c, s);
    return s;
}

static void slab_destroy(struct kmem_cache *c, struct slab *s)
{
    s->magic = 0;
    c->slabs--;
    page_free(virt_to_phys(s), c->order);
}

struct slab *slab_of(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    if (v < DIRECT_MAP_BASE || v >= DIRECT_MAP_BASE + DIRECT_MAP_SIZE)
        return NULL;
    struct page *pg = pa_to_page(virt_to_phys(p));
    if (!pg || !(pg->flags & PG_SLAB))
        return NULL;
    struct slab *s = (struct slab *)ALIGN_DOWN(v, PAGE_SIZE << pg->order);
    return s->magic == SLAB_MAGIC ? s : NULL;
}

/* Index of the object p in s, or -1 if p is not the start of an object. */
static long object_index(const struct slab *s, const void *p)
{
    const struct kmem_cache *c = s->cache;
    uintptr_t off = (uintptr_t)p - (uintptr_t)s;
    if (off < c->first_offset)
        return -1;
    off -= c->first_offset;
    if (off % c->size || off / c->size >= c->objs_per_slab)
        return -1;
    return (long)(off / c->size);
}

/* ---- checks --------------------------------------------------------------------- */

/* With the cache lock held (or for tests, racily) */
static const char *poison_check_locked(const struct slab *s, const void *p, char *buf, size_t len)
{
    const struct kmem_cache *c = s->cache;
    const unsigned char *b = p;
    /* Eight bytes at a time (objects are 8-byte aligned): this runs on
     * every allocation, and byte by byte it was a fifth of a thread
     * spawn's cycles under Bochs (the task, its user_start).  The first
     * changed byte is looked for only once a word differs. */
    const uint64_t poison8 = 0x0101010101010101ull * KMEM_POISON_FREE;
    size_t i = sizeof(void *);
    while (i + 8 <= c->size && *(const uint64_t *)(b + i) == poison8)
        i += 8;
    for (; i < c->size; i++) {
        if (b[i] != KMEM_POISON_FREE) {
            snprintf(buf, len, "use after free: free object %p of cache '%s' (size %zu) "
                     "was written at offset %zu (byte %#x, poison is %#x)",
                     p, c->name, c->size, i, b[i], KMEM_POISON_FREE);
            return buf;
        }
    }
    void *next = *(void *const *)p;
    if (next && (slab_of(next) != s || object_index(s, next) < 0)) {
        snprintf(buf, len, "use after free: free object %p of cache '%s' has a damaged "
                 "free-list link %p (written at offset 0?)", p, c->name, next);
        return buf;
    }
    return NULL;
}

const char *kmem_poison_check(const void *p, char *buf, size_t len)
{
    struct slab *s = slab_of(p);
    if (!s || object_index(s, p) < 0) {
        snprintf(buf, len, "%p is not a slab object", p);
        return buf;
    }
    if (bitmap_test_bit(s->used, (unsigned)object_index(s, p))) {
        snprintf(buf, len, "%p is allocated, not free", p);
        return buf;
    }
    return poison_check_locked(s, p, buf, len);
}

static const char *free_check_slab(const struct kmem_cache *expected, const struct slab *s, const void *p)
{
    if (expected && s->cache != expected)
        return "object belongs to another cache";
    long i = object_index(s, p);
    if (i < 0)
        return "pointer is inside a slab but not at the start of an object";
    if (!bitmap_test_bit(s->used, (unsigned)i))
        return "double free: the object is already free";
    return NULL;
}

const char *kmem_free_check(const struct kmem_cache *expected, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    if (v < DIRECT_MAP_BASE || v >= DIRECT_MAP_BASE + DIRECT_MAP_SIZE)
        return "pointer is not from the heap (outside the direct map)";
    struct page *pg = pa_to_page(virt_to_phys(p));
    if (!pg)
        return "pointer is not from the heap (beyond the end of RAM)";
    if (pg->flags & PG_SLAB) {
        struct slab *s = slab_of(p);
        if (!s)
            return "slab header is damaged";
        uint64_t irq = spin_lock_irqsave(&s->cache->lock);
        const char *err = free_check_slab(expected, s, p);
        spin_unlock_irqrestore(&s->cache->lock, irq);
        return err;
    }
    if (expected)
        return "pointer is not an object of any cache";
    if ((pg->flags & (PG_ALLOCATED | PG_LARGE_KMALLOC)) == (PG_ALLOCATED | PG_LARGE_KMALLOC)) {
        if (v & (PAGE_SIZE - 1))
            return "pointer is inside a large kmalloc block, not at its start";
        return NULL;
    }
    if (pg->flags & (PG_FREE | PG_CACHED))
        return "pointer is in a free page (double free of a large block?)";
    return "pointer is not from the heap (not a slab or kmalloc page)";
}

/* ---- allocation ---------------------------------------------------------------- */

void *kmem_cache_alloc(struct kmem_cache *c)
{
    char why[200];
    uint64_t irq = spin_lock_irqsave(&c->lock);
    struct slab *s = c->partial.next;
    if (s == &c->partial) {
        s = slab_new(c);
        if (!s) {
            spin_unlock_irqrestore(&c->lock, irq);
            return NULL;
        }
    }
    void *obj = s->free;
    const char *err = poison_check_locked(s, obj, why, sizeof(why));
    if (err) {
        spin_unlock_irqrestore(&c->lock, irq);
        panic("kmem_cache_alloc: %s", err);
    }
    s->free = *(void **)obj;
    bitmap_set_bit(s->used, (unsigned)object_index(s, obj));
    s->in_use++;
    if (!s->free)
        partial_remove(s);      /* now full */
    c->in_use++;
    c->allocs++;
    spin_unlock_irqrestore(&c->lock, irq);
    kmalloc_account((long)c->size);
    return obj;
}

void *kmem_cache_zalloc(struct kmem_cache *c)
{
    void *p = kmem_cache_alloc(c);
    if (p)
        memset(p, 0, c->size);
    return p;
}

/* Free an object already known to be in slab s.  expected may be NULL. */
static void slab_free(const struct kmem_cache *expected, struct slab *s, void *p, void *caller)
{
    struct kmem_cache *c = s->cache;
    uint64_t irq = spin_lock_irqsave(&c->lock);
    const char *err = free_check_slab(expected, s, p);
    if (err) {
        spin_unlock_irqrestore(&c->lock, irq);
        panic("free of %p (cache '%s') from %p: %s", p, c->name, caller, err);
    }
    bitmap_clear_bit(s->used, (unsigned)object_index(s, p));
    bool was_full = !s->free;
    poison_object(c, p, s->free);
    s->free = p;
    s->in_use--;
    c->in_use--;
    c->frees++;
    if (was_full)
        partial_add(c, s);
    if (!s->in_use) {
        partial_remove(s);
        slab_destroy(c, s);
    }
    spin_unlock_irqrestore(&c->lock, irq);
    kmalloc_account(-(long)c->size);
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
    if (!p)
        return;
    struct slab *s = slab_of(p);
    if (!s)
        panic("kmem_cache_free('%s', %p) from %p: %s", c->name, p, __builtin_return_address(0),
              kmem_free_check(c, p));
    slab_free(c, s, p, __builtin_return_address(0));
}

/* For kfree(): p is known to be in a slab. */
void slab_free_any(void *p, void *caller)
{
    slab_free(NULL, slab_of(p), p, caller);
}

/* ---- boot and statistics ------------------------------------------------------ */

void slab_init(void)
{
    kmem_cache_init_static(&cache_cache, "kmem_cache", sizeof(struct kmem_cache), CACHELINE_SIZE);
}

void slab_print_stats(void)
{
    printk("%-24s %6s %5s %7s %8s %10s %10s\n", "cache", "size", "order", "slabs", "in use",
           "allocs", "frees");
    uint64_t irq = spin_lock_irqsave(&caches_lock);
    for (struct kmem_cache *c = all_caches; c; c = c->next_cache)
        printk("%-24s %6zu %5u %7zu %8zu %10lu %10lu\n", c->name, c->size, c->order,
               READ_ONCE(c->slabs), READ_ONCE(c->in_use), READ_ONCE(c->allocs), READ_ONCE(c->frees));
    spin_unlock_irqrestore(&caches_lock, irq);
}
