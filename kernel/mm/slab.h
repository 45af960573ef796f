/*
 * kernel/mm/slab.h - slab internals shared by slab.c and kmalloc.c.
 * Everyone else uses kernel/kmalloc.h.
 */
#pragma once
#include <kernel/kmalloc.h>
#include <kernel/spinlock.h>

#define KMEM_NAME_MAX 32

/* A slab's header, at the start of its first page.  Slabs are aligned to
 * their size (the buddy allocator guarantees it), so the header of any
 * object is at ALIGN_DOWN(object, slab size). */
struct slab {
    uint32_t magic;                 /* SLAB_MAGIC */
    uint32_t in_use;                /* objects handed out */
    struct kmem_cache *cache;
    struct slab *next, *prev;       /* on the cache's partial list */
    void *free;                     /* first free object; the link is its first word */
    unsigned long used[8];          /* bit per object: allocated (up to 512) */
};
#define SLAB_MAGIC      0x51ab51abu
#define SLAB_MAX_OBJS   512

struct kmem_cache {
    char name[KMEM_NAME_MAX];
    size_t size;                    /* object stride: requested size rounded up to align */
    size_t align;
    unsigned order;                 /* slab = 2^order pages */
    unsigned objs_per_slab;
    size_t first_offset;            /* offset of object 0 from the slab start */
    /* lock protects everything below (and the headers of this cache's slabs) */
    struct spinlock lock;
    struct slab partial;            /* dummy head: slabs with free and used objects */
    size_t slabs;                   /* slabs owned */
    size_t in_use;                  /* objects handed out */
    uint64_t allocs, frees;         /* totals, for statistics */
    struct kmem_cache *next_cache;  /* on the list of all caches (caches_lock) */
    bool is_static;                 /* a kmalloc class or the cache of caches: never destroyed */
};

/* Set up a cache whose struct lives elsewhere (kmalloc's classes). */
void kmem_cache_init_static(struct kmem_cache *c, const char *name, size_t size, size_t align);
/* The slab header of a pointer into a slab, or NULL if p is not in one. */
struct slab *slab_of(const void *p);
/* Add to / subtract from kmalloc_bytes_in_use (kmalloc.c owns the counter). */
void kmalloc_account(long bytes);
/* Free p, known to be in a slab, into whatever cache owns it (kfree). */
void slab_free_any(void *p, void *caller);
/* Boot: the cache of caches.  Before any kmem_cache_create(). */
void slab_init(void);
/* One line per cache. */
void slab_print_stats(void);
