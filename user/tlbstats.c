/*
 * tlbstats MODE PCID: SYS_tlb_stats and SYS_lazy_trip (docs/syscalls.md,
 * "Measuring"), by counts.  MODE and PCID ("on"/"off") are what the kernel
 * runs with, given by the test (tests/test_user.c).
 *
 *   - tlb_stats: the mode, PCID and CPU count are the kernel's; the
 *     counters user/bench.c relies on are there, named "group.name"; no
 *     counter goes back between two snapshots; a NULL, kernel, read-only,
 *     non-canonical or too-short buffer gives -SD_EFAULT;
 *   - lazy_trip: -SD_EINVAL unpinned (with two CPUs or more), for 0 trips
 *     and above the limit;
 *     -SD_EFAULT for a bad array; pinned, N trips give N non-zero figures,
 *     and at least N lazy entries and N borrows in the counters (every trip
 *     switches from this thread to a kernel thread on its mm).
 */
#include <ulib.h>

#define TRIPS 50

static struct sd_tlb_stats a, b;
static uint64_t cycles[TRIPS];

static uint64_t value(const struct sd_tlb_stats *s, const char *name)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (!strcmp(s->stat[i].name, name))
            return s->stat[i].value;
    die("no counter %s", name);
}

static void expect(int got, int want, const char *what)
{
    if (got != want)
        die("%s = %d, want %d", what, got, want);
}

int main(int argc, char **argv)
{
    prog_name = "tlbstats";
    if (argc != 3)
        die("usage: tlbstats MODE on|off");
    expect(sys_tlb_stats(&a), 0, "tlb_stats");
    if (strcmp(a.lazy_mm, argv[1]) || (int)a.pcid != !strcmp(argv[2], "on"))
        die("mode %s pcid %u, the kernel runs %s pcid=%s", a.lazy_mm, a.pcid, argv[1], argv[2]);
    if ((int)a.cpus != sys_cpu_count() || a.count == 0 || a.count > SD_STATS_MAX)
        die("cpus %u (%d online), %u counters", a.cpus, sys_cpu_count(), a.count);
    static const char *const needed[] = {
        "tlb.ipi_sent", "tlb.ipi_skipped_lazy", "tlb.invlpg", "tlb.flush_full", "tlb.cr3_write_flush",
        "switch.enter_lazy", "switch.mm", "lazy.borrow_start", "mm.count_atomics",
    };
    for (unsigned i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        value(&a, needed[i]);
    sys_yield();
    expect(sys_tlb_stats(&b), 0, "tlb_stats");
    expect((int)b.count, (int)a.count, "the second snapshot's count");
    for (uint32_t i = 0; i < a.count; i++) {
        if (strcmp(a.stat[i].name, b.stat[i].name))
            die("counter %u: %s, then %s", i, a.stat[i].name, b.stat[i].name);
        if (b.stat[i].value < a.stat[i].value)
            die("%s went back", a.stat[i].name);
    }

    long m = sys_mmap(NULL, 2 * 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m) || sys_mprotect((void *)(m + 4096), 4096, SD_PROT_READ))
        die("mmap");
    const uintptr_t bad[] = {
        0, 0xffff800000000000ull, 0x8000000000000000ull, SD_USER_TOP - 64, (uintptr_t)m + 4096,
        (uintptr_t)m + 4096 - sizeof(struct sd_tlb_stats) / 2,      /* runs into the read-only page */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sys_tlb_stats((struct sd_tlb_stats *)bad[i]) != -SD_EFAULT)
            die("tlb_stats(%#lx) is not -EFAULT", (unsigned long)bad[i]);

    /* With one CPU online every thread may run on that CPU only: it is
     * pinned whatever its mask says, and the call is allowed. */
    if (sys_cpu_count() > 1)
        expect(sys_lazy_trip(cycles, TRIPS), -SD_EINVAL, "lazy_trip unpinned");
    if (pin_to_cpu(sys_getcpu()) < 0)
        die("pin");
    expect(sys_lazy_trip(cycles, 0), -SD_EINVAL, "lazy_trip of 0 trips");
    expect(sys_lazy_trip(cycles, 100001), -SD_EINVAL, "lazy_trip above the limit");
    /* The same pointers, the last one moved: TRIPS figures from there run
     * into the read-only page. */
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uintptr_t p = i + 1 < sizeof(bad) / sizeof(bad[0]) ? bad[i] : (uintptr_t)m + 4096 - 8 * TRIPS / 2;
        if (sys_lazy_trip((uint64_t *)p, TRIPS) != -SD_EFAULT)
            die("lazy_trip(%#lx) is not -EFAULT", (unsigned long)p);
    }
    expect(sys_tlb_stats(&a), 0, "tlb_stats");
    expect(sys_lazy_trip(cycles, TRIPS), 0, "lazy_trip");
    expect(sys_tlb_stats(&b), 0, "tlb_stats");
    for (unsigned i = 0; i < TRIPS; i++)
        if (!cycles[i])
            die("trip %u took 0 cycles", i);
    uint64_t entered = value(&b, "switch.enter_lazy") - value(&a, "switch.enter_lazy");
    uint64_t borrowed = value(&b, "lazy.borrow_start") - value(&a, "lazy.borrow_start");
    if (entered < TRIPS || borrowed < TRIPS)
        die("%d trips: %lu lazy entries, %lu borrows", TRIPS, (unsigned long)entered, (unsigned long)borrowed);
    puts("tlbstats: ok");
    return 0;
}
