/*
 * arch/x86/gdt.h - segments and the task state segment.
 *
 * Long mode ignores segment bases and limits (except FS/GS bases, which come
 * from MSRs), but still needs code segments for the privilege level and a TSS
 * for the ring-0 stack (RSP0) and the interrupt stacks (IST).  The order of
 * the user segments is what SYSRET expects (see issue 4): data, then code.
 */
#pragma once
#include <stdint.h>

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_DATA   0x18    /* used with RPL 3: 0x1b */
#define GDT_USER_CODE   0x20    /* used with RPL 3: 0x23 */
#define GDT_TSS         0x28    /* 16-byte system descriptor */

/* Interrupt stack table slots (1-based, as in the IDT gate). */
#define IST_DOUBLE_FAULT    1
#define IST_NMI             2
#define IST_MACHINE_CHECK   3
#define IST_STACK_SIZE      8192

/* Build and load this CPU's GDT and TSS (each CPU calls it on itself, after
 * percpu_load()). */
void gdt_init_this_cpu(void);
/* The ring-0 stack the CPU switches to on an interrupt from ring 3. */
void tss_set_rsp0(uint64_t rsp0);
/* Bounds of this CPU's IST stack for slot ist, for backtraces. */
void ist_stack_bounds(unsigned ist, uintptr_t *lo, uintptr_t *hi);
