/*
 * kernel/percpu.h - per-CPU variables.
 *
 * A per-CPU variable is defined once, in the file that owns it:
 *
 *     DEFINE_PER_CPU(struct runqueue, runqueue);
 *
 * and every CPU gets its own copy.  There is one accessor for "this CPU" and
 * one for "CPU n":
 *
 *     struct runqueue *rq = this_cpu_ptr(&runqueue);
 *     struct runqueue *rq1 = per_cpu_ptr(&runqueue, 1);
 *
 * How it works: the linker gathers all such variables into .percpu (see
 * linker.ld).  CPU 0 uses that section in place; kernel/smp/percpu.c gives every
 * other CPU a zeroed copy of the same size.  A variable's address in the
 * section minus __percpu_start is its offset in every copy.  Each CPU keeps
 * the address of its own copy where the architecture can reach it in one
 * instruction (arch/percpu.h; x86-64: the GS base), and the copy starts with
 * a struct percpu_hdr, so "this CPU" costs one load.
 *
 * Rules:
 *  - Per-CPU variables start zeroed on every CPU: initialize them in code.
 *  - this_cpu_ptr() names the CPU the caller runs on *now*.  If the caller
 *    can migrate (once the scheduler preempts), disable preemption or
 *    interrupts around the use.
 */
#pragma once
#include <kernel/compiler.h>
#include <arch/percpu.h>
#include <kernel/sections.h>

#define DEFINE_PER_CPU(type, name) __section(".percpu") __typeof__(type) name
#define DECLARE_PER_CPU(type, name) extern __typeof__(type) name

/* Base of each CPU's copy; [0] is __percpu_start itself. */
extern uintptr_t percpu_base[];

/*
 * The first bytes of every CPU's copy (section .percpu.first).  The
 * architecture's one-instruction accessors (arch_this_cpu_base/_id) and its
 * entry assembly read these fields at fixed offsets; arch/x86_64/gs_base.c
 * asserts them.
 */
struct percpu_hdr {
    uintptr_t base;             /* address of this copy */
    unsigned int cpu;           /* dense CPU id, 0..nr_cpus-1 */
    struct arch_percpu arch;    /* the architecture's own slots (arch/percpu.h) */
};

#define __percpu_offset(ptr) ((uintptr_t)(ptr) - (uintptr_t)__percpu_start)

#define this_cpu_ptr(ptr) \
    ((__typeof__(ptr))(arch_this_cpu_base() + __percpu_offset(ptr)))
#define per_cpu_ptr(ptr, cpu) \
    ((__typeof__(ptr))(percpu_base[(cpu)] + __percpu_offset(ptr)))

/* The value of an 8-byte per-CPU variable on this CPU, read in one
 * instruction (safe against preemption between address and load). */
#define this_cpu_read(var) \
    ((__typeof__(var))arch_this_cpu_read_u64(__percpu_offset(&(var))))

static inline unsigned int this_cpu_id(void) { return arch_this_cpu_id(); }

/* Boot CPU: make the .percpu section its copy (before anything uses per-CPU data). */
void percpu_init_bsp(void);
/* Allocate a zeroed copy for CPU n (n >= 1); returns its base, 0 on failure. */
uintptr_t percpu_alloc(unsigned int cpu);
/* Make CPU n's copy this CPU's (arch_percpu_init); called by each CPU on itself. */
void percpu_load(unsigned int cpu);
