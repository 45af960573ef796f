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
 * task->arch.fpu_state (arch/task.h) and is saved/restored eagerly by arch_switch_to; the kernel
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
/* Set the value a system call returns to user mode in a frame (x86-64:
 * RAX); fork gives its child's copy of the parent's frame 0. */
static inline void arch_syscall_set_return(struct trap_frame *tf, uint64_t v) { tf->rax = v; }
/* The user stack pointer in a frame (fork copies the page it is in at once). */
static inline uintptr_t arch_user_frame_sp(const struct trap_frame *tf) { return tf->rsp; }
/* Save the current task's live FPU state into task->arch.fpu_state (before fork
 * copies it). */
void arch_fpu_save_current(void);

/* The vector number in the trap frame of a system call (no interrupt uses
 * it; syscall_entry.asm). */
#define TRAP_VECTOR_SYSCALL 256

/* An exception from user mode (exception.c): resolve it (a page fault the mm
 * can fix) or kill the process.  Returns only to resume user mode. */
void user_exception(struct trap_frame *tf);
/* A page fault in kernel mode at a user address (a uaccess copy): try to
 * fault the page in; true if the access can be retried. */
bool user_fault_from_kernel(struct trap_frame *tf, uintptr_t cr2);

/*
 * Tests: while set, a fatal user fault calls this instead of
 * process_kill_fault() (tests/test_uentry.c runs ring-3 code without
 * processes).  It must not return.
 */
typedef void (*user_fault_hook_t)(unsigned vector, uint64_t error_code, uintptr_t addr, uintptr_t rip);
extern user_fault_hook_t user_fault_test_hook;
