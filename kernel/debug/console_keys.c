/*
 * kernel/debug/console_keys.c - keys typed on the serial console while the
 * kernel is idle (kernel/debug/console_keys.h, docs/debugging.md).
 *
 *   t   print the TLB trace (tlb_trace_dump)
 *   c   print the event counters (counters_print)
 *
 * Polled, not interrupt driven: CPU 0's idle loop asks the console for a
 * byte each time it wakes (every tick at the least), so a key is seen
 * within a tick of CPU 0 going idle, and never while it has work.  The
 * dump runs in the idle task with interrupts on: the other CPUs go on
 * recording while it prints, so a line may be missing where a ring
 * wrapped meanwhile (tlb_trace.c skips such entries).
 */
#include <kernel/debug/console_keys.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_trace.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>
#include <arch/console.h>

void console_keys_poll(void)
{
    if (this_cpu_id() != 0)
        return;
    int c = arch_console_getc();
    if (c == 't') {
        printk("console: 't': the TLB trace\n");
        tlb_trace_dump();
    } else if (c == 'c') {
        printk("console: 'c': the event counters\n");
        counters_print();
    } else if (c == 'h' || c == '?') {
        printk("console: keys: t the TLB trace, c the event counters\n");
    }
}
