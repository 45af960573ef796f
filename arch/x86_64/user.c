/*
 * arch/x86_64/user.c - entering and leaving user mode (see arch/user.h and
 * docs/syscalls.md, "Entering and leaving the kernel").
 *
 * Every way into the kernel from ring 3 - SYSCALL (syscall_entry.asm), an
 * interrupt or an exception (isr.asm) - leaves one struct trap_frame at the
 * very top of the task's kernel stack, and every way back to ring 3 leaves
 * from there.  So current_user_frame() is a fixed address per task, a fork
 * child can be started by copying its parent's frame into that slot, and
 * the exception code sees user registers the same way whatever the entry.
 */
#include <arch/user.h>
#include <arch/x86/cpufeatures.h>
#include <arch/x86/gdt.h>
#include <arch/percpu.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/process.h>
#include <kernel/sched.h>
#include <kernel/syscall.h>
#include <kernel/debug/tlbcheck.h>
#include <arch/x86/kctx.h>
#include <lib/string.h>

#define MSR_STAR    0xC0000081
#define MSR_LSTAR   0xC0000082
#define MSR_FMASK   0xC0000084

#define USER_CS     (GDT_USER_CODE | 3)
#define USER_SS     (GDT_USER_DATA | 3)

#define RFLAGS_TF   (1ul << 8)
#define RFLAGS_DF   (1ul << 10)
#define RFLAGS_IOPL (3ul << 12)
#define RFLAGS_NT   (1ul << 14)
#define RFLAGS_RF   (1ul << 16)
#define RFLAGS_VM   (1ul << 17)
#define RFLAGS_FIXED (1ul << 1)     /* reads as 1 */

#define MXCSR_DEFAULT 0x1f80        /* all SIMD exceptions masked, round to nearest */

extern char syscall_entry[];
__noreturn void user_frame_return(const struct trap_frame *src, struct trap_frame *dst);

