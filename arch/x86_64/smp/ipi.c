/* arch/x86_64/smp/ipi.c - IPIs by dense CPU id (see arch/smp.h). */
#include <arch/smp.h>
#include <arch/apic.h>
#include <arch/trap.h>
#include <kernel/smp.h>

void arch_send_call_ipi(unsigned cpu)
{
    lapic_send_ipi(smp_apic_ids[cpu], IPI_VECTOR_CALL_FUNC);
}

void arch_send_nmi(unsigned cpu)
{
    lapic_send_nmi(smp_apic_ids[cpu]);
}

static void call_func_interrupt(struct trap_frame *tf)
{
    (void)tf;
    smp_call_service();
}

void arch_smp_call_init(void)
{
    trap_register(IPI_VECTOR_CALL_FUNC, call_func_interrupt);
}
