/*
 * arch/task.h - the architecture's part of a task (struct task.arch,
 * kernel/sched.h) and of a context switch.
 *
 * x86-64 keeps, per task, the kernel stack pointer while the task is
 * switched out (the callee-saved registers are on that stack, pushed by
 * arch_switch_stack) and the user FPU/SSE registers as an FXSAVE image.
 * Generic code never looks inside: it creates the first stack frame with
 * arch_task_init_stack(), switches with arch_switch_to() and
 * arch_switch_stack(), and copies the FPU image for fork with
 * arch_task_copy_fpu().
 */
#pragma once
#include <stdint.h>
#include <kernel/compiler.h>
#include <lib/string.h>

struct task;

struct arch_task {
    /* Saved kernel stack pointer while switched out; first, because
     * switch.asm stores and loads it at offset 0. */
    uintptr_t ctx_rsp;
    /* FXSAVE image of the user FPU/SSE state (user threads only). */
    uint8_t fpu_state[512] __aligned(16);
};

/*
 * Lay out a new task's kernel stack (its top at stack_top) so that the
 * first arch_switch_stack() to it "returns" into task_start(prev)
 * (kernel/sched/kthread.c) with a clean call chain.
 */
void arch_task_init_stack(struct arch_task *t, uintptr_t stack_top);

/*
 * The per-task CPU state a switch moves besides the stack, called by
 * context_switch() (kernel/sched/core.c) just before arch_switch_stack(),
 * with interrupts off: the ring-0 stack for entries from user mode, and the
 * user FPU/SSE registers.
 */
void arch_switch_to(struct task *prev, struct task *next);

/*
 * The stack switch (arch/x86_64/switch.asm): save the callee-saved
 * registers and stack pointer of the running task in prev, load next's and
 * return on next's stack - to where next last called arch_switch_stack, or
 * into task_start() for a new task.  Returns prev_task as seen on the new
 * stack, so the code that continues there knows which task it came from.
 */
struct task *arch_switch_stack(struct arch_task *prev, struct arch_task *next, struct task *prev_task);

/* fork: the child starts with the parent's user FPU/SSE state (saved first
 * with arch_fpu_save_current(), arch/user.h). */
static inline void arch_task_copy_fpu(struct arch_task *child, const struct arch_task *parent)
{
    memcpy(child->fpu_state, parent->fpu_state, sizeof(child->fpu_state));
}
