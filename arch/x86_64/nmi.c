/* arch/x86_64/nmi.c - the NMI handler chain (see arch/nmi.h). */
#include <arch/nmi.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <arch/cpu.h>
#include <arch/smp.h>
#include <arch/trap.h>
#include <stdatomic.h>

#define NMI_HANDLERS_MAX 8

static nmi_handler_t nmi_handlers[NMI_HANDLERS_MAX];
static _Atomic unsigned nmi_handler_count;

void nmi_register(nmi_handler_t fn)
{
    unsigned n = atomic_load(&nmi_handler_count);
    if (n == NMI_HANDLERS_MAX)
        panic("nmi_register: more than %d NMI handlers", NMI_HANDLERS_MAX);
    nmi_handlers[n] = fn;
    /* Release: a CPU that sees the new count also sees the handler. */
    atomic_store_explicit(&nmi_handler_count, n + 1, memory_order_release);
}

void nmi_dispatch(struct trap_frame *tf)
{
    unsigned n = atomic_load_explicit(&nmi_handler_count, memory_order_acquire);
    bool handled = false;
    for (unsigned i = 0; i < n; i++)
        handled |= nmi_handlers[i](tf);
    if (!handled)
        nmi_dump(tf);
}

/*
 * An NMI no handler claimed: the host asked for one (QEMU's monitor command
 * `nmi` reaches every CPU at once; tools/run-tests.py sends it when a boot
 * has gone silent, before it kills the machine), or the platform reports a
 * hardware error.  Either way the useful answer is where each CPU is: its
 * registers and backtrace, one CPU after another, and then the CPU goes on
 * where it was (a hung machine stays hung; the dump is its post-mortem).
 *
 * QEMU delivers its NMI through each local APIC's LINT1 input, which only
 * the boot CPU leaves unmasked (as firmware and Linux do); so the first CPU
 * with an unclaimed NMI starts a round: it sends an NMI to every other CPU,
 * which, finding the round started, only report; it waits (a bounded number
 * of polls, as panic does) until every CPU reported, then ends the round.
 *
 * The NMI can land on a CPU that holds the console lock, or that another CPU
 * waits for: printk is switched to its panic mode first (bounded waits for
 * the console lock, kernel/printk.c) and stays there.  The CPUs take turns
 * on dump_turn, an atomic flag no code outside this function takes, so an
 * NMI never interrupts its holder (NMIs do not nest).
 */
static atomic_flag dump_turn = ATOMIC_FLAG_INIT;
static _Atomic bool dump_round;
static _Atomic unsigned dumps_in_round;
static _Atomic uint64_t dumps_printed;

#define ROUND_WAIT_POLLS 50000000u

void nmi_dump(const struct trap_frame *tf)
{
    printk_enter_panic();
    bool idle = false;
    bool starter = atomic_compare_exchange_strong(&dump_round, &idle, true);
    if (starter) {
        atomic_store(&dumps_in_round, 0);
        arch_send_nmi_allbutself();
    }
    while (atomic_flag_test_and_set_explicit(&dump_turn, memory_order_acquire))
        arch_cpu_relax();
    struct task *cur = current_task();
    printk("NMI dump: cpu%u, task '%s' (id %d), interrupts %s\n", this_cpu_id(),
           cur ? cur->name : "-", cur ? cur->id : -1,
           (tf->rflags & (1ul << 9)) ? "on" : "off");
    trap_frame_report(tf, true);
    printk("NMI dump: cpu%u ends\n", this_cpu_id());
    atomic_flag_clear_explicit(&dump_turn, memory_order_release);
    atomic_fetch_add(&dumps_printed, 1);
    atomic_fetch_add(&dumps_in_round, 1);
    if (starter) {
        unsigned cpus = idt_cpus_loaded();
        for (unsigned i = 0; i < ROUND_WAIT_POLLS && atomic_load(&dumps_in_round) < cpus; i++)
            arch_cpu_relax();
        atomic_store(&dump_round, false);
    }
}

uint64_t nmi_dumps_printed(void)
{
    return atomic_load(&dumps_printed);
}
