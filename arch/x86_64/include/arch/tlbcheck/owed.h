/*
 * arch/tlbcheck/owed.h - the shadow-TLB checker's "flush owed" rule
 * (docs/tlbcheck.md, "Flush owed").
 *
 * A change that lowered rights (every change tc_pte_change numbers, and
 * every unhooking of page tables) must be covered by a completed flush of
 * its mm before the code that made it lets go:
 *   - when it releases the mm's lock (mm_unlock in kernel/mm): every change
 *     of the mm so far is covered, i.e. the mm's done_seq has reached its
 *     seq (op mm_unlock);
 *   - when the thread that made the mm's latest change returns to user mode
 *     with that mm loaded: that change is covered (op user_return) - the
 *     backstop for a change made without the lock.
 * The flush checks (flush_end, user_access) only see changes that some
 * later flush covers; a change that is never flushed is caught here.
 *
 * Per mm (struct tc_mm_owed, inside struct tc_mm, under its lock): who made
 * the latest change and its number.
 */
#pragma once
#include <stdint.h>

struct tc_model;
struct tc_cpu;
struct tc_mm;

struct tc_mm_owed {
    const void *task;           /* the thread that made the latest change (opaque) */
    uint64_t seq;               /* that change's number */
};

/* `task` made change `seq` of m (takes m->lock). */
void tc_owed_note(struct tc_mm *m, const void *task, uint64_t seq);
/* CPU c releases m's lock: no change of m may be left unflushed. */
void tc_check_mm_unlock(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m);
/* CPU c (caller holds c->lock) returns to user mode in thread `task` with
 * c's loaded mm: if task made that mm's latest change, it is flushed. */
void tc_check_user_return(struct tc_model *md, struct tc_cpu *c, const void *task);
