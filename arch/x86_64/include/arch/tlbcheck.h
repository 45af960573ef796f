/*
 * arch/tlbcheck.h - the TLB instructions, as seen by the shadow-TLB checker
 * (kernel/tlbcheck.h).  The arch primitives that execute them call these
 * right after the instruction, interrupts off, on the CPU that executed it.
 * Nothing else may execute these instructions (so the model sees them all).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct mm;

/* MOV to CR3 loading mm's PML4 with `pcid` (0 when PCID is off);
 * `noflush` is CR3 bit 63 (only with PCID). */
void tlbcheck_cr3_write(struct mm *mm, unsigned pcid, bool noflush);
/* INVLPG va, in the current PCID (global entries for va too). */
void tlbcheck_invlpg(uintptr_t va);
/* INVPCID of `type` (0 address, 1 single context, 2 all incl. global,
 * 3 all non-global) with descriptor {pcid, va}. */
void tlbcheck_invpcid(unsigned type, unsigned pcid, uintptr_t va);
/* CR4.PGE toggled off and on (or CR4.PCIDE changed): everything dropped. */
void tlbcheck_flush_everything(void);
