/* kernel/mm/kmalloc.c - PLACEHOLDER until the slab allocator lands. */
#include <kernel/kmalloc.h>
#include <kernel/page_alloc.h>
#include <lib/string.h>
void kmalloc_init(void) {}
void *kmalloc(size_t size) { (void)size; return NULL; }
void *kzalloc(size_t size) { (void)size; return NULL; }
void kfree(void *p) { (void)p; }
size_t kmalloc_bytes_in_use(void) { return 0; }
void kmalloc_print_stats(void) {}
