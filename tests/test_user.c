/*
 * tests/test_user.c - user programs in ring 3: hello, arguments, spawn and
 * wait, fork with copy-on-write, threads on several CPUs, munmap/mprotect
 * racing a thread on another CPU, -EFAULT from every pointer-taking call,
 * and user faults killing only their process.  The programs check
 * themselves (user/NAME.c); see tests/user_test_util.h.
 */
#include "user_test_util.h"
#include <lib/format.h>
#include <kernel/lazy_mm.h>
#include <kernel/tick.h>
#include <arch/tlbflush.h>

static void test_hello(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "hello");
    user_baseline_check(t, &b);
}

static void test_args(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "args", "2");
    EXPECT_PROGRAM_OK(t, "args", "5", "arg2..", "arg3...", "arg4....");

    /* The most arguments there may be, built like args expects them. */
    static char bufs[SD_ARGS_MAX][SD_ARG_LEN_MAX];
    const char *argv[SD_ARGS_MAX + 2];
    argv[0] = "args";
    snprintf(bufs[1], sizeof(bufs[1]), "%d", SD_ARGS_MAX);
    argv[1] = bufs[1];
    for (int k = 2; k < SD_ARGS_MAX; k++) {
        int n = snprintf(bufs[k], sizeof(bufs[k]), "arg%d", k);
        for (int d = 0; d < k; d++)
            bufs[k][n++] = '.';
        bufs[k][n] = '\0';
        argv[k] = bufs[k];
    }
    argv[SD_ARGS_MAX] = NULL;
    EXPECT_EQ(t, user_run(t, argv), 0);

    /* Too many, unknown program: an error and no process. */
    argv[SD_ARGS_MAX] = "one-too-many";
    argv[SD_ARGS_MAX + 1] = NULL;
    EXPECT_EQ(t, process_spawn("args", argv), -SD_E2BIG);
    const char *none[] = { "no-such-program", NULL };
    EXPECT_EQ(t, process_spawn("no-such-program", none), -SD_ENOENT);
    user_baseline_check(t, &b);
}

static void test_exit_codes(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    static const char *codes[] = { "0", "1", "42", "255" };
    for (unsigned i = 0; i < ARRAY_SIZE(codes); i++) {
        int want = 0;
        for (const char *c = codes[i]; *c; c++)
            want = want * 10 + (*c - '0');
        const char *by_exit[] = { "exitcode", codes[i], NULL };
        const char *by_thread[] = { "exitcode", codes[i], "thread", NULL };
        EXPECT_EQ(t, user_run(t, by_exit), SD_STATUS_EXIT(want));
        EXPECT_EQ(t, user_run(t, by_thread), SD_STATUS_EXIT(want));
    }
    /* Several at once, collected in any order. */
    int pids[6];
    for (int i = 0; i < 6; i++) {
        const char *argv[] = { "exitcode", codes[i % 4], NULL };
        pids[i] = process_spawn("exitcode", argv);
        ASSERT_GT(t, pids[i], 0);
    }
    for (int i = 0; i < 6; i++) {
        int status;
        int pid = process_wait(-1, &status);
        bool mine = false;
        for (int j = 0; j < 6; j++)
            mine |= pid == pids[j];
        EXPECT_TRUE(t, mine);
        EXPECT_FALSE(t, SD_WIFFAULTED(status));
    }
    user_baseline_check(t, &b);
}

static void test_spawn_wait(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "spawn");
    user_baseline_check(t, &b);
}

static void test_fork_cow(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    uint64_t copies = atomic_load(&mm_stats.cow_copies);
    EXPECT_PROGRAM_OK(t, "fork_cow");
    /* The children wrote to shared pages: those writes were copies. */
    uint64_t made = atomic_load(&mm_stats.cow_copies) - copies;
    ktest_log("copy-on-write copies: %llu", (unsigned long long)made);
    EXPECT_GT(t, made, 0ull);
    user_baseline_check(t, &b);
}

