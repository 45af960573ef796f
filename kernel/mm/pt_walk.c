/*
 * kernel/mm/pt_walk.c - the lockless page-table walk's bracket, and its one
 * user: the fast path of copy_from_user / copy_to_user (kernel/pt_walk.h,
 * docs/rcu.md "The lockless walker").
 */
#include <kernel/pt_walk.h>
#include <kernel/rcu.h>
#include <kernel/sched.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/debug/counters.h>
#include <arch/cpu.h>
#include <arch/pte.h>
#include <lib/string.h>
#include "mm_internal.h"

DEFINE_COUNTER(mm, uaccess_fast_pages, "uaccess: pages copied by the lockless fast path");
DEFINE_COUNTER(mm, uaccess_fast_fallbacks, "uaccess: copies the fast path handed (in part) to the slow path");

void pt_walk_begin(struct pt_walk *w)
{
    /* ipi: the free waits for our CPU's flush IPI (pt_free.c); rcu: for a
     * grace period, which waits for this reader. */
    w->irq_flags = pt_free_mode == PT_FREE_IPI ? arch_irq_save() : 0;
    rcu_read_lock();
}

void pt_walk_end(struct pt_walk *w)
{
    arch_pte_lockless_end();    /* before the bracket ends: walkers.c */
    /* Interrupts first: a reschedule asked for meanwhile then happens in
     * rcu_read_unlock()'s preempt_enable(), not at the next interrupt. */
    if (pt_free_mode == PT_FREE_IPI)
        arch_irq_restore(w->irq_flags);
    rcu_read_unlock();
}

/* A reference to an allocated frame that still has one (a mapping's):
 * a frame whose count fell to 0 is being freed and is not taken. */
static bool frame_get_unless_zero(phys_addr_t pa)
{
    struct page *pg = pa_to_page(pa);
    if (!pg || !(READ_ONCE(pg->flags) & PG_ALLOCATED))
        return false;
    uint32_t c = atomic_load_explicit(&pg->refcount, memory_order_relaxed);
    do {
        if (c == 0)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pg->refcount, &c, c + 1,
                                                    memory_order_acquire, memory_order_relaxed));
    return true;
}

/* The frame mapped at va in mm, with a reference the caller drops; false
 * if the fast path cannot take it. */
static bool grab_user_frame(struct mm *mm, uintptr_t va, bool write, phys_addr_t *frame)
{
    struct pt_walk w;
    struct arch_pte_ref ref;
    bool ok = false;
    pt_walk_begin(&w);
    if (arch_pte_lookup_lockless(mm, va, write, &ref, frame) && frame_get_unless_zero(*frame)) {
        /* The entry still maps the frame after our reference was taken:
         * the mapping's own reference kept the frame ours until then. */
        ok = arch_pte_ref_unchanged(&ref);
        if (!ok && frame_put_is_last(*frame))
            page_free(*frame, 0);
    }
    pt_walk_end(&w);
    return ok;
}

size_t uaccess_fast_copy(void *kbuf, uintptr_t uaddr, size_t len, bool to_user)
{
    struct task *t = current_task();
    struct mm *mm = t->mm;
    if (len < UACCESS_FAST_MIN || !mm || t->active_mm != mm)
        return 0;
    size_t done = 0;
    while (done < len) {
        uintptr_t va = uaddr + done;
        size_t off = va & (PAGE_SIZE - 1);
        size_t n = PAGE_SIZE - off < len - done ? PAGE_SIZE - off : len - done;
        phys_addr_t frame;
        if (!grab_user_frame(mm, va - off, to_user, &frame)) {
            count_event(mm, uaccess_fast_fallbacks);
            break;
        }
        char *page = phys_to_virt(frame);
        if (to_user)
            memcpy(page + off, (const char *)kbuf + done, n);
        else
            memcpy((char *)kbuf + done, page + off, n);
        if (frame_put_is_last(frame))
            page_free(frame, 0);        /* unmapped meanwhile: we held the last reference */
        count_event(mm, uaccess_fast_pages);
        done += n;
    }
    return done;
}
