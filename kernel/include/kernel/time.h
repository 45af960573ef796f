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
/* The clock's source: arch_cycles() (arch/cpu.h: the TSC on x86) counts at
 * ktime_cycle_hz() cycles per second, measured once at boot (0 before), and
 * arch_cycles_to_ns(c) (arch/timer.h) is ktime_ns() at the moment
 * arch_cycles() returned c.  So a (cycles, ns) pair read once lets user code
 * turn its own cycle counts into nanoseconds (SYS_clock, docs/syscalls.md). */
uint64_t ktime_cycle_hz(void);
