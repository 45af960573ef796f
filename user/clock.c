/*
 * clock [HZ]: checks SYS_clock (docs/syscalls.md, "Time") by counts and
 * bounds, never by how long anything took:
 *   - the rate and the tick are known (cycle_hz > 0; tick_ns = 10^9 / HZ,
 *     the kernel's hz= that the caller passes, else 10^9 / 1000 or more);
 *   - 20000 readings in a row never go backwards (ns and cycles);
 *   - ns and cycles are one reading: the cycles between two readings,
 *     converted at cycle_hz, give the ns between them (to rounding);
 *   - a sleep of N ticks (N = 1, 2, 3) moves the clock by at least N ticks,
 *     since the kernel never ends a sleep before its time;
 *   - a bad pointer gives -SD_EFAULT.
 * Prints one line of figures (the rate, the tick, the sleeps' lengths).
 */
#include <ulib.h>

#define READINGS 20000

static struct sd_clock now(void)
{
    struct sd_clock c;
    int r = sys_clock(&c);
    if (r != 0)
        die("clock() = %d", r);
    return c;
}

int main(int argc, char **argv)
{
    prog_name = "clock";
    struct sd_clock first = now();
    if (first.cycle_hz == 0)
        die("cycle_hz is 0");
    if (first.tick_ns < 1000000 || first.tick_ns > 100000000)
        die("tick_ns = %lu: the kernel's hz= is 10..1000", (unsigned long)first.tick_ns);
    if (argc > 1 && first.tick_ns != 1000000000ull / (uint64_t)atol(argv[1]))
        die("tick_ns = %lu, but hz=%s", (unsigned long)first.tick_ns, argv[1]);
    if (first.ns == 0)
        die("ns is 0 after boot");

    struct sd_clock prev = first;
    for (int i = 0; i < READINGS; i++) {
        struct sd_clock c = now();
        if (c.ns < prev.ns || c.cycles < prev.cycles)
            die("reading %d went back: ns %lu -> %lu, cycles %lu -> %lu", i, (unsigned long)prev.ns,
                (unsigned long)c.ns, (unsigned long)prev.cycles, (unsigned long)c.cycles);
        prev = c;
    }
    /* Both come from one counter: the cycle delta at the measured rate is
     * the ns delta, up to the rounding of each reading (1 ns each). */
    uint64_t dc = prev.cycles - first.cycles, dns = prev.ns - first.ns;
    uint64_t conv = dc / first.cycle_hz * 1000000000ull + dc % first.cycle_hz * 1000000000ull / first.cycle_hz;
    if (conv > dns + 2 || dns > conv + 2)
        die("cycles and ns disagree: %lu cycles at %lu Hz are %lu ns, the clock says %lu ns",
            (unsigned long)dc, (unsigned long)first.cycle_hz, (unsigned long)conv, (unsigned long)dns);
    /* Our own rdtsc reads the same counter: between two readings. */
    uint64_t mine = read_cycles();
    struct sd_clock after = now();
    if (mine < prev.cycles || mine > after.cycles)
        die("rdtsc %lu is not between two clock readings %lu and %lu", (unsigned long)mine,
            (unsigned long)prev.cycles, (unsigned long)after.cycles);

    uint64_t slept[4] = { 0 };
    for (unsigned n = 1; n <= 3; n++) {
        unsigned ms = (unsigned)((n * first.tick_ns + 999999) / 1000000);
        struct sd_clock a = now();
        int r = sys_sleep(ms);
        struct sd_clock b = now();
        if (r != 0)
            die("sleep(%u) = %d", ms, r);
        slept[n] = b.ns - a.ns;
        if (slept[n] < n * first.tick_ns)
            die("a sleep of %u ticks (%u ms) took %lu ns, less than %u x %lu ns", n, ms,
                (unsigned long)slept[n], n, (unsigned long)first.tick_ns);
    }

    int r = sys_clock(NULL);
    if (r != -SD_EFAULT)
        die("clock(NULL) = %d, want -SD_EFAULT", r);
    r = sys_clock((struct sd_clock *)0xffff800000001000ull);
    if (r != -SD_EFAULT)
        die("clock(kernel address) = %d, want -SD_EFAULT", r);

    printf("clock: %lu Hz cycle counter, tick %lu ns, %d readings monotonic, sleeps of 1/2/3 ticks took %lu/%lu/%lu ns\n",
           (unsigned long)first.cycle_hz, (unsigned long)first.tick_ns, READINGS, (unsigned long)slept[1],
           (unsigned long)slept[2], (unsigned long)slept[3]);
    return 0;
}
