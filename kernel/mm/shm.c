/*
 * kernel/mm/shm.c - shared memory objects (kernel/shm.h): the pages behind
 * shared mappings, and the futex key of a word in one.
 *
 * Frame references (mm_internal.h): the object holds one on each page it
 * allocated, each page-table entry mapping the page one more.  Dropping the
 * object's own references when its last shm_put() comes can therefore never
 * free a frame that an entry - or an entry removed but not yet flushed, held
 * by an mmu_gather - still points to: that holder's reference keeps it, and
 * the holder frees it after its flush.
 */
#include "mm_internal.h"
#include <kernel/shm.h>
#include <kernel/kmalloc.h>
#include <kernel/panic.h>
#include <lib/string.h>

static _Atomic unsigned live_objects;

unsigned shm_live_count(void)
{
    return atomic_load(&live_objects);
}

struct shm *shm_create(size_t npages)
{
    if (npages == 0 || npages > SD_SHM_MAX / PAGE_SIZE)
        return NULL;
    struct shm *s = kzalloc(sizeof(*s));
    if (!s)
        return NULL;
    s->frames = kzalloc(npages * sizeof(s->frames[0]));
    if (!s->frames) {
        kfree(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    mutex_init(&s->lock, "shm.lock");
    s->npages = npages;
    list_init(&s->name_link);
    atomic_fetch_add(&live_objects, 1);
    return s;
}

void shm_get(struct shm *s)
{
    BUG_ON(atomic_fetch_add(&s->refs, 1) <= 0);
}

void shm_put(struct shm *s)
{
    int old = atomic_fetch_sub(&s->refs, 1);
    BUG_ON(old <= 0);
    if (old != 1)
        return;
    /* Nobody can reach the object any more: no lock needed. */
    for (size_t i = 0; i < s->npages; i++)
        if (s->frames[i] && frame_put_is_last(s->frames[i]))
            page_free(s->frames[i], 0);
    kfree(s->frames);
    kfree(s);
    atomic_fetch_sub(&live_objects, 1);
}

phys_addr_t shm_frame(struct shm *s, size_t idx)
{
    BUG_ON(idx >= s->npages);
    /* Two mms may touch the page for the first time at once: the lock
     * makes them find the same frame. */
    mutex_lock(&s->lock);
    phys_addr_t pa = s->frames[idx];
    if (!pa) {
        pa = page_alloc_zeroed(0);      /* refcount 1: the object's */
        s->frames[idx] = pa;
    }
    mutex_unlock(&s->lock);
    return pa;
}

struct shm *mm_shm_at(struct mm *mm, uintptr_t addr, uint64_t *offset)
{
    struct shm *s = NULL;
    mm_read_lock(mm);
    struct vma *v = vma_find(mm, addr);
    if (v && v->shm) {
        s = v->shm;
        shm_get(s);
        *offset = v->shm_pgoff * PAGE_SIZE + (addr - v->start);
    }
    mm_read_unlock(mm);
    return s;
}
