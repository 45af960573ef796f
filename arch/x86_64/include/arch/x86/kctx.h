/*
 * arch/x86/kctx.h - per-CPU context tracking for deferred kernel flushes
 * (arch/x86_64/kctx.c, docs/tlb.md "Kernel flushes deferred for user and
 * idle CPUs").
 *
 * Each CPU publishes whether it runs kernel code, user code, or sits idle
 * in HLT.  flush_tlb_kernel_range() sends its IPI only to CPUs in kernel
 * mode; a CPU in user mode or idle is marked instead (KCTX_PENDING) and
 * drops every global entry at its next kernel entry (kctx_enter), before
 * any code that could use a deferrable kernel mapping runs.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

enum kctx_state {
    KCTX_KERNEL = 0,    /* running kernel code: a kernel flush must IPI it */
    KCTX_USER   = 1,    /* in ring 3, or the last instructions of the exit path */
    KCTX_IDLE   = 2,    /* halted in arch_safe_halt, or just before/after it */
};

extern bool kflush_defer;      /* kflush_defer=on|off (default on) */

/* The entry flush point: called first thing on every kernel entry (trap,
 * interrupt, system call, wake-up from HLT), interrupts off or not.  After
 * it returns, no deferred kernel flush is pending on this CPU. */
void kctx_enter(void);
/* Called last on the way to ring 3 (isr.asm, syscall_entry.asm), interrupts off. */
void kctx_exit_to_user(void);
/* Called by arch_safe_halt right before STI;HLT, interrupts off. */
void kctx_enter_idle(void);

/* Flusher side: if `cpu` is in user mode or idle, mark it to flush at its
 * next entry and return that state, KCTX_USER or KCTX_IDLE (no IPI needed:
 * the trace records which); KCTX_KERNEL if it runs kernel code (IPI it). */
enum kctx_state kctx_defer_kernel_flush(unsigned cpu);
/* cpu's state as last published (tests). */
enum kctx_state kctx_state_of(unsigned cpu);
