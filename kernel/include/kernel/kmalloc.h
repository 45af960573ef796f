/*
 * kernel/kmalloc.h - the kernel heap: kmalloc/kfree over size classes, and
 * named object caches for fixed-size objects.
 *
 * Both are built on slabs (kernel/mm/slab.c): a slab is a block of 1..8
 * pages from the page allocator cut into equal objects.  kmalloc() serves
 * sizes up to KMALLOC_MAX_CLASS from one cache per size class and larger
 * sizes straight from the page allocator.  See docs/memory.md.
 *
 * Debugging built in (always on):
 *   - freed objects are filled with KMEM_POISON_FREE; the poison is checked
 *     when the object is handed out again, so a write through a stale
 *     pointer is caught (panic naming cache, object and offset);
 *   - kfree/kmem_cache_free of a pointer that is not a live object of the
 *     heap (double free, a pointer into the middle of an object, a pointer
 *     that never came from the heap, an object of another cache) panics
 *     with a description.
 * The checks are also callable on their own (kmem_free_check,
 * kmem_poison_check) so tests can exercise them without panicking.
 */
#pragma once
#include <kernel/compiler.h>

#define KMALLOC_MIN_ALIGN   16
#define KMALLOC_MAX_CLASS   2048
#define KMEM_POISON_FREE    0x6b

void kmalloc_init(void);
void *kmalloc(size_t size);         /* NULL on failure; 16-byte aligned at least */
void *kzalloc(size_t size);
void kfree(void *p);                /* NULL is allowed */
/* Bytes handed out and not yet freed (requested sizes rounded to their
 * class; objects of named caches count with their object size). */
size_t kmalloc_bytes_in_use(void);
void kmalloc_print_stats(void);
/* The usable size of a kmalloc'd block (its class size, or the whole pages). */
size_t ksize(const void *p);

struct kmem_cache;
/* align: a power of two up to PAGE_SIZE, or 0 for KMALLOC_MIN_ALIGN.
 * NULL if the object is too big for a slab (over 16 KiB) or out of memory. */
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align);
void *kmem_cache_alloc(struct kmem_cache *c);
void *kmem_cache_zalloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *p);
/* Every object must have been freed (else panic: that is a leak). */
void kmem_cache_destroy(struct kmem_cache *c);
/* Objects of the cache currently allocated. */
size_t kmem_cache_objects_in_use(const struct kmem_cache *c);

/*
 * NULL if p may be freed (into `expected`, or into whatever cache it belongs
 * to when `expected` is NULL, or as a large kmalloc block), else a
 * description of why not.  kfree() and kmem_cache_free() panic with it.
 */
const char *kmem_free_check(const struct kmem_cache *expected, const void *p);
/*
 * For a FREE slab object p: NULL if its poison is intact, else a description
 * of the first damaged byte (written to buf, of size len).
 */
const char *kmem_poison_check(const void *p, char *buf, size_t len);
