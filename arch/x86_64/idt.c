/*
 * arch/x86_64/idt.c - the interrupt descriptor table and the dispatch of
 * every vector to its handler.
 *
 * One IDT serves all CPUs (it is read-only after boot).  All gates are
 * interrupt gates, so the CPU clears IF on entry: handlers run with
 * interrupts off.  #DF, NMI and #MC switch to their own IST stacks (see
 * arch/x86_64/gdt.c), because they can arrive when the current stack is
 * unusable.
 */
#include <arch/trap.h>
#include <arch/x86/gdt.h>
#include <arch/x86/apic.h>
#include <kernel/panic.h>
#include <kernel/process.h>
#include <kernel/printk.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/debug/tlbcheck.h>
#include <arch/x86/kctx.h>
#include <arch/x86/x86.h>
#include <stdatomic.h>

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __packed;

static struct idt_gate idt[256] __aligned(16);
static trap_handler_t handlers[256];
extern const uint64_t isr_stub_table[256];

#define GATE_INTERRUPT 0x8e   /* present, DPL 0, 64-bit interrupt gate */
#define GATE_DPL3      (3u << 5)

static void set_gate(unsigned vec, uint64_t addr, unsigned ist)
{
    idt[vec] = (struct idt_gate){
        .offset_lo = addr & 0xffff,
        .selector = GDT_KERNEL_CODE,
        .ist = ist,
        .type_attr = GATE_INTERRUPT,
        .offset_mid = (addr >> 16) & 0xffff,
        .offset_hi = addr >> 32,
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, isr_stub_table[v], 0);
    set_gate(EXC_DF, isr_stub_table[EXC_DF], IST_DOUBLE_FAULT);
    set_gate(EXC_NMI, isr_stub_table[EXC_NMI], IST_NMI);
    set_gate(EXC_MC, isr_stub_table[EXC_MC], IST_MACHINE_CHECK);
    /* int3 and into are instructions user code may execute: with DPL 0
     * gates they would raise #GP instead of #BP/#OF. */
    idt[EXC_BP].type_attr |= GATE_DPL3;
    idt[EXC_OF].type_attr |= GATE_DPL3;
    /* From the moment a CPU can take interrupts, a panic must be able to
     * stop it: the panic NMI handler is the first one registered. */
    panic_init();
}

/* CPUs that ran idt_load(); each counted once (per-CPU flag). */
static _Atomic unsigned cpus_loaded;
static DEFINE_PER_CPU(bool, idt_loaded);

unsigned idt_cpus_loaded(void)
{
    return atomic_load(&cpus_loaded);
}

void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __packed desc = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" :: "m"(desc) : "memory");
    if (!*this_cpu_ptr(&idt_loaded)) {
        *this_cpu_ptr(&idt_loaded) = true;
        atomic_fetch_add(&cpus_loaded, 1);
    }
}

void trap_register(unsigned vector, trap_handler_t fn)
{
    if (vector < 32 || vector > 255)
        panic("trap_register: vector %u is not an interrupt vector", vector);
    if (handlers[vector] && handlers[vector] != fn)
        panic("trap_register: vector %#x already has a handler", vector);
    handlers[vector] = fn;
}

/* Interrupt handlers running on this CPU (they do not nest: interrupt
 * gates keep IF off, so this is 0 or 1).  Written only by its own CPU. */
static DEFINE_PER_CPU(unsigned, irq_depth);

bool arch_in_interrupt(void)
{
    return READ_ONCE(*this_cpu_ptr(&irq_depth)) != 0;
}

void trap_dispatch(struct trap_frame *tf)
{
    unsigned v = (unsigned)tf->vector;

    /* The entry flush point of deferred kernel flushes, before anything
     * else (arch/x86_64/kctx.c); not for NMI, #DF, #MC, which may arrive
     * anywhere, even inside it. */
    if (v != 2 && v != 8 && v != 18)
        kctx_enter();

    if (v < 32) {
        exception_handle(tf);
        return;
    }
    /*
     * The spurious vector must not be acknowledged (SDM 10.9).  Every other
     * vector above the PIC range comes from the local APIC and is
     * acknowledged before its handler runs: the handler runs with interrupts
     * off, so the same vector cannot nest, and a handler that does not
     * return here (a future context switch) cannot leave the APIC blocked.
     */
    if (v == IRQ_VECTOR_SPURIOUS)
        return;
    if (v >= PIC_VECTOR_BASE + 16)
        lapic_eoi();
    if (handlers[v]) {
        /* Only around the handler: preempt_on_irq_return() below may
         * switch to another task, which must not inherit the count. */
        (*this_cpu_ptr(&irq_depth))++;
        handlers[v](tf);
        (*this_cpu_ptr(&irq_depth))--;
        /*
         * The interrupted code had interrupts on, so it may be preempted
         * here if the handler (the tick, a wake-up IPI) asked for it and it
         * holds no preempt count.  We are still on its stack, its registers
         * saved in *tf: switching away now and back later resumes it.
         */
        if (tf->rflags & RFLAGS_IF)
            preempt_on_irq_return();
        /* Back to user mode: a thread of a process being ended stops here
         * (the IPI process_set_dying() sends is what brings it). */
        if ((tf->cs & 3) == 3) {
            process_exit_if_dying();
            tlbcheck_user_return();     /* the shadow-TLB checker: back to ring 3 next */
        }
        return;
    }
    if (v >= PIC_VECTOR_BASE && v < PIC_VECTOR_BASE + 16) {
        /* The PIC is masked, so these are its spurious IRQ 7/15. */
        return;
    }
    printk("warning: unexpected interrupt vector %#x on cpu%u\n", v, this_cpu_id());
}
