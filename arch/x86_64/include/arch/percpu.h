/* arch/percpu.h - how x86-64 finds "this CPU": the GS segment base
 * (MSR_GS_BASE) points at the CPU's per-CPU area, whose first word is its
 * own address and whose second is the CPU id (struct percpu_hdr). */
#pragma once
#include <stdint.h>

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
