/*
 * kernel/smp.h - the CPUs of the machine, and running functions on them.
 *
 * Bring-up (kernel/smp/cpu_online.c, arch/x86_64/smp/): smp_init() on the boot CPU
 * makes CPU 0 online; smp_boot_aps() starts every other CPU that ACPI lists
 * and returns when each is online or has been given up on.
 *
 * Cross-CPU function calls (kernel/smp/smp_call.c): run fn(arg) on other CPUs,
 * from their call-IPI handler, with interrupts off there.  `wait` makes the
 * caller return only after fn has returned on every target (and its effects
 * are visible to the caller); without it the caller returns once the call
 * is queued.  A target that is the calling CPU runs fn at once, locally,
 * with interrupts off.  Offline CPUs are skipped.
 *
 * Rules for callers and for fn:
 *   - Not from NMI context.  Any other context is fine, interrupts on or
 *     off: a waiting caller runs the calls queued for its own CPU while it
 *     waits, so CPUs that call each other at the same time cannot deadlock.
 *   - Do not wait for a call while holding a spinlock that the target may
 *     be spinning on with interrupts off: it will never reach the call.
 *   - fn must be short, must not sleep, and may itself make calls.
 *   - The calls disable preemption themselves while they use this CPU's
 *     call slots, so a preemptible caller is fine.
 */
#pragma once
#include <kernel/cpumask.h>

typedef void (*smp_call_fn_t)(void *arg);

void smp_init(void);
void smp_boot_aps(void);
/* An AP announces itself (called by the arch code on the AP). */
void smp_mark_online(unsigned cpu);
/* The expect_cpus= command-line option: 0 when not given. */
unsigned smp_expected_cpus(void);

/* Returns 0, or -1 if `cpu` is not online. */
int smp_call_cpu(unsigned cpu, smp_call_fn_t fn, void *arg, bool wait);
void smp_call_mask(const struct cpumask *mask, smp_call_fn_t fn, void *arg, bool wait);
/* Every online CPU but the caller / every online CPU including the caller. */
void smp_call_others(smp_call_fn_t fn, void *arg, bool wait);
void smp_call_all(smp_call_fn_t fn, void *arg, bool wait);
/* Run the calls queued for this CPU (the call IPI's handler; interrupts off). */
void smp_call_service(void);
bool smp_call_pending(void);

/* Send an NMI to a CPU (handlers: arch/nmi.h). */
void smp_send_nmi(unsigned cpu);
