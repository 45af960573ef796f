/*
 * arch/x86_64/apic/lapic_timer.c - the LAPIC timer as the periodic tick.
 *
 * The LAPIC timer counts down at the APIC bus (or core crystal) frequency
 * divided by TIMER_DIV; nothing tells us that frequency portably, so the
 * boot CPU measures it once against the TSC (itself calibrated against the
 * PIT, arch/x86_64/time/tsc.c).  All CPUs share one bus clock, so every CPU
 * uses the boot CPU's result.
 *
 * Measurement: start a one-shot count from 0xffffffff with the interrupt
 * masked, wait about CAL_US, and read both the TSC and the current count at
 * each end.  The ratio of the two deltas is what we want; under emulation
 * a vCPU can be descheduled in the middle, but both clocks keep running
 * with host time, so the ratio stays right.  Three runs, median kept.
 */
#include <arch/x86/apic.h>
#include <arch/trap.h>
#include <arch/timer.h>
#include <arch/x86/x86.h>
#include <arch/x86/tsc.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/tick.h>
#include <kernel/time.h>

#define TIMER_DIV_16    0x3     /* divide configuration register encoding */
#define CAL_US          10000
#define CAL_RUNS        3

uint32_t lapic_timer_khz;

static uint64_t measure_once(void)
{
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VECTOR_TIMER);   /* one-shot */
    uint64_t t0 = rdtsc();
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    udelay(CAL_US);
    uint32_t cur = lapic_read(LAPIC_TIMER_CUR);
    uint64_t t1 = rdtsc();
    lapic_write(LAPIC_TIMER_INIT, 0);                                   /* stop */

    uint64_t counted = 0xffffffffull - cur;
    if (t1 == t0 || !tsc_khz)
        return 0;
    /* counts per ms = counted / (tsc delta / tsc_khz) */
    return counted * tsc_khz / (t1 - t0);
}

static void timer_interrupt(struct trap_frame *tf)
{
    (void)tf;
    tick_handle();
}

void arch_timer_calibrate(void)
{
    uint64_t r[CAL_RUNS];
    for (int i = 0; i < CAL_RUNS; i++)
        r[i] = measure_once();
    /* Median of three by sorting (three elements). */
    for (int i = 0; i < CAL_RUNS; i++)
        for (int j = i + 1; j < CAL_RUNS; j++)
            if (r[j] < r[i]) {
                uint64_t x = r[i]; r[i] = r[j]; r[j] = x;
            }
    uint64_t khz = r[CAL_RUNS / 2];
    if (khz == 0 || khz > 0xffffffffull)
        panic("lapic timer: calibration failed (%lu counts/ms)", (unsigned long)khz);
    lapic_timer_khz = (uint32_t)khz;
    trap_register(IRQ_VECTOR_TIMER, timer_interrupt);
    printk("lapic timer: %u.%03u MHz after the divide-by-16\n", lapic_timer_khz / 1000,
           lapic_timer_khz % 1000);
}

void arch_timer_start(unsigned hz)
{
    BUG_ON(lapic_timer_khz == 0 || hz == 0);
    uint64_t count = (uint64_t)lapic_timer_khz * 1000 / hz;
    if (count == 0)
        count = 1;
    if (count > 0xffffffffull)
        count = 0xffffffffull;
    /* Divider and mode first: the write of the initial count starts it. */
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | IRQ_VECTOR_TIMER);
    lapic_write(LAPIC_TIMER_INIT, (uint32_t)count);
}