static void test_threads(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "threads");
    EXPECT_PROGRAM_OK(t, "threads");
    user_baseline_check(t, &b);
}

/* Never stale data through an old translation: the toucher must fault. */
static void test_unmap_race(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    for (int i = 0; i < 4; i++)
        EXPECT_PROGRAM_FAULT(t, 14, "unmap_race", "write");
    for (int i = 0; i < 2; i++)
        EXPECT_PROGRAM_FAULT(t, 14, "unmap_race", "read");
    user_baseline_check(t, &b);
}

static void test_mprotect_race(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    for (int i = 0; i < 4; i++)
        EXPECT_PROGRAM_FAULT(t, 14, "mprotect_race", "readonly");
    for (int i = 0; i < 2; i++)
        EXPECT_PROGRAM_FAULT(t, 14, "mprotect_race", "none");
    user_baseline_check(t, &b);
}

static void test_efault(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "efault");
    user_baseline_check(t, &b);
}

static void test_faults(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    /* Straight from the kernel, then every kind from the program itself. */
    EXPECT_PROGRAM_FAULT(t, 6, "faults", "ud");
    EXPECT_PROGRAM_FAULT(t, 0, "faults", "de");
    EXPECT_PROGRAM_FAULT(t, 13, "faults", "gp_noncanonical");
    EXPECT_PROGRAM_FAULT(t, 14, "faults", "pf_unmapped");
    EXPECT_PROGRAM_FAULT(t, 14, "faults", "pf_readonly");
    EXPECT_PROGRAM_OK(t, "faults");
    user_baseline_check(t, &b);
}

/* SYS_clock: monotonic, one counter, sleeps at least their ticks, EFAULT
 * (the program checks itself, user/clock.c). */
static void test_clock(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    char hz[16];
    snprintf(hz, sizeof(hz), "%u", tick_hz);
    EXPECT_PROGRAM_OK(t, "clock", hz);
    user_baseline_check(t, &b);
}

/* Fork, spawn and thread_create keep the creator's CPU affinity; unpinned
 * ones still spread (user/affinity.c checks itself). */
static void test_affinity_inherited(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "affinity", "pinned");
    EXPECT_PROGRAM_OK(t, "affinity", "unpinned");
    user_baseline_check(t, &b);
}

/* futex_wait/futex_wake and the runtime's mutex (user/futex.c checks itself). */
static void test_futex(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "futex");
    user_baseline_check(t, &b);
}

/* SYS_tlb_stats and SYS_lazy_trip, user/bench.c's two calls: the mode and
 * PCID as the kernel runs, counters that never go back, EFAULT and EINVAL,
 * and N lazy round trips counted as at least N lazy entries
 * (user/tlbstats.c checks itself). */
static void test_tlb_stats(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "tlbstats", lazy_mm_mode_name(), arch_tlb_pcid_enabled() ? "on" : "off");
    user_baseline_check(t, &b);
}

/* Shared mappings over fork, named shared memory, futexes across processes
 * and the futex-based thread_join (user/shm.c checks itself); the shared
 * objects and their frames are gone afterwards. */
static void test_shm(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "shm");
    user_baseline_check(t, &b);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_hello),
    KTEST_CASE(test_args),
    KTEST_CASE(test_exit_codes),
    KTEST_CASE(test_spawn_wait),
    KTEST_CASE(test_fork_cow),
    KTEST_CASE(test_threads),
    KTEST_CASE(test_unmap_race),
    KTEST_CASE(test_mprotect_race),
    KTEST_CASE(test_efault),
    KTEST_CASE(test_faults),
    KTEST_CASE(test_clock),
    KTEST_CASE(test_affinity_inherited),
    KTEST_CASE(test_futex),
    KTEST_CASE(test_tlb_stats),
    KTEST_CASE(test_shm),
    {0},
};
KTEST_SUITE(user, cases);
