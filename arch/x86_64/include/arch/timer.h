/*
 * arch/timer.h - the clock and the periodic tick, as kernel/time.h and
 * kernel/tick.h need them.
 *
 * x86-64: the clock is the TSC, calibrated against the PIT
 * (arch/x86_64/time/tsc.c); the tick is the local APIC timer, calibrated
 * against the TSC (arch/x86_64/apic/lapic_timer.c).
 */
#pragma once

/* Boot CPU, once: measure the clock; ktime_ns() and udelay() work from here
 * on (before, ktime_ns() returns 0). */
void arch_clock_init(void);
/* Boot CPU, once, after arch_interrupts_init(): measure the tick timer. */
void arch_timer_calibrate(void);
/* On this CPU: call tick_handle() (kernel/tick.h) hz times a second, from
 * the timer interrupt. */
void arch_timer_start(unsigned hz);
