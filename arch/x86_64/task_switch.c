/*
 * arch/x86_64/task_switch.c - a new task's first stack frame, and
 * arch_switch_to() (see arch/task.h).
 *
 * arch_switch_to() is called with interrupts off, on prev's stack, just
 * before arch_switch_stack().
 *
 * Kernel stack for entries from user mode: the CPU takes it from TSS.RSP0
 * on an interrupt from ring 3, syscall_entry.asm from the per-CPU
 * kernel_stack_top.  Both must name the top of the stack of whichever task
 * runs here, so that its trap frame lands at current_user_frame().
 *
 * FPU/SSE, eagerly: the kernel never uses FPU/SSE registers
 * (-mgeneral-regs-only), so while a user task is switched in, they hold its
 * user state, even while it runs in the kernel.  Switching away from a user
 * task saves them into prev->arch.fpu_state; switching to one restores its own.
 * Kernel threads and idle tasks leave the registers alone, so nothing is
 * saved or restored for them.
 */
#include <arch/task.h>
#include <arch/x86/gdt.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>

STATIC_ASSERT(offsetof(struct arch_task, ctx_rsp) == 0, "switch.asm: [rdi], [rsi]");

extern void task_start_asm(void);

/*
 * The initial stack of a new task, as arch_switch_stack() expects to find
 * it: six callee-saved registers (zero) and a return address,
 * task_start_asm (switch.asm), which calls task_start(prev).
 */
void arch_task_init_stack(struct arch_task *t, uintptr_t stack_top)
{
    uint64_t *sp = (uint64_t *)stack_top;
    *--sp = 0;                          /* fake return address: ends backtraces */
    *--sp = (uint64_t)task_start_asm;
    for (int i = 0; i < 6; i++)
        *--sp = 0;                      /* rbp rbx r12 r13 r14 r15 */
    t->ctx_rsp = (uintptr_t)sp;
}

/*
 * "Has user FPU state": an mm (a user thread), or a process (a user thread
 * that is exiting has already dropped task->mm, but its registers may still
 * be saved harmlessly; next never is one of those, since an exiting thread
 * is never switched back in).
 */
static bool task_has_user_fpu(const struct task *t)
{
    return t->mm || t->process;
}

void arch_switch_to(struct task *prev, struct task *next)
{
    if (task_has_user_fpu(prev))
        __asm__ volatile("fxsave64 %0" : "=m"(prev->arch.fpu_state));

    /* Idle tasks (kstack_top 0) never run user code: no entry from ring 3
     * can happen while they run, so the old values may stay. */
    if (next->kstack_top) {
        tss_set_rsp0(next->kstack_top);
        ((struct percpu_hdr *)arch_this_cpu_base())->arch.kernel_stack_top = next->kstack_top;
    }

    if (task_has_user_fpu(next))
        __asm__ volatile("fxrstor64 %0" :: "m"(next->arch.fpu_state));
}
