/*
 * kernel/lazy_mm.h - how long a lazily borrowed mm lives (docs/lazy-mm.md).
 *
 * A kernel thread has no mm; it runs on the one the CPU had loaded and
 * records it as its active_mm (it "borrows" it).  Only the CPU's current
 * task can borrow: a kernel thread's borrow is handed over at a switch to
 * another kernel thread and ends at a switch to a user task.  What keeps a
 * borrowed mm's struct and PML4 alive is chosen with
 * lazy_mm=refcount|shootdown|hazard|mmput:
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
 *   mmput     - borrows hold nothing; the last mmput's teardown flush, which
 *               IPIs every CPU in mm->cpumask anyway (it frees page tables),
 *               also ends the borrow on each CPU it reaches, so the last
 *               mmdrop has nobody left to call.
 *
 * The scheduler calls the hooks below from context_switch() with
 * interrupts off and rq->lock held (except lazy_mm_borrow_end, called from
 * finish_task_switch() after the lock is released, interrupts still off).
 * init_mm is never freed: borrowing it costs nothing in any mode (the
 * hooks return at once for it), so nobody takes references on init_mm.
 *
 * The protocol - invariants, and the memory-ordering pairs that make the
 * freeing side see every borrower - is written down in kernel/mm/lazy_mm.c.
 */
#pragma once
#include <stdbool.h>

struct mm;
struct task;

enum lazy_mm_mode { LAZY_MM_REFCOUNT, LAZY_MM_SHOOTDOWN, LAZY_MM_HAZARD, LAZY_MM_MMPUT,
                   LAZY_MM_NR_MODES };
extern int lazy_mm_mode;                /* enum lazy_mm_mode (boot option lazy_mm=) */
const char *lazy_mm_mode_name(void);
/* Boot: print the mode ("lazy_mm: mode X"); called by sched_init(). */
void lazy_mm_init(void);

/* user -> kernel thread: this CPU's new current task borrows mm. */
void lazy_mm_borrow_start(struct mm *mm);
/* After a kernel -> user switch completed: the borrow of mm has ended
 * (this CPU no longer has mm loaded).  Interrupts off, rq->lock released;
 * may free mm in refcount mode only (the last mmdrop needs no IPI there). */
void lazy_mm_borrow_end(struct mm *mm);
/* exit_mm: the current user task gives up its mm (task->mm = NULL) and goes
 * on running on it lazily, as a borrower, until it switches away.  Then
 * drops its user reference (mmput). */
void lazy_mm_exit_mm(struct task *me);
/* The last mmdrop is about to free mm: make every CPU that still borrows it
 * let go (shootdown/hazard: the IPIs; refcount: nothing can borrow it). */
void lazy_mm_before_free(struct mm *mm);
/* Make every CPU that borrows mm (any user mm when NULL) switch to init_mm
 * and end its borrow now (reaper, leak checks).  Calls the CPUs of
 * mm->cpumask for one mm, every online CPU for NULL.  Waits; thread context
 * (refcount: the references come back and are dropped here, not in the
 * IPIs, so a last mmdrop never runs in interrupt context). */
void lazy_mm_drop_borrowers(struct mm *mm);
/* mmput mode: does this flush of an mm end every lazy borrow of it?  Yes
 * for the last mmput's teardown flush (teardown: its cause is
 * TLB_CAUSE_TEARDOWN; page tables freed), in mmput mode only.  Asked once
 * by the flush's initiator (flush_tlb_mm_range). */
bool lazy_mm_flush_ends_borrows(bool freed_tables, bool teardown);
/* In the handler of such a flush, on every CPU it reaches (the initiator
 * included; interrupts off, after the TLB work): the current task's borrow
 * of mm, if it has one, ends here - leave_mm, active_mm = &init_mm.  `from`
 * is the initiating CPU (for tlb_inject=skip_mmput_drop). */
void lazy_mm_flush_end_borrow(struct mm *mm, unsigned from);
/* hazard mode: the user mm CPU `cpu` publishes as borrowed, or NULL (always
 * NULL in the other modes).  For tests and debugging. */
struct mm *lazy_mm_hazard_slot(unsigned cpu);
