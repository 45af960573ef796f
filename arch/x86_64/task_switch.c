/*
 * arch/x86_64/task_switch.c - arch_switch_to() (see arch/task_switch.h).
 * Kernel threads need nothing here; user tasks will (TSS RSP0, FPU state).
 */
#include <arch/task_switch.h>

void arch_switch_to(struct task *prev, struct task *next)
{
    (void)prev;
    (void)next;
}
