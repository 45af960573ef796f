/*
 * arch/x86_64/gs_base.c - pointing a CPU at its per-CPU area (arch/percpu.h).
 *
 * The offsets asserted here are the ones the assembly and the inline
 * accessors use: %gs:0 and %gs:8 in arch/percpu.h and panic_entry.asm,
 * %gs:16 and %gs:24 in syscall_entry.asm.
 */
#include <kernel/percpu.h>
#include <arch/x86/x86.h>

STATIC_ASSERT(offsetof(struct percpu_hdr, base) == 0, "percpu_hdr.base at %gs:0");
STATIC_ASSERT(offsetof(struct percpu_hdr, cpu) == 8, "percpu_hdr.cpu at %gs:8");
STATIC_ASSERT(offsetof(struct percpu_hdr, arch.kernel_stack_top) == 16, "used by syscall_entry.asm");
STATIC_ASSERT(offsetof(struct percpu_hdr, arch.user_rsp_scratch) == 24, "used by syscall_entry.asm");

void arch_percpu_init(uintptr_t base)
{
    wrmsr(MSR_GS_BASE, base);
}
