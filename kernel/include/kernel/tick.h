/*
 * kernel/tick.h - the periodic timer tick on every CPU.
 *
 * Each CPU runs its own periodic timer (the LAPIC timer on x86) at tick_hz
 * (command-line option hz=, 100 by default).  Every tick calls tick_handle()
 * on that CPU with interrupts off, which counts it; the scheduler will hook
 * in here later.
 */
#pragma once
#include <stdint.h>

extern unsigned tick_hz;

/* Calibrate the timer against the TSC (boot CPU, once). */
void tick_calibrate(void);
/* Start the periodic tick on the calling CPU. */
void tick_start_this_cpu(void);
/* Called by the timer interrupt. */
void tick_handle(void);
/* Ticks CPU `cpu` has taken since its timer started. */
uint64_t tick_count(unsigned cpu);
