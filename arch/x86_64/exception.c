/* arch/x86_64/exception.c - PLACEHOLDER exception reporting. */
#include <arch/trap.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <arch/nmi.h>

void dump_registers(const struct trap_frame *tf)
{
    printk("RIP %016lx RSP %016lx RBP %016lx\n", tf->rip, tf->rsp, tf->rbp);
}

void dump_backtrace(uintptr_t rbp, uintptr_t rip)
{
    (void)rbp;
    (void)rip;
}

void exception_handle(struct trap_frame *tf)
{
    if (tf->vector == EXC_NMI) {
        nmi_dispatch(tf);
        return;
    }
    if (exception_try_fixup(tf))
        return;
    panic_with_frame(tf, "exception %lu error %#lx at %#lx", tf->vector, tf->error_code, tf->rip);
}
