/*
 * arch/x86_64/panic_regs.c - where panic() records its caller's registers:
 * one struct trap_frame per CPU, filled by arch/x86_64/panic_entry.asm
 * before it jumps to panic_continue() (kernel/panic.c), which asks for them
 * with arch_panic_regs() (arch/trap.h).
 *
 * The assembly indexes the table with the CPU id from %gs:8 and stores at
 * the trap_frame offsets of trap_frame.inc; the asserts below keep the C
 * layout and those offsets in step.
 */
#include <arch/trap.h>
#include <kernel/compiler.h>
#include <kernel/config.h>

struct trap_frame panic_regs[MAX_CPUS];
const unsigned int panic_regs_cpus = MAX_CPUS;
STATIC_ASSERT(sizeof(struct trap_frame) == 176, "panic_entry.asm: TF_SIZE");
STATIC_ASSERT(offsetof(struct trap_frame, rbp) == 64, "panic_entry.asm: TF_RBP");
STATIC_ASSERT(offsetof(struct trap_frame, rax) == 112, "panic_entry.asm: TF_RAX");
STATIC_ASSERT(offsetof(struct trap_frame, rip) == 136, "panic_entry.asm: TF_RIP");
STATIC_ASSERT(offsetof(struct trap_frame, ss) == 168, "panic_entry.asm: TF_SS");

const struct trap_frame *arch_panic_regs(unsigned cpu)
{
    return cpu < panic_regs_cpus ? &panic_regs[cpu] : NULL;
}
