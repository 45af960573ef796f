/*
 * kernel/panic.c - fatal errors (see kernel/panic.h).
 */
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/percpu.h>
#include <arch/x86.h>
#include <arch/trap.h>
#include <arch/apic.h>
#include <arch/machine.h>
#include <stdatomic.h>

static _Atomic int panic_cpu = -1;

bool panic_in_progress(void)
{
    return atomic_load(&panic_cpu) != -1;
}

void dump_registers(const struct trap_frame *tf);
void dump_backtrace(uintptr_t rbp, uintptr_t rip);

static __noreturn void panic_common(const struct trap_frame *tf, const char *fmt, va_list ap)
{
    irq_disable();
    int expected = -1;
    int me = (int)this_cpu_id();
    if (!atomic_compare_exchange_strong(&panic_cpu, &expected, me)) {
        /* Another CPU is already panicking: it will stop us with its NMI. */
        for (;;)
            hlt();
    }
    printk_enter_panic();
    lapic_send_nmi_all_but_self();

    char msg[256];
    extern int vsnprintf(char *, size_t, const char *, va_list);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    printk("\n");
    printk("KERNEL PANIC on cpu%d: %s\n", me, msg);
    if (tf) {
        dump_registers(tf);
        dump_backtrace(tf->rbp, tf->rip);
    } else {
        dump_backtrace(read_rbp(), 0);
    }
    printk("---[ end kernel panic ]---\n");
    machine_exit(EXIT_PANIC);
}

__noreturn void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    panic_common(NULL, fmt, ap);
}

__noreturn void panic_with_frame(const struct trap_frame *tf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    panic_common(tf, fmt, ap);
}
