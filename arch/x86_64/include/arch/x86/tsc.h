/*
 * arch/x86/tsc.h - x86-64 private: the TSC behind ktime_ns()
 * (arch/x86_64/time/tsc.c; calibrated by arch_clock_init()).
 */
#pragma once
#include <stdint.h>

/* TSC ticks per millisecond, 0 until calibrated. */
extern uint64_t tsc_khz;
