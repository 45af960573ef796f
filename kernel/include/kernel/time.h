/*
 * kernel/time.h - time since boot.
 *
 * ktime_ns() is monotonic on each CPU and comparable across CPUs (all TSCs
 * start together at reset and are assumed synchronized; the boot log says
 * whether the CPU reports an invariant TSC).  Before tsc_calibrate() has run
 * it returns 0.  udelay() busy-waits with `pause`.
 */
#pragma once
#include <stdint.h>

uint64_t ktime_ns(void);
void udelay(uint64_t us);
/* TSC ticks per millisecond, 0 until calibrated. */
extern uint64_t tsc_khz;
/* Measure the TSC against the PIT (arch/x86_64/time/tsc.c). */
void tsc_calibrate(void);
