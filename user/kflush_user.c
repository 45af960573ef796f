/*
 * kflush_user CPU ROUNDS: spin in user mode on CPU until a kernel flush
 * skips us because we were there (tests/test_kflush_defer.c drives it).
 *
 * Each round spins in ring 3 for a while, then asks the kernel for the TLB
 * counters (SYS_tlb_stats): that system call is a kernel entry, where a CPU
 * owing a deferred kernel flush does it before anything else (docs/tlb.md,
 * "Kernel flushes deferred for user and idle CPUs").  We exit 0 as soon as
 * tlb.kernel_flush_skip_user moved (the test's flush found us in user
 * mode), 2 if it never did in ROUNDS rounds.  The endpoint
 * "kflush_user-ready" (gone with the process) tells the test that our
 * starting count is taken.
 */
#include <ulib.h>

static struct sd_tlb_stats s;

static uint64_t skip_user(void)
{
    if (sys_tlb_stats(&s) != 0)
        die("tlb_stats failed");
    for (uint32_t i = 0; i < s.count; i++)
        if (!strcmp(s.stat[i].name, "tlb.kernel_flush_skip_user"))
            return s.stat[i].value;
    die("no counter tlb.kernel_flush_skip_user");
}

int main(int argc, char **argv)
{
    prog_name = "kflush_user";
    if (argc != 3)
        die("usage: kflush_user CPU ROUNDS");
    long rounds = atol(argv[2]);
    /* The count before any flush the test makes: it flushes only once the
     * endpoint "kflush_user-ready" exists (we may have been started on CPU
     * already, in user mode, where a flush would skip us uncounted). */
    uint64_t start = skip_user();
    if (sys_ipc_create("kflush_user-ready") < 0)
        die("ipc_create failed");
    if (pin_to_cpu((int)atol(argv[1])) != 0)
        die("cannot run on CPU %s", argv[1]);
    for (long r = 0; r < rounds; r++) {
        for (volatile unsigned i = 0; i < 20000; i++)
            ;
        if (skip_user() != start)
            return 0;
    }
    printf("kflush_user: no kernel flush skipped CPU %s in %ld rounds\n", argv[1], rounds);
    return 2;
}
