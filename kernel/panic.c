/*
 * kernel/panic.c - fatal errors (see kernel/panic.h).
 *
 * What panic does, in order:
 *   1. Interrupts off.  Claim the panic with a compare-and-swap on
 *      panic_cpu: exactly one CPU wins.  A CPU that loses (two CPUs
 *      panicking at once) parks itself like a stopped CPU.  A CPU that
 *      finds it has *already* won is panicking inside its own panic (a
 *      fault in the report): it prints one short line and ends the machine,
 *      because the first report cannot be trusted to finish.
 *   2. printk_enter_panic(): printk stops waiting for a console lock that a
 *      stopped CPU may hold forever.
 *   3. Stop every other CPU with an NMI IPI.  An NMI gets through even to a
 *      CPU spinning with interrupts off (on a lock we hold, say).  Its
 *      handler, panic_nmi_stop() below, prints "cpuN stopped" and halts
 *      forever with interrupts off.  We wait (a bounded number of polls)
 *      until all CPUs that could take the NMI say they stopped, so their
 *      lines come before the report and none of them prints in the middle.
 *   4. If a checker violation froze the TLB trace (kernel/debug/tlb_trace.h),
 *      its dump: the events that led there, before the report.
 *   5. The report: CPU and message, the registers (from the trap frame, or
 *      captured at the call of panic() by arch/x86_64/panic_entry.asm) and a
 *      symbolized backtrace.
 *   6. arch_machine_exit(EXIT_PANIC): QEMU exits with status 37, which the test
 *      runner reads as a failure; elsewhere the CPU halts for good.
 *
 * Output (the lines a log checker can rely on):
 *     cpu1 stopped
 *     KERNEL PANIC on cpu0: <message>
 *     ... registers, "Backtrace:" and one line per frame ...
 *     ---[ end kernel panic ]---
 */
#include <kernel/panic.h>
#include <kernel/sched.h>
#include <kernel/printk.h>
#include <kernel/percpu.h>
#include <kernel/config.h>
#include <kernel/debug/tlb_trace.h>
#include <arch/machine.h>
#include <arch/nmi.h>
#include <arch/smp.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include <lib/format.h>
#include <stdatomic.h>

/* The CPU that owns the panic, or -1.  Written once (compare-and-swap). */
_Atomic int panic_cpu = -1;
/* CPUs parked by panic_nmi_stop() or by losing the race. */
static _Atomic unsigned cpus_stopped;
/* How many nested panics the panicking CPU has run into. */
static _Atomic unsigned nested_panics;
static DEFINE_PER_CPU(bool, parked);

/* Polls of the stopped count before the report goes ahead without the
 * CPUs that did not answer (an NMI normally lands within microseconds). */
#define STOP_WAIT_POLLS 50000000u

/* Halt this CPU for good.  Interrupts stay off; an NMI that still arrives
 * (a second stop IPI) finds `parked` set and returns to the hlt. */
static __noreturn void park_this_cpu(const char *why)
{
    arch_irq_disable();
    if (!*this_cpu_ptr(&parked)) {
        *this_cpu_ptr(&parked) = true;
        printk("cpu%u stopped%s\n", this_cpu_id(), why);
        /* Pairs with the acquire load in wait_for_others(): our line is
         * out before the panicking CPU starts its report. */
        atomic_fetch_add_explicit(&cpus_stopped, 1, memory_order_release);
    }
    for (;;)
        arch_halt();
}

/* The NMI handler (registered first, by panic_init()). */
static bool panic_nmi_stop(struct trap_frame *tf)
{
    (void)tf;
    int owner = atomic_load(&panic_cpu);
    if (owner == -1)
        return false;           /* not ours: some other NMI */
    if (owner == (int)this_cpu_id())
        return true;            /* a stray NMI on the panicking CPU: ignore */
    if (*this_cpu_ptr(&parked))
        return true;            /* already parked: back to its hlt */
    park_this_cpu("");
}

void panic_init(void)
{
    nmi_register(panic_nmi_stop);
}

static void wait_for_others(void)
{
    unsigned loaded = idt_cpus_loaded();
    unsigned others = loaded > 1 ? loaded - 1 : 0;
    for (unsigned i = 0; i < STOP_WAIT_POLLS; i++) {
        if (atomic_load_explicit(&cpus_stopped, memory_order_acquire) >= others)
            return;
        arch_cpu_relax();
    }
    printk("panic: %u of %u other CPUs did not stop\n",
           others - atomic_load(&cpus_stopped), others);
}

static __noreturn void panic_common(const struct trap_frame *tf, bool exception, const char *fmt,
                                    va_list ap)
{
    int me = (int)this_cpu_id();
    int expected = -1;
    char msg[256];

    arch_irq_disable();
    if (!atomic_compare_exchange_strong(&panic_cpu, &expected, me)) {
        if (expected != me)
            park_this_cpu(" (another CPU is panicking)");
        /* Nested: the first report faulted or panicked itself. */
        if (atomic_fetch_add(&nested_panics, 1) == 0) {
            vsnprintf(msg, sizeof(msg), fmt, ap);
            printk("KERNEL PANIC on cpu%d while panicking: %s\n", me, msg);
        }
        arch_machine_exit(EXIT_PANIC);
    }

    printk_enter_panic();
    arch_send_nmi_allbutself();
    wait_for_others();
    /* A checker violation froze the TLB trace: print it now, when no other
     * CPU can write a ring or print (the dump takes no lock). */
    tlb_trace_dump_frozen();

    vsnprintf(msg, sizeof(msg), fmt, ap);
    printk("KERNEL PANIC on cpu%d: %s\n", me, msg);
    struct task *cur = current_task();
    if (cur)
        printk("in task '%s' (id %d) on cpu%d\n", cur->name, cur->id, me);
    else
        printk("before the scheduler started, on cpu%d\n", me);
    if (tf)
        trap_frame_report(tf, exception);
    else
        printk("(no registers: the per-CPU area is not set up)\n");
    printk("---[ end kernel panic ]---\n");
    arch_machine_exit(EXIT_PANIC);
}

/* panic() proper is arch/x86_64/panic_entry.asm, which jumps here. */
__noreturn void panic_continue(const char *fmt, ...);

__noreturn void panic_continue(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    panic_common(arch_panic_regs(this_cpu_id()), false, fmt, ap);
}

__noreturn void panic_with_frame(const struct trap_frame *tf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    panic_common(tf, true, fmt, ap);
}
