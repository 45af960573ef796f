/*
 * tests/user_test_util.h - running user programs from the in-kernel tests.
 *
 * The programs (user/NAME.c) check themselves and end with exit status 0 on
 * success; a failing program prints why on the console.  So a test here
 * spawns, waits, and compares the wait status, then checks that the
 * processes and address spaces it made are all gone (the framework checks
 * frames and heap at the end of the suite).
 */
#pragma once
#include "ktest_suite.h"
#include <kernel/process.h>
#include <kernel/mm.h>
#include <kernel/ipc.h>
#include <kernel/shm.h>
#include <kernel/wait.h>
#include <kernel/sched.h>
#include <kernel/lazy_mm.h>
#include <kernel/cpumask.h>
#include <arch/mmu_context.h>
#include <arch/cpu.h>

struct user_baseline {
    unsigned processes;
    unsigned mms;
    unsigned endpoints;
    unsigned shm_objects;
};

/* CPUs in lazy TLB mode keep exited processes' mms (struct and PML4) until
 * they next run a user task: make them let go first, for exact counts. */
static inline void user_baseline_take(struct user_baseline *b)
{
    lazy_mm_drop_borrowers(NULL);
    b->processes = process_count();
    b->mms = mm_live_count();
    b->endpoints = ipc_endpoint_count();
    b->shm_objects = shm_live_count();
}

/* Everything the programs made is gone again. */
static inline void user_baseline_check(struct ktest *t, const struct user_baseline *b)
{
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, process_count(), b->processes);
    EXPECT_EQ(t, mm_live_count(), b->mms);
    EXPECT_EQ(t, ipc_endpoint_count(), b->endpoints);
    EXPECT_EQ(t, shm_live_count(), b->shm_objects);
}

/* Spawn NAME with argv (NULL-terminated), wait for it; returns its status,
 * or -1 after recording a failure if it could not be run. */
static inline int user_run(struct ktest *t, const char *const argv[])
{
    int pid = process_spawn(argv[0], argv);
    if (pid <= 0) {
        ktest_fail_at(t, __FILE__, __LINE__, "process_spawn(%s) = %d", argv[0], pid);
        return -1;
    }
    int status = -1;
    int r = process_wait(pid, &status);
    if (r != pid) {
        ktest_fail_at(t, __FILE__, __LINE__, "process_wait(%d) = %d", pid, r);
        return -1;
    }
    return status;
}

/* Run a program that must exit with status 0. */
#define EXPECT_PROGRAM_OK(t, ...)                                              \
    do {                                                                       \
        const char *const __argv[] = { __VA_ARGS__, NULL };                    \
        int __s = user_run((t), __argv);                                       \
        if (__s != 0)                                                          \
            ktest_fail_at((t), __FILE__, __LINE__,                             \
                          "%s: status %#x (exit code %d, faulted %d, vector %d)", \
                          __argv[0], __s, SD_WEXITCODE(__s), SD_WIFFAULTED(__s),  \
                          SD_WFAULTVEC(__s));                                  \
    } while (0)

/* Run a program that must be killed by exception `vector`. */
#define EXPECT_PROGRAM_FAULT(t, vector, ...)                                   \
    do {                                                                       \
        const char *const __argv[] = { __VA_ARGS__, NULL };                    \
        int __s = user_run((t), __argv);                                       \
        if (__s == -1 || !SD_WIFFAULTED(__s) || SD_WFAULTVEC(__s) != (vector)) \
            ktest_fail_at((t), __FILE__, __LINE__,                             \
                          "%s %s: status %#x, want killed by vector %d",       \
                          __argv[0], __argv[1] ? __argv[1] : "", __s, (vector)); \
    } while (0)
