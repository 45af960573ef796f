/*
 * arch/smp.h - what the generic SMP code (kernel/smp/cpu_online.c, kernel/smp/smp_call.c)
 * asks of the architecture.  On x86-64 a CPU is named in hardware by its
 * APIC id; the kernel uses dense ids 0..N-1 (0 = the boot CPU), and this is
 * where the two meet.
 */
#pragma once
#include <stdint.h>
#include <kernel/config.h>

/* APIC id of each dense CPU id, for the CPUs ACPI lists (index 0: the BSP). */
extern uint32_t smp_apic_ids[MAX_CPUS];
/* How many entries of smp_apic_ids are filled: CPUs the kernel tries to start. */
extern unsigned smp_nr_cpus_listed;

/* Build the CPU list from ACPI (boot CPU, after lapic_init_bsp). */
void arch_smp_prepare(void);
/* Start every AP on the list; returns when each is online or has been given
 * up on (and named in the log). */
void arch_smp_boot_aps(void);
/* Send the cross-CPU call IPI / an NMI to a CPU by dense id. */
void arch_send_call_ipi(unsigned cpu);
void arch_send_nmi(unsigned cpu);
/* Install the call-IPI handler, which runs smp_call_service(). */
void arch_smp_call_init(void);
