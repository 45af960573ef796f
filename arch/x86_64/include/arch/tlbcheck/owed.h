/*
 * arch/tlbcheck/owed.h - the shadow-TLB checker's "flush owed" rule
 * (docs/tlbcheck.md, "Flush owed").
 *
 * A change that lowered rights (every change tc_pte_change numbers, and
 * every unhooking of page tables) must be covered by a completed flush of
 * its mm before the code that made it lets go:
 *   - when it releases the mm's lock for writing (mm_unlock in kernel/mm):
 *     every change of the mm so far is covered, i.e. the mm's done_seq has
 *     reached its seq (op mm_unlock); for reading (mm_read_unlock): every
 *     change the releasing thread made is (op mm_unlock too);
 *   - when a thread returns to user mode with an mm loaded: no change it
 *     made of that mm is still open (op user_return) - the backstop for a
 *     change made without the lock.
 * The flush checks (flush_end, user_access) only see changes that some
 * later flush covers; a change that is never flushed is caught here.
 *
 * Who made a change and whether its flush returned is the mm's open set
 * (arch/tlbcheck/open.h).
 */
#pragma once
#include <stdint.h>

struct tc_model;
struct tc_cpu;
struct tc_mm;

/* CPU c releases m's lock for writing: no change of m may be left unflushed. */
void tc_check_mm_unlock(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m);
/* CPU c releases m's lock for reading in thread `task`: no change task made
 * may be left unflushed (other readers' changes are theirs: open.h). */
void tc_check_mm_read_unlock(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m,
                             const void *task);
/* CPU c (caller holds c->lock) returns to user mode in thread `task` with
 * c's loaded mm: no change task made of it may be left unflushed. */
void tc_check_user_return(struct tc_model *md, struct tc_cpu *c, const void *task);
