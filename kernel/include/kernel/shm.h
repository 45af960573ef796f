/*
 * kernel/shm.h - shared memory objects: the pages behind a shared mapping
 * (docs/memory.md, "Shared memory").
 *
 * A shared memory object is a fixed number of pages that several address
 * spaces map at once and that they all see: a write through one mapping is
 * read through every other.  mmap(..., prot | SD_MAP_SHARED) makes an
 * anonymous one (fork gives the child a mapping of the same object);
 * shm_create(name, len) makes a named one that unrelated processes map by
 * name (kernel/proc/sys_shm.c).
 *
 * Each page is allocated (zeroed) on its first touch through any mapping
 * and then stays in the object, at the same frame, until the object goes:
 * the object holds one reference on the frame (struct page refcount) and
 * every page-table entry that maps it holds another, dropped only after
 * the flush that removed the entry (kernel/mm/mmu_gather.h).  So the frame
 * is freed when the last of those goes: the object is gone (no VMA maps
 * it, no name, no futex waiter) AND every mm that mapped it has flushed.
 *
 * References to the object (shm_get/shm_put): each VMA that maps it, the
 * name table while it has a name, and each futex waiter keyed on it.
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/wait.h>
#include <kernel/list.h>
#include <arch/memlayout.h>
#include <uapi/shootdown.h>
#include <stdatomic.h>

struct shm {
    _Atomic int refs;
    struct mutex lock;          /* frames[]: a page's first touch */
    size_t npages;
    phys_addr_t *frames;        /* 0: not touched yet; else the object's reference */
    /* Named objects only (kernel/proc/sys_shm.c), under its table lock. */
    char name[SD_NAME_MAX];
    struct list_head name_link;
};

/* A new object of npages zero pages (none allocated yet), one reference;
 * NULL when out of memory. */
struct shm *shm_create(size_t npages);
void shm_get(struct shm *s);
/* The last reference frees the object and drops its frame references
 * (each frame goes when no mapping holds it any more). */
void shm_put(struct shm *s);
/* The frame of page idx (< npages), allocated zeroed on first use; 0 when
 * out of memory.  The object keeps it: a mapping takes its own reference. */
phys_addr_t shm_frame(struct shm *s, size_t idx);
/* Objects alive, for leak checks. */
unsigned shm_live_count(void);

struct mm;
/* The futex key of the user word at addr in mm: if addr lies in a shared
 * mapping, its object (with a reference: shm_put when done) and *offset
 * the word's byte offset in the object; else NULL (a private word, keyed
 * by mm and address).  Takes mm->lock. */
struct shm *mm_shm_at(struct mm *mm, uintptr_t addr, uint64_t *offset);