void arch_user_init_this_cpu(void)
{
    /*
     * SYSCALL loads CS = STAR[47:32] and SS = that + 8 (kernel code 0x08,
     * data 0x10).  SYSRET (64-bit) loads CS = STAR[63:48] + 16 and SS =
     * STAR[63:48] + 8, both with RPL 3: with base 0x10 that is user code
     * 0x20 and user data 0x18, the GDT order arch/x86/gdt.h keeps for it.
     */
    wrmsr(MSR_STAR, ((uint64_t)GDT_KERNEL_DATA << 48) | ((uint64_t)GDT_KERNEL_CODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    /* Cleared on entry: IF until we are on the kernel stack with the
     * kernel's GS, DF for the C ABI, TF so no single-step trap lands in the
     * entry, AC so SMAP protects the kernel from the first instruction. */
    wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    /* The GS base user mode starts with, swapped in by the first exit. */
    wrmsr(MSR_KERNEL_GS_BASE, 0);

    /* FPU/SSE for user code: FXSAVE/FXRSTOR and SSE enabled with SIMD
     * exceptions as #XM (CR4); x87 present, not emulated, no lazy #NM (CR0). */
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
}

struct trap_frame *current_user_frame(void)
{
    struct task *t = current_task();
    BUG_ON(!t->kstack_top);
    return (struct trap_frame *)t->kstack_top - 1;
}

static __noreturn void kill_current(unsigned vector, uint64_t err, uintptr_t addr, uintptr_t rip)
{
    user_fault_hook_t hook = READ_ONCE(user_fault_test_hook);
    if (hook && !current_task()->process)
        hook(vector, err, addr, rip);
    process_kill_fault(vector, err, addr, rip);
}

/*
 * Leave for user mode through *tf, after making it a frame IRETQ cannot
 * fault on: user selectors, RFLAGS with IF on and no privilege (IOPL, NT,
 * VM) bits, and a RIP in the user half.  A non-user RIP (a thread started at
 * a kernel or non-canonical address, a SYSCALL at the very end of the user
 * half) would make IRETQ fault in ring 0; it is the program's fault: #GP.
 */
static __noreturn void return_through(struct trap_frame *tf)
{
    tf->cs = USER_CS;
    tf->ss = USER_SS;
    tf->rflags = (tf->rflags & ~(RFLAGS_IOPL | RFLAGS_NT | RFLAGS_VM | RFLAGS_RF)) | RFLAGS_IF | RFLAGS_FIXED;
    if (tf->rip >= SD_USER_TOP)
        kill_current(EXC_GP, 0, 0, tf->rip);
    tlbcheck_user_return();     /* the shadow-TLB checker, last thing before ring 3 */
    user_frame_return(tf, current_user_frame());
}

__noreturn void arch_enter_user(uintptr_t rip, uintptr_t rsp, uint64_t arg)
{
    struct trap_frame tf;
    memset(&tf, 0, sizeof(tf));
    tf.rip = rip;
    tf.rsp = rsp;
    tf.rdi = arg;
    tf.rflags = RFLAGS_IF | RFLAGS_FIXED;

    /* A fresh FPU: x87 reset, default MXCSR.  arch_switch_to saves it from
     * here on since this is a user task. */
    uint32_t mxcsr = MXCSR_DEFAULT;
    __asm__ volatile("fninit\n\tldmxcsr %0" :: "m"(mxcsr) : "memory");
    return_through(&tf);
}

__noreturn void arch_return_to_user(const struct trap_frame *src)
{
    struct trap_frame tf = *src;
    return_through(&tf);
}

void arch_fpu_save_current(void)
{
    /* With interrupts off, so the state saved is the live one of this task
     * (a switch in between would save and restore it anyway). */
    uint64_t flags = arch_irq_save();
    __asm__ volatile("fxsave64 %0" : "=m"(current_task()->arch.fpu_state));
    arch_irq_restore(flags);
}

/* ---- system calls ---- */

void syscall_from_user(struct trap_frame *tf);

/*
 * Called by syscall_entry.asm with interrupts on.  The convention (also in
 * docs/syscalls.md): number in RAX; arguments in RDI, RSI, RDX, R10, R8, R9
 * (R10 instead of RCX, which SYSCALL overwrites); result in RAX; RCX and R11
 * are clobbered, every other register is preserved.
 */
void syscall_from_user(struct trap_frame *tf)
{
    kctx_enter();       /* before anything else: arch/x86_64/kctx.c */
    struct syscall_args args = {
        .nr = tf->rax,
        .a = { tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9 },
    };
    tf->rax = (uint64_t)syscall_invoke(&args);
    exit_to_user_work();
    /* The frame may be returned to with SYSRET: see syscall_entry.asm for
     * what it checks.  A RIP outside the user half can only come from a
     * SYSCALL in the last two bytes of the user half; fault it here. */
    if (tf->rip >= SD_USER_TOP)
        kill_current(EXC_GP, 0, 0, tf->rip);
    tlbcheck_user_return();     /* the shadow-TLB checker: back to ring 3 next */
}

/* ---- exceptions ---- */

user_fault_hook_t user_fault_test_hook;

#define PF_WRITE    (1u << 1)
#define PF_INSTR    (1u << 4)

void user_exception(struct trap_frame *tf)
{
    unsigned vector = (unsigned)tf->vector;
    /* CR2 before anything can fault or be interrupted. */
    uintptr_t cr2 = vector == EXC_PF ? read_cr2() : 0;

    /* Machine checks are the hardware's, not the program's. */
    if (vector == EXC_MC)
        panic_with_frame(tf, "machine check while in user mode");

    /* The user's code was interrupted with IF on; resolving a fault may
     * sleep (mm->lock) and the task may be preempted like in a system call. */
    arch_irq_enable();
    if (vector == EXC_PF) {
        struct mm *mm = current_task()->mm;
        int err = mm ? mm_handle_fault(mm, cr2, tf->error_code & PF_WRITE, tf->error_code & PF_INSTR, true)
                     : -SD_EFAULT;
        if (err)
            kill_current(vector, tf->error_code, cr2, tf->rip);
    } else {
        /* #DE, #UD, #GP, #BP (int3), #XM...: the program's fault. */
        kill_current(vector, tf->error_code, 0, tf->rip);
    }
    exit_to_user_work();
    /* The return path swaps GS back before IRETQ: nothing may interrupt it. */
    arch_irq_disable();
    tlbcheck_user_return();     /* the shadow-TLB checker: back to ring 3 next */
}

bool user_fault_from_kernel(struct trap_frame *tf, uintptr_t cr2)
{
    struct mm *mm = current_task()->mm;

    /*
     * Only the kernel touching a user address on behalf of the task, in a
     * context that may sleep (the copy ran with interrupts on and no preempt
     * count: uaccess from a system call).  Anything else falls through to
     * the exception table or to a panic.
     */
    if (!mm || cr2 >= SD_USER_TOP || !(tf->rflags & RFLAGS_IF) || preempt_count() != 0)
        return false;
    /*
     * With SMAP on, the copies run with AC set.  A fault with AC clear is a
     * SMAP violation (a kernel access to a user page outside the copies,
     * e.g. probe_read_u64 on a user pointer): the page may well be present
     * and allowed, and "resolving" it would retry the access forever.
     */
    if (smap_enabled && !(tf->rflags & RFLAGS_AC))
        return false;
    arch_irq_enable();
    /* Checked like the user's own access: the kernel acts for it. */
    int err = mm_handle_fault(mm, cr2, tf->error_code & PF_WRITE, false, true);
    arch_irq_disable();
    return err == 0;
}
