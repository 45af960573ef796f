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
