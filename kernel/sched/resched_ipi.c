/* kernel/sched/resched_ipi.c - the reschedule IPI: makes another CPU notice new work
 * (a woken task on its queue) now instead of at its next tick.  Its handler
 * is sched_reschedule_ipi() in core.c. */
#include "sched_internal.h"
#include <arch/smp.h>

void smp_send_reschedule(unsigned cpu)
{
    arch_send_ipi(cpu, ARCH_IPI_RESCHEDULE);
}
