/* kernel/sched/resched_ipi.c - the reschedule IPI: makes another CPU notice new work
 * (a woken task on its queue) now instead of at its next tick. */
#include "sched_internal.h"
#include <arch/apic.h>
#include <arch/trap.h>

void smp_send_reschedule(unsigned cpu)
{
    extern struct percpu_hdr percpu_hdr;
    lapic_send_ipi(per_cpu_ptr(&percpu_hdr, cpu)->apic_id, IPI_VECTOR_RESCHEDULE);
}
