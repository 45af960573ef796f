/*
 * kernel/time.h - time since boot.
 *
 * ktime_ns() is monotonic on each CPU and comparable across CPUs (all TSCs
 * start together at reset and are assumed synchronized; the boot log says
 * whether the CPU reports an invariant TSC).  Before arch_clock_init() (arch/timer.h) has run
 * it returns 0.  udelay() busy-waits with `pause`.
 */
#pragma once
#include <stdint.h>

uint64_t ktime_ns(void);
void udelay(uint64_t us);
