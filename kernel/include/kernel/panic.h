/*
 * kernel/panic.h - fatal errors.
 *
 * panic() prints the message, the CPU, the registers at the call and a
 * symbolized backtrace, stops every other CPU with an NMI, and halts (or,
 * when running tests, ends the machine with the failure exit code).
 */
#pragma once
#include <kernel/compiler.h>
#include <stdatomic.h>

struct trap_frame;

__noreturn void panic(const char *fmt, ...) __printf(1, 2);
/* The same, for the exception handler: the registers come from the trap. */
__noreturn void panic_with_frame(const struct trap_frame *tf, const char *fmt, ...) __printf(2, 3);
/* The CPU that entered panic first, -1 before (kernel/panic.c). */
extern _Atomic int panic_cpu;
/* True once any CPU has entered panic.  Inline: every spinlock asks
 * (lock_order_check), so a call here cost each system call's locks. */
static inline bool panic_in_progress(void)
{
    return atomic_load(&panic_cpu) != -1;
}
/* Register the NMI handler that stops the other CPUs during a panic (called
 * by idt_init(), before any CPU can receive NMIs). */
void panic_init(void);

#define BUG_ON(cond)                                                          \
    do {                                                                      \
        if (unlikely(cond))                                                   \
            panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__);          \
    } while (0)

#define WARN_ON(cond)                                                         \
    ({                                                                        \
        bool __w = !!(cond);                                                  \
        if (unlikely(__w))                                                    \
            printk("warning: WARN_ON(%s) at %s:%d\n", #cond, __FILE__, __LINE__); \
        __w;                                                                  \
    })
