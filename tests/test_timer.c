/*
 * tests/test_timer.c - the periodic LAPIC timer ticks on every CPU.
 *
 * Progress, not rate: we take each CPU's tick count, then wait (bounded)
 * until every one of them has moved on by a few ticks.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/tick.h>
#include <arch/x86/apic.h>

#define TICKS_WANTED 3

static uint64_t start_ticks[MAX_CPUS];

static bool all_advanced(void)
{
    unsigned cpu;
    for_each_online_cpu(cpu)
        if (tick_count(cpu) < start_ticks[cpu] + TICKS_WANTED)
            return false;
    return true;
}

static void test_ticks_on_every_cpu(struct ktest *t)
{
    unsigned cpu;
    ASSERT_TRUE(t, arch_irqs_enabled());
    for_each_online_cpu(cpu)
        start_ticks[cpu] = tick_count(cpu);
    bool ok = SPIN_UNTIL(all_advanced());
    for_each_online_cpu(cpu) {
        uint64_t now = tick_count(cpu);
        if (now < start_ticks[cpu] + TICKS_WANTED)
            ktest_log("cpu%u: %lu ticks at the start, %lu now", cpu,
                      (unsigned long)start_ticks[cpu], (unsigned long)now);
        EXPECT_GE(t, now, start_ticks[cpu] + TICKS_WANTED);
    }
    EXPECT_TRUE(t, ok);
}

static void test_calibrated(struct ktest *t)
{
    EXPECT_GT(t, lapic_timer_khz, 0u);
    EXPECT_GE(t, tick_hz, 10u);
}

static const struct ktest_case timer_cases[] = {
    KTEST_CASE(test_calibrated),
    KTEST_CASE(test_ticks_on_every_cpu),
    {0},
};
KTEST_SUITE(timer, timer_cases);
