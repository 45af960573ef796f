/*
 * arch/nmi.h - non-maskable interrupt handlers.
 *
 * An NMI can arrive at any instruction, even inside a spinlock's critical
 * section or another interrupt handler, so an NMI handler must take no lock,
 * allocate nothing and touch only data it owns (per-CPU counters, atomics).
 * Handlers are called in registration order; each returns true if the NMI
 * was its own.  An NMI nobody claims is reported by nmi_dump(): this CPU's
 * registers and backtrace (a host that finds the machine silent sends one to
 * every CPU to see where each is stuck; docs/debugging.md).
 */
#pragma once
#include <stdbool.h>
#include <arch/trap.h>

typedef bool (*nmi_handler_t)(struct trap_frame *tf);

/* Register at boot, before NMIs can arrive (no removal). */
void nmi_register(nmi_handler_t fn);
/* Called by the exception path for vector 2. */
void nmi_dispatch(struct trap_frame *tf);
/* The report of an unclaimed NMI (takes turns with the other CPUs). */
void nmi_dump(const struct trap_frame *tf);
/* How many CPU reports nmi_dump() printed since boot (for its test). */
uint64_t nmi_dumps_printed(void);
