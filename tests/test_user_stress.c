/*
 * tests/test_user_stress.c - many processes: thousands of spawn/exit and
 * fork/exit cycles over the CPUs, 100k random system calls, and forking
 * until the memory runs out.  Each ends with processes, address spaces and
 * endpoints back at their baseline; the framework then checks frames and
 * heap for the whole suite.
 */
#include "user_test_util.h"
#include <kernel/page_alloc.h>
#include <arch/memlayout.h>

static void test_spawn_stress(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    /* 800 cycles driven from user space, 200 straight from the kernel. */
    EXPECT_PROGRAM_OK(t, "spawn_stress", "400");
    EXPECT_PROGRAM_OK(t, "spawn_stress", "400");
    for (int i = 0; i < 200; i++) {
        const char *argv[] = { "exitcode", "7", NULL };
        int s = user_run(t, argv);
        if (s != SD_STATUS_EXIT(7)) {
            EXPECT_EQ(t, s, SD_STATUS_EXIT(7));
            break;
        }
    }
    user_baseline_check(t, &b);
}

static void test_fork_stress(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    for (int i = 0; i < 3; i++)
        EXPECT_PROGRAM_OK(t, "fork_stress", "500");
    user_baseline_check(t, &b);
}

static void test_fuzz(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "fuzz", "100000", "1");
    user_baseline_check(t, &b);
}

/*
 * Ballast: the kernel takes all but OOM_LEFT_MIB of free memory before the
 * oom program runs, so that the program has a small machine to fill - the
 * same paths, in a fraction of the time (filling 256 MiB page by page takes
 * a minute under TCG).  Blocks of 2 MiB, chained through their first word.
 */
/*
 * With 40 MiB left, -smp 8 took from under 1 s to 270 s.  The slow runs are
 * those where the oom parent survives its own copy-on-write faults long
 * enough to fork 30-40 children that fault and exit at once: nearly all
 * CPU time then goes to spinning on buddy_lock (measured: 808 s of spinlock
 * waits summed over CPUs in a 105 s run, single waits up to 1.6 s; 85 ms in
 * a fast run).  A ticket lock hands the lock to the next waiter in line even
 * when the host has descheduled that vCPU (8 vCPUs on 2 busy host cores),
 * and everyone behind it waits for the host to run it again.  Fewer MiB,
 * fewer children, less of that convoy; the cures are in the allocator
 * (fewer buddy_lock round trips: per-CPU frame caches, batched frees) or a
 * lock that tolerates preempted waiters.
 */
#define OOM_LEFT_MIB 16
#define BALLAST_ORDER 9

static phys_addr_t ballast_take(size_t keep_frames)
{
    phys_addr_t head = 0;
    while (page_free_frames() > keep_frames + (1u << BALLAST_ORDER)) {
        phys_addr_t pa = page_alloc(BALLAST_ORDER);
        if (!pa)
            break;
        *(phys_addr_t *)phys_to_virt(pa) = head;
        head = pa;
    }
    return head;
}

static void ballast_free(phys_addr_t head)
{
    while (head) {
        phys_addr_t next = *(phys_addr_t *)phys_to_virt(head);
        page_free(head, BALLAST_ORDER);
        head = next;
    }
}

static void test_oom(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    phys_addr_t ballast = ballast_take((size_t)OOM_LEFT_MIB << (20 - 12));
    ktest_log("oom: %zu MiB left free for the program", page_free_frames() >> (20 - 12));
    const char *argv[] = { "oom", "4", NULL };
    int s = user_run(t, argv);
    /* Exit 0: fork failed with -ENOMEM and every child was collected.  A
     * page fault kill is an allowed ending too (see user/oom.c): the
     * parent's copy-on-write fault can find memory gone. */
    if (s != 0 && !(SD_WIFFAULTED(s) && SD_WFAULTVEC(s) == 14))
        ktest_fail_at(t, __FILE__, __LINE__, "oom: status %#x", s);
    if (s != 0)
        ktest_log("oom: the parent was killed by a page fault (status %#x)", s);
    /* Children of a parent that died were adopted by the kernel, which
     * reaps them when they exit (within 3 s, see user/oom.c). */
    for (int i = 0; i < 500 && process_count() != b.processes; i++)
        msleep(10);
    ballast_free(ballast);
    user_baseline_check(t, &b);
    /* The kernel still works after running dry. */
    EXPECT_PROGRAM_OK(t, "hello");
    user_baseline_check(t, &b);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_spawn_stress),
    KTEST_CASE(test_fork_stress),
    KTEST_CASE(test_fuzz),
    KTEST_CASE(test_oom),
    {0},
};
KTEST_SUITE(user_stress, cases);
