/*
 * arch/smp.h - what the generic SMP code (kernel/smp/cpu_online.c, kernel/smp/smp_call.c,
 * the scheduler's reschedule IPI, panic) asks of the architecture: the CPU
 * list, starting the other CPUs, and interrupts between CPUs.
 *
 * CPUs are named by dense ids 0..N-1 (0 = the boot CPU) everywhere in the
 * kernel.  The hardware names them otherwise (x86-64: by APIC id); the
 * architecture keeps the one table that maps the two (on x86-64
 * smp_apic_ids[], arch/x86_64/smp/smpboot.c), and every IPI goes through it.
 */
#pragma once
#include <stdint.h>
#include <kernel/config.h>

/* How many CPUs the firmware lists: CPUs the kernel tries to start. */
extern unsigned smp_nr_cpus_listed;

/* Build the CPU list from ACPI (boot CPU, after arch_init). */
void arch_smp_prepare(void);
/* Start every AP on the list; returns when each is online or has been given
 * up on (and named in the log). */
void arch_smp_boot_aps(void);

/* The hardware's name for a CPU (for the log), and what that name is called. */
uint32_t arch_cpu_hwid(unsigned cpu);
#define ARCH_CPU_HWID_NAME "APIC id"

/*
 * The kinds of IPI.  Each has one handler, the generic function named here,
 * which the architecture calls in interrupt context on the target CPU.
 */
enum arch_ipi {
    ARCH_IPI_CALL,          /* run queued cross-CPU calls: smp_call_service() */
    ARCH_IPI_RESCHEDULE,    /* new work on its queue: sched_reschedule_ipi() */
};

/* Install the handlers of every kind (boot CPU, before the first IPI). */
void arch_ipi_init(void);
/* Send an IPI of this kind to a CPU by dense id; interrupts on or off. */
void arch_send_ipi(unsigned cpu, enum arch_ipi kind);
/* An NMI to one CPU by dense id (it gets through with interrupts off). */
void arch_send_nmi(unsigned cpu);
/* An NMI to every CPU but this one; safe in NMI and panic context. */
void arch_send_nmi_allbutself(void);
