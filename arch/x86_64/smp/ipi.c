/*
 * arch/x86_64/smp/ipi.c - IPIs by dense CPU id (see arch/smp.h).
 *
 * Each kind of IPI has its own interrupt vector (arch/trap.h); the APIC id
 * of the target comes from smp_apic_ids[], the one table of them.
 */
#include <arch/smp.h>
#include <arch/x86/smp.h>
#include <arch/x86/apic.h>
#include <arch/trap.h>
#include <kernel/compiler.h>
#include <kernel/sched.h>
#include <kernel/smp.h>

static const uint8_t ipi_vector[] = {
    [ARCH_IPI_CALL] = IPI_VECTOR_CALL_FUNC,
    [ARCH_IPI_RESCHEDULE] = IPI_VECTOR_RESCHEDULE,
};

uint32_t arch_cpu_hwid(unsigned cpu)
{
    return smp_apic_ids[cpu];
}

void arch_send_ipi(unsigned cpu, enum arch_ipi kind)
{
    lapic_send_ipi(smp_apic_ids[cpu], ipi_vector[kind]);
}

void arch_send_nmi(unsigned cpu)
{
    lapic_send_nmi(smp_apic_ids[cpu]);
}

void arch_send_nmi_allbutself(void)
{
    lapic_send_nmi_all_but_self();
}

static void call_func_interrupt(struct trap_frame *tf)
{
    (void)tf;
    smp_call_service();
}

static void reschedule_interrupt(struct trap_frame *tf)
{
    (void)tf;
    sched_reschedule_ipi();
}

void arch_ipi_init(void)
{
    trap_register(IPI_VECTOR_CALL_FUNC, call_func_interrupt);
    trap_register(IPI_VECTOR_RESCHEDULE, reschedule_interrupt);
}
