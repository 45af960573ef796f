/*
 * kernel/lazy_mm.h - how long a lazily borrowed mm lives (docs/lazy-mm.md).
 *
 * A kernel thread has no mm; it runs on the one the CPU had loaded and
 * records it as its active_mm (it "borrows" it).  Only the CPU's current
 * task can borrow: a kernel thread's borrow is handed over at a switch to
 * another kernel thread and ends at a switch to a user task.  What keeps a
 * borrowed mm's struct and PML4 alive is chosen with
 * lazy_mm=refcount|shootdown|hazard:
 *
 *   refcount  - a borrow holds an mm_count reference: mmgrab at
 *               user -> kernel, mmdrop after the kernel -> user switch.
 *   shootdown - borrows hold nothing; before the last mmdrop frees the mm,
 *               the CPUs in mm->cpumask are IPI'd and a CPU still borrowing
 *               it moves to init_mm.  Invariant: mm->cpumask covers every
 *               CPU whose current task borrows the mm.
 *   hazard    - each CPU publishes the mm its kernel thread borrows in one
 *               per-CPU slot (a plain store); the freeing side scans the
 *               slots and IPIs only the CPUs whose slot holds the mm.
 *
 * The scheduler calls the hooks below from context_switch() with
 * interrupts off and rq->lock held (except lazy_mm_borrow_end, called from
 * finish_task_switch() after the lock is released).
 */
#pragma once
#include <stdbool.h>

struct mm;
struct task;

enum lazy_mm_mode { LAZY_MM_REFCOUNT, LAZY_MM_SHOOTDOWN, LAZY_MM_HAZARD, LAZY_MM_NR_MODES };
extern int lazy_mm_mode;                /* enum lazy_mm_mode (boot option lazy_mm=) */
const char *lazy_mm_mode_name(void);

/* user -> kernel thread: this CPU's new current task borrows mm. */
void lazy_mm_borrow_start(struct mm *mm);
/* After a kernel -> user switch completed: the borrow of mm has ended
 * (this CPU no longer has mm loaded).  Interrupts on; may free mm. */
void lazy_mm_borrow_end(struct mm *mm);
/* exit_mm: the current user task gives up its mm (task->mm = NULL) and goes
 * on running on it lazily, as a borrower, until it switches away.  Then
 * drops its user reference (mmput). */
void lazy_mm_exit_mm(struct task *me);
/* The last mmdrop is about to free mm: make every CPU that still borrows it
 * let go (shootdown/hazard: the IPIs; refcount: nothing can borrow it). */
void lazy_mm_before_free(struct mm *mm);
/* Make every CPU that borrows mm (any user mm when NULL) switch to init_mm
 * and end its borrow now (reaper, leak checks).  Waits. */
void lazy_mm_drop_borrowers(struct mm *mm);
