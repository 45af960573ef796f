/*
 * arch/timer.h - the clock and the periodic tick, as kernel/time.h and
 * kernel/tick.h need them.
 *
 * x86-64: the clock is the TSC, calibrated against the PIT
 * (arch/x86_64/time/tsc.c); the tick is the local APIC timer, calibrated
 * against the TSC (arch/x86_64/apic/lapic_timer.c).
 */
#pragma once
#include <stdint.h>

/* Boot CPU, once: measure the clock; ktime_ns() and udelay() work from here
 * on (before, ktime_ns() returns 0). */
void arch_clock_init(void);
/* The time since boot, in ns, of a count read from arch_cycles()
 * (arch/cpu.h); 0 for counts read before arch_clock_init().  For
 * timestamps taken cheaply and converted later (the TLB trace). */
uint64_t arch_cycles_to_ns(uint64_t cycles);
/* Boot CPU, once, after arch_interrupts_init(): measure the tick timer. */
void arch_timer_calibrate(void);
/* On this CPU: call tick_handle() (kernel/tick.h) hz times a second, from
 * the timer interrupt. */
void arch_timer_start(unsigned hz);
