/*
 * arch/user.h - entering and leaving user mode (ring 3).
 *
 * A user thread is a task with task->mm set (the scheduler switches to that
 * mm when it runs the task).  It starts like any kernel thread, in a kernel
 * function on its own kernel stack, which then drops to user mode with
 * arch_enter_user() (first run) or arch_return_to_user() (a fork child,
 * resuming a copy of its parent's system-call frame).
 *
 * From then on the task enters the kernel through SYSCALL (system calls) or
 * an interrupt/exception, always at the top of its kernel stack (TSS RSP0
 * and the per-CPU system-call stack pointer are switched by arch_switch_to),
 * with its user registers saved in a struct trap_frame at the top of that
 * stack.
 *
 * User FPU/SSE state (user programs are ordinary compiled C) lives in
 * task->fpu_state and is saved/restored eagerly by arch_switch_to; the kernel
 * itself never touches FPU/SSE registers (-mgeneral-regs-only).
 */
#pragma once
#include <arch/trap.h>
#include <kernel/compiler.h>

struct task;

/* Per CPU, once: SYSCALL MSRs (EFER.SCE, STAR, LSTAR, FMASK), FPU control bits. */
void arch_user_init_this_cpu(void);
/* Drop to user mode at rip with RSP = rsp and RDI = arg, fresh FPU state. */
__noreturn void arch_enter_user(uintptr_t rip, uintptr_t rsp, uint64_t arg);
/* Return to user mode with exactly these registers (a fork child: the
 * parent's frame with RAX = 0). */
__noreturn void arch_return_to_user(const struct trap_frame *tf);
/* The user registers of the current task's system call in progress. */
struct trap_frame *current_user_frame(void);
/* Save the current task's live FPU state into task->fpu_state (before fork
 * copies it). */
void arch_fpu_save_current(void);
