/*
 * arch/x86_64/time/tsc.c - the time stamp counter as the kernel's clock.
 *
 * Calibration: PIT channel 2 counts down a known interval (its input clock
 * is 1.193182 MHz) with its gate driven by port 0x61, and we read the TSC at
 * both ends.  The measurement is repeated and the smallest result kept:
 * under emulation a vCPU may be descheduled in the middle of one run, which
 * only ever makes that run longer - because the start TSC is read before
 * the PIT can start counting (measure_once).
 */
#include <kernel/time.h>
#include <kernel/printk.h>
#include <arch/timer.h>
#include <arch/x86/x86.h>
#include <arch/x86/tsc.h>

#define PIT_HZ          1193182u
#define PIT_CH2         0x42
#define PIT_CMD         0x43
#define PORT_B          0x61
#define CAL_MS          10

uint64_t tsc_khz;
static uint64_t tsc_boot;

static uint64_t measure_once(void)
{
    uint16_t count = PIT_HZ / 1000 * CAL_MS;

    /* Gate off, speaker off; channel 2, mode 0 (count down once), binary. */
    uint8_t b = inb(PORT_B) & ~0x03;
    outb(PORT_B, b);
    outb(PIT_CMD, 0xb0);
    outb(PIT_CH2, count & 0xff);
    /*
     * The TSC is read BEFORE the count can start: a PIT that honours the
     * gate (real ones, Bochs) starts when the gate goes high, one that
     * ignores it in mode 0 (QEMU) when the count's high byte is written.
     * Either way the start comes after t0, so a vCPU descheduled anywhere
     * in between only makes this run longer, and the smallest of the runs
     * is right.  (Read after the start, a deschedule there made one boot's
     * clock 240 times too fast: 10.865 MHz.)
     */
    uint64_t t0 = rdtsc();
    outb(PIT_CH2, count >> 8);
    outb(PORT_B, b | 0x01);
    /* Bit 5 of port 0x61 is channel 2's output: high when the count ends. */
    for (uint64_t i = 0; !(inb(PORT_B) & 0x20); i++)
        if (i > 100000000)
            return 0;       /* no PIT: give up rather than hang */
    return rdtsc() - t0;
}

void arch_clock_init(void)
{
    uint64_t best = ~0ull;
    for (int i = 0; i < 5; i++) {
        uint64_t d = measure_once();
        if (d && d < best)
            best = d;
    }
    if (best == ~0ull) {
        printk("warning: no PIT answered; assuming a 1 GHz TSC\n");
        best = 1000000ull * CAL_MS;
    }
    tsc_boot = rdtsc();
    tsc_khz = best / CAL_MS;
    printk("tsc: %lu.%03lu MHz\n", (unsigned long)(tsc_khz / 1000), (unsigned long)(tsc_khz % 1000));
}

uint64_t arch_cycles_to_ns(uint64_t cycles)
{
    uint64_t khz = tsc_khz;
    if (!khz || cycles < tsc_boot)
        return 0;
    uint64_t d = cycles - tsc_boot;
    /* d * 10^6 / khz without overflowing for the first ~years: split it. */
    return d / khz * 1000000 + d % khz * 1000000 / khz;
}

uint64_t ktime_ns(void)
{
    return arch_cycles_to_ns(rdtsc());
}

uint64_t ktime_cycle_hz(void)
{
    return tsc_khz * 1000;
}

void udelay(uint64_t us)
{
    if (!tsc_khz) {
        for (uint64_t i = 0; i < us; i++)
            io_delay();     /* ~1 us each on real hardware */
        return;
    }
    uint64_t end = rdtsc() + us * tsc_khz / 1000;
    while ((int64_t)(rdtsc() - end) < 0)
        arch_cpu_relax();
}
