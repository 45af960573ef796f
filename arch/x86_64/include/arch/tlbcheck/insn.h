/*
 * arch/tlbcheck/insn.h - the TLB instructions, as seen by the shadow-TLB checker
 * (kernel/debug/tlbcheck.h).  The arch primitives that execute them call these
 * right after the instruction, interrupts off, on the CPU that executed it.
 * Nothing else may execute these instructions (so the model sees them all).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct mm;

/* MOV to CR3 of `written`, meant to load mm's PML4 with `pcid` (0 when
 * PCID is off) and `noflush` (CR3 bit 63, only with PCID).  The checker
 * reads CR3 back and models what the hardware holds; a difference from
 * the claim, a PML4 no live mm owns, or an mm whose cpumask lacks this
 * CPU is a violation. */
void tlbcheck_cr3_write(struct mm *mm, unsigned pcid, bool noflush, uint64_t written);
/* INVLPG va, in the current PCID (global entries for va too). */
void tlbcheck_invlpg(uintptr_t va);
/* INVPCID of `type` (0 address, 1 single context, 2 all incl. global,
 * 3 all non-global) with descriptor {pcid, va}. */
void tlbcheck_invpcid(unsigned type, unsigned pcid, uintptr_t va);
/* CR4.PGE toggled off and on (or CR4.PCIDE changed): everything dropped. */
void tlbcheck_flush_everything(void);

/* flush_tlb_kernel_range(start, end) brackets (arch/x86_64/mm/tlb_kernel.c):
 * begin returns a token (the kernel-half changes recorded so far); end
 * asserts that every online CPU dropped the old entries of those inside
 * [start, end).  Kernel-half PTE changes reach the checker as
 * tlbcheck_pte_change(&init_mm, va, ...) with va >= USER_TOP. */
uint64_t tlbcheck_kernel_flush_begin(void);
void tlbcheck_kernel_flush_end(uint64_t token, uintptr_t start, uintptr_t end);
/* Kernel-half page tables were unhooked (returns a token for the free), and
 * are about to be freed after the flush: no online CPU may have
 * paging-structure caches from before the unhooking, in any PCID. */
/* The flush of token was deferred for `cpu` (in user mode or idle,
 * arch/x86_64/kctx.c): flush_tlb_kernel_range's end excuses it, and its
 * next kernel entry must drop every global entry before it passes the
 * entry flush point, where tlbcheck_kernel_entry() checks that it did. */
void tlbcheck_kernel_defer(unsigned cpu, uint64_t token);
void tlbcheck_kernel_entry(void);
uint64_t tlbcheck_kernel_tables_unlinked(uintptr_t va);
void tlbcheck_kernel_tables_free(uint64_t unlinked);
