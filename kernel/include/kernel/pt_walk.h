/*
 * kernel/pt_walk.h - walking a user address space's page tables without
 * its lock, and freeing page tables so that such a walk stays safe
 * (kernel/mm/pt_walk.c, kernel/mm/pt_free.c, docs/rcu.md).
 *
 * A lockless walk reads the tables while another thread of the process
 * may unmap and free them.  Two ways keep a table alive while a walk is in
 * it, chosen at boot with pt_free=:
 *   ipi  (default) the walk runs with interrupts off.  A table is freed
 *        only after the flush with freed_tables returned, which waited for
 *        every CPU running the mm to take its IPI; the walker's CPU runs the
 *        mm (it walks its own), so the free waits for the walk to end.
 *   rcu  the walk is an RCU reader (interrupts stay on: flush IPIs are not
 *        delayed); tables are freed after the flush AND a grace period.
 * Either way the walk must be short and must not sleep.
 *
 *     struct pt_walk w;
 *     pt_walk_begin(&w);
 *     ok = arch_pte_lookup_lockless(mm, va, write, &ref, &frame);
 *     ... take what you need (a frame reference) ...
 *     pt_walk_end(&w);
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

enum pt_free_mode { PT_FREE_IPI, PT_FREE_RCU, PT_FREE_NR_MODES };
extern int pt_free_mode;        /* enum pt_free_mode, from the command line */

/* Boot: say which mode is in force (the runner's pt_free rows require it). */
void pt_free_init(void);

/* Wait until every callback queued so far has run AND every page table
 * waiting for a grace period is free again (rcu_barrier() alone is not
 * enough: the tables that waited during one grace period are queued for
 * the next by the callback of the first).  For leak checks. */
void pt_free_drain(void);

struct pt_walk {
    uint64_t irq_flags;
};
void pt_walk_begin(struct pt_walk *w);
void pt_walk_end(struct pt_walk *w);

/*
 * The fast path of copy_from_user / copy_to_user (arch/x86_64/uaccess.c):
 * copy page by page through the direct map, each page found by a lockless
 * walk of the current task's mm and held by a frame reference while it is
 * copied (taken inside the walk, the entry checked again after, like
 * Linux's GUP-fast).  Returns how many bytes were copied from the start;
 * the caller copies the rest the slow way (faults, copy-on-write, errors).
 * The range must have passed the user range check.
 *
 * Only copies of UACCESS_FAST_MIN bytes or more take it (the rest copy
 * nothing here and return 0).  A walk and a frame reference per page cost
 * more than the copy instructions' own walk by the MMU, and the reference
 * is an atomic on the frame's shared count: on the small copies of every
 * system call (arguments, an IPC message, a futex word) that tripled an IPC
 * round trip (docs/rcu.md, "The lockless walker").  Large transfers are
 * where a GUP-fast-like walk belongs.
 */
#define UACCESS_FAST_MIN 1024
size_t uaccess_fast_copy(void *kbuf, uintptr_t uaddr, size_t len, bool to_user);
