/*
 * tests/test_user_ipc.c - IPC between user processes: a server answering
 * several client processes with exact message contents, and ping-pong
 * round trips on one CPU and between two.  Endpoints die with the process
 * that made them, so the count returns to its baseline.
 */
#include "user_test_util.h"

static void test_server_clients(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "ipc_server", "3", "200");
    EXPECT_PROGRAM_OK(t, "ipc_server", "6", "50");
    user_baseline_check(t, &b);
}

static void test_pingpong_one_cpu(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "ipc_pingpong", "1", "2000");
    user_baseline_check(t, &b);
}

static void test_pingpong_two_cpus(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "ipc_pingpong", "2", "500");
    user_baseline_check(t, &b);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_server_clients),
    KTEST_CASE(test_pingpong_one_cpu),
    KTEST_CASE(test_pingpong_two_cpus),
    {0},
};
KTEST_SUITE(user_ipc, cases);
