/*
 * arch/cpu.h - the operations on "this processor" that generic code uses:
 * its interrupt flag, the spin-wait hint, halting until an interrupt, and a
 * cycle counter for timestamps.
 *
 * x86-64: the interrupt flag is RFLAGS.IF (cli/sti); the hint is `pause`;
 * the halt is `hlt`; the cycle counter is the TSC.  Each wrapper that must
 * not be moved across memory accesses carries a "memory" clobber.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>

#define ARCH_FLAGS_IF (1ul << 9)    /* RFLAGS.IF in what arch_irq_save returns */

static inline uint64_t arch_read_flags(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0" : "=r"(f) :: "memory");
    return f;
}

static inline void arch_irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void arch_irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline bool arch_irqs_enabled(void) { return arch_read_flags() & ARCH_FLAGS_IF; }
/* Interrupts off; returns what arch_irq_restore needs to put them back as
 * they were.  Nests: only the outermost restore turns them on again. */
static inline uint64_t arch_irq_save(void) { uint64_t f = arch_read_flags(); arch_irq_disable(); return f; }
static inline void arch_irq_restore(uint64_t f) { if (f & ARCH_FLAGS_IF) arch_irq_enable(); }

/* Spin-wait hint: frees the sibling hyperthread and tells a hypervisor (and
 * QEMU's MTTCG) that this vCPU is waiting.  Every busy loop uses it. */
static inline void arch_cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
/* Stop until the next interrupt (or NMI); with interrupts off, for good. */
static inline void arch_halt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* Interrupts on and halt, as one step: sti takes effect after the next
 * instruction, so "sti; hlt" cannot lose an interrupt that arrives between
 * the two (the idle loop's check-then-sleep relies on it). */
/* It also publishes "idle" for deferred kernel flushes around the halt
 * (arch/x86_64/kctx.c). */
void arch_safe_halt(void);

/* Are these CPUs virtual, so that a host may take a CPU's core away at any
 * moment (x86: the CPUID "hypervisor" bit)?  Spinlocks choose their kind by
 * it (kernel/spinlock.h).  Valid after arch_init(). */
bool arch_cpus_are_virtual(void);

/* A cycle counter: monotonic on each CPU, for timestamps and benchmarks
 * (not a clock: kernel/time.h converts). */
static inline uint64_t arch_cycles(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
