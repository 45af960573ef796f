/*
 * kernel/mm/kmalloc.c - kmalloc/kfree: size classes over object caches.
 *
 * Requests up to KMALLOC_MAX_CLASS bytes are rounded up to the next size
 * class and served by that class's cache (kernel/mm/slab.c).  Larger requests
 * get whole pages: a buddy block of the smallest order that holds them,
 * marked PG_LARGE_KMALLOC on its first frame, so kfree() can tell the two
 * apart through the frame table alone.
 *
 * heap_bytes counts bytes handed out (class or block size, and object size
 * for named caches); it is exact, because the test framework compares it
 * before and after every suite to find leaks.
 */
#include "slab.h"
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <lib/string.h>
#include <stdatomic.h>

static const size_t class_sizes[] = { 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048 };
#define NR_CLASSES ARRAY_SIZE(class_sizes)
STATIC_ASSERT(KMALLOC_MAX_CLASS == 2048, "the largest class is KMALLOC_MAX_CLASS");

static struct kmem_cache classes[NR_CLASSES];
static const char *const class_names[NR_CLASSES] = {
    "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96", "kmalloc-128",
    "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
};

static _Atomic long heap_bytes;
static _Atomic size_t large_blocks;
static bool kmalloc_ready;

void kmalloc_account(long bytes)
{
    atomic_fetch_add_explicit(&heap_bytes, bytes, memory_order_relaxed);
}

size_t kmalloc_bytes_in_use(void)
{
    return (size_t)atomic_load_explicit(&heap_bytes, memory_order_relaxed);
}

void kmalloc_init(void)
{
    slab_init();
    for (unsigned i = 0; i < NR_CLASSES; i++)
        kmem_cache_init_static(&classes[i], class_names[i], class_sizes[i], KMALLOC_MIN_ALIGN);
    kmalloc_ready = true;
}

static unsigned large_order(size_t size)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < size)
        order++;
    return order;
}

void *kmalloc(size_t size)
{
    if (unlikely(!kmalloc_ready))
        panic("kmalloc(%zu) before kmalloc_init()", size);
    for (unsigned i = 0; i < NR_CLASSES; i++)
        if (size <= class_sizes[i])
            return kmem_cache_alloc(&classes[i]);

    unsigned order = large_order(size);
    if (order > PAGE_ORDER_MAX)
        return NULL;
    /* Zeroed, like a new slab, so that no byte of an earlier owner (maybe
     * code: docs/memory.md, "Frames that held code") is left in the block. */
    phys_addr_t pa = page_alloc_zeroed(order);
    if (!pa)
        return NULL;
    pa_to_page(pa)->flags |= PG_LARGE_KMALLOC;
    atomic_fetch_add_explicit(&large_blocks, 1, memory_order_relaxed);
    kmalloc_account((long)(PAGE_SIZE << order));
    return phys_to_virt(pa);
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, ksize(p));
    return p;
}

size_t ksize(const void *p)
{
    struct slab *s = slab_of(p);
    if (s)
        return s->cache->size;
    struct page *pg = pa_to_page(virt_to_phys(p));
    return PAGE_SIZE << pg->order;
}

void kfree(void *p)
{
    if (!p)
        return;
    struct slab *s = slab_of(p);
    if (s) {
        slab_free_any(p, __builtin_return_address(0));
        return;
    }
    const char *err = kmem_free_check(NULL, p);
    if (err)
        panic("kfree(%p) from %p: %s", p, __builtin_return_address(0), err);
    /* A large block; the poison makes reads through stale pointers obvious. */
    phys_addr_t pa = virt_to_phys(p);
    unsigned order = pa_to_page(pa)->order;
    memset(p, KMEM_POISON_FREE, PAGE_SIZE << order);
    atomic_fetch_sub_explicit(&large_blocks, 1, memory_order_relaxed);
    kmalloc_account(-(long)(PAGE_SIZE << order));
    page_free(pa, order);
}

void kmalloc_print_stats(void)
{
    printk("kmalloc: %zu bytes in use, %zu large blocks\n", kmalloc_bytes_in_use(),
           atomic_load_explicit(&large_blocks, memory_order_relaxed));
    slab_print_stats();
}
