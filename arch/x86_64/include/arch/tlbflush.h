/*
 * arch/tlbflush.h - the TLB instructions of THIS CPU, one primitive each
 * (arch/x86_64/mm/tlb_ops.c, docs/tlb.md).
 *
 * Nothing else in the kernel executes MOV to CR3, INVLPG, INVPCID or a
 * CR4.PGE toggle after boot.  Each primitive counts what it executed
 * (group `tlb`) and tells the shadow-TLB checker (arch/tlbcheck/insn.h) right
 * after the instruction, with interrupts off so that the instruction and
 * its report cannot be separated by an interrupt handler's own flushes.
 *
 * Reaching OTHER CPUs is the job of flush_tlb_mm_range() (user address
 * spaces, arch/x86_64/mm/tlb.c) and flush_tlb_kernel_range() (kernel
 * half, arch/x86_64/mm/tlb_kernel.c).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <kernel/debug/counters.h>

struct mm;

/* INVPCID types (Intel SDM vol. 2, INVPCID). */
enum invpcid_type {
    INVPCID_ADDR = 0,           /* one address in one PCID */
    INVPCID_SINGLE = 1,         /* all non-global of one PCID */
    INVPCID_ALL_GLOBAL = 2,     /* everything, global entries included */
    INVPCID_ALL_NONGLOBAL = 3,  /* everything but global entries */
};

/* CR3 bit 63 with CR4.PCIDE: do not flush the new PCID's entries. */
#define CR3_NOFLUSH (1ull << 63)

/*
 * MOV to CR3: load mm's PML4 (init_mm: the kernel's) with `pcid`.
 * noflush keeps the PCID's cached translations (only with PCID on); without
 * it the new PCID's non-global entries are dropped (all non-global entries
 * when PCID is off).  Counts tlb.cr3_write_flush / tlb.cr3_write_noflush.
 */
void tlb_write_cr3(struct mm *mm, unsigned pcid, bool noflush);

/* INVLPG va: the current PCID's entry for va, global entries for va, and
 * the current PCID's paging-structure caches.  Counts tlb.invlpg. */
void tlb_invlpg(uintptr_t va);

/* INVPCID of `type` with descriptor {pcid, va} (only when tlb_use_invpcid).
 * Counts tlb.invpcid_<type>. */
void tlb_invpcid(enum invpcid_type type, unsigned pcid, uintptr_t va);

/* Toggle CR4.PGE off and on: drops every TLB entry and every
 * paging-structure cache entry, of every PCID, global ones too.  Counts
 * tlb.pge_toggle. */
void tlb_pge_toggle(void);

/* Counted by tlb_ops.c and by the full flushes of tlb.c / tlb_switch.c. */
DECLARE_COUNTER(tlb, flush_full);

/* ---- built from the primitives -------------------------------------------- */

/* One page of the current address space (INVLPG). */
void local_flush_tlb_page(uintptr_t va);
/* Everything, global kernel entries and every PCID included: INVPCID type 2
 * where allowed, else the CR4.PGE toggle (else a CR3 reload: without PGE
 * nothing is global and there is only PCID 0).  Counts tlb.flush_full. */
void local_flush_tlb_all(void);
/* Kernel pages [start, end) on this CPU: INVLPG each (the entries are
 * global, so INVLPG drops them whatever PCID is current), or
 * local_flush_tlb_all() above tlb_flush_ceiling pages. */
void local_flush_tlb_kernel_range(uintptr_t start, uintptr_t end);

/* Boot: decide PCID/INVPCID from CPUID and pcid=/invpcid= (boot CPU, after
 * the command line and the switch to the kernel's page tables), print it,
 * and set this CPU up; tlb_init_this_cpu() does the same on each AP. */
void tlb_init(void);
void tlb_init_this_cpu(void);
/* Whether PCID-tagged TLBs are in use (the CPU has PCID and pcid= is on):
 * what a report of the machine's TLB set-up says (SYS_tlb_stats). */
bool arch_tlb_pcid_enabled(void);
