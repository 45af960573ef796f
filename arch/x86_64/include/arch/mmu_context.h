/*
 * arch/mmu_context.h - the address-space step of a context switch
 * (arch/x86_64/mm/tlb_switch.c; the state machine is in docs/tlb.md).
 *
 * switch_mm() makes `next` the CPU's address space; enter_lazy_tlb() is
 * called instead when the next task is a kernel thread, which has no
 * address space of its own and keeps using (borrows) the one loaded.
 * leave_mm() makes a CPU stop using a user address space it has loaded
 * (lazily) and load init_mm's: for flushes that free page tables and for
 * lazy-mm shootdowns.  switch_mm and enter_lazy_tlb run with interrupts
 * off: the kernel calls them from the scheduler's context switch
 * (kernel/sched/core.c) and from lazy_mm_exit_mm (kernel/mm/lazy_mm.c), and
 * the tests' unuse_mm (tests/mm_test_util.h) does what the context switch
 * does; leave_mm disables them itself.
 *
 * The CPU's own record of what CR3 holds (cpu_tlbstate.loaded_mm,
 * arch/x86/tlbstate.h) is the truth; `prev` and the task's active_mm are the
 * scheduler's business (they differ after leave_mm: the kernel thread
 * still borrows the mm, CR3 holds init_mm).
 *
 * mm->cpumask: the CPUs that may hold translations of the mm.  A CPU sets
 * its bit before it loads the mm (test first: no locked write when it is
 * set already) and clears it itself, lazily, when a flush for the mm finds
 * it neither running nor borrowing the mm (arch/x86_64/mm/tlb.c).
 * Invariant: every CPU whose loaded_mm is M, or whose current task
 * borrows M, has its bit set in M->cpumask.
 */
#pragma once
#include <kernel/mm.h>

struct task;

/* Load next (a user mm or &init_mm), or leave lazy mode if it is loaded. */
void switch_mm(struct mm *prev, struct mm *next, struct task *tsk);
/* The next task is a kernel thread borrowing mm (the loaded mm): go lazy. */
void enter_lazy_tlb(struct mm *mm, struct task *tsk);
/* Load init_mm if a user mm is loaded (lazily or not). */
void leave_mm(void);
/* This CPU is on init_mm and its kernel thread still borrows the user mm it
 * left: flushers may skip it until it loads a user mm again (PARK in
 * tlb_switch.c).  Interrupts off. */
void tlb_park_this_cpu(void);
