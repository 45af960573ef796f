/*
 * kernel/kmalloc.h - the kernel heap: kmalloc/kfree over size classes, and
 * named object caches for fixed-size objects.
 */
#pragma once
#include <kernel/compiler.h>

void kmalloc_init(void);
void *kmalloc(size_t size);         /* NULL on failure; 16-byte aligned at least */
void *kzalloc(size_t size);
void kfree(void *p);                /* NULL is allowed */
/* Bytes handed out and not yet freed (requested sizes rounded to their class). */
size_t kmalloc_bytes_in_use(void);
void kmalloc_print_stats(void);

struct kmem_cache;
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align);
void *kmem_cache_alloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *p);
void kmem_cache_destroy(struct kmem_cache *c);
