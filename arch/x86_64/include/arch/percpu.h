/* arch/percpu.h - how x86-64 finds "this CPU": the GS segment base
 * (MSR_GS_BASE) points at the CPU's per-CPU area, whose first word is its
 * own address and whose second is the CPU id (struct percpu_hdr,
 * kernel/percpu.h).  arch/x86_64/gs_base.c asserts those offsets. */
#pragma once
#include <stdint.h>

/*
 * The x86-64 part of every CPU's per-CPU header (struct percpu_hdr.arch),
 * for the system-call entry (arch/x86_64/syscall_entry.asm), which has no
 * free register to compute a per-CPU address with and so needs fixed %gs
 * offsets: the kernel stack top of the task running here (kept by
 * arch_switch_to) and a slot for the user RSP while switching stacks.
 */
struct arch_percpu {
    uintptr_t kernel_stack_top;
    uintptr_t user_rsp_scratch;
};

/* Make `base` this CPU's per-CPU area (writes MSR_GS_BASE): the "this CPU"
 * accessors below work from here on.  Each CPU calls it on itself. */
void arch_percpu_init(uintptr_t base);

static inline uintptr_t arch_this_cpu_base(void)
{
    uintptr_t b;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(b));
    return b;
}

static inline unsigned int arch_this_cpu_id(void)
{
    unsigned int id;
    __asm__ volatile("movl %%gs:8, %0" : "=r"(id));
    return id;
}

/* Read an 8-byte per-CPU variable of this CPU in one instruction, so that
 * the read cannot be split by a preemption and a migration in between. */
static inline uint64_t arch_this_cpu_read_u64(uintptr_t offset)
{
    uint64_t v;
    __asm__ volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"(offset));
    return v;
}

/* Add to a 4-byte per-CPU variable of this CPU in one instruction: a
 * preemption cannot fall between finding "this CPU" and the update (which
 * would update the CPU we *were* on).  Not atomic against other CPUs, and
 * need not be: only this CPU writes its own copy. */
static inline void arch_this_cpu_add_int(uintptr_t offset, int v)
{
    __asm__ volatile("addl %1, %%gs:(%0)" :: "r"(offset), "ri"(v) : "memory", "cc");
}

static inline int arch_this_cpu_read_int(uintptr_t offset)
{
    int v;
    __asm__ volatile("movl %%gs:(%1), %0" : "=r"(v) : "r"(offset) : "memory");
    return v;
}

static inline uint8_t arch_this_cpu_read_u8(uintptr_t offset)
{
    uint8_t v;
    __asm__ volatile("movb %%gs:(%1), %0" : "=q"(v) : "r"(offset) : "memory");
    return v;
}

/* Add to an 8-byte per-CPU variable of this CPU in one instruction (the
 * event counters of kernel/debug/counters.h); same reasoning as the 4-byte add. */
static inline void arch_this_cpu_add_u64(uintptr_t offset, uint64_t v)
{
    __asm__ volatile("addq %1, %%gs:(%0)" :: "r"(offset), "er"(v) : "memory", "cc");
}
