/*
 * tests/test_process_life.c - the life of processes and threads without
 * ring 3: the threads run kernel functions (user_start.kernel_fn) inside
 * real processes with real mms, and call what the system calls call
 * (process_exit_thread, process_add_thread, process_join_thread,
 * process_wait_child, process_set_dying, process_kill_fault).  Checks exit
 * statuses, joins, the ending of every thread on exit and on a fault,
 * orphans collected by the reaper, and that tasks and processes return to
 * their baseline.
 *
 * Until the mm part is merged (mm_create() gives NULL here), the processes
 * share one never-freed stand-in mm on the kernel's page tables.
 */
#include "ktest_suite.h"
#include "../kernel/proc/process_internal.h"
#include <kernel/ipc.h>
#include <kernel/mm.h>
#include <kernel/spinlock.h>
#include <arch/trap.h>
#include <kernel/kmalloc.h>
#include <kernel/wait.h>
#include <arch/cpu.h>
#include <lib/string.h>

static struct mm standin_mm;

static struct mm *test_mm(void)
{
    struct mm *mm = mm_create();
    if (mm)
        return mm;
    /* Users come and go; the one mm_count reference of "all users" is
     * never dropped, so it is never freed (CPUs may borrow it lazily). */
    if (!standin_mm.pml4) {
        standin_mm.pgd = init_mm.pgd;
        standin_mm.pml4 = init_mm.pml4;
        atomic_store(&standin_mm.mm_count, 1);
        rwsem_init(&standin_mm.lock, "standin_mm.lock");
        list_init(&standin_mm.vmas);
        standin_mm.name = "standin_mm";
    }
    mmget(&standin_mm);
    return &standin_mm;
}

/* Start a process running fn(arg) in its first thread, child of parent. */
static int start_fn(struct process *parent, void (*fn)(void *), void *arg)
{
    int err;
    struct process *p = process_alloc("life", &err);
    if (!p)
        return err;
    struct mm *mm = test_mm();
    struct user_start *st = kzalloc(sizeof(*st));
    if (!st) {
        mmput(mm);
        process_free(p);
        return -SD_ENOMEM;
    }
    st->kernel_fn = fn;
    st->arg = (uint64_t)(uintptr_t)arg;
    int pid = process_pid(p);
    err = process_start(p, parent, mm, st, NULL);
    if (err) {
        kfree(st);
        mmput(mm);
        process_free(p);
        return err;
    }
    return pid;
}

static int add_thread_fn(void (*fn)(void *), void *arg)
{
    struct user_start *st = kzalloc(sizeof(*st));
    if (!st)
        return -SD_ENOMEM;
    st->kernel_fn = fn;
    st->arg = (uint64_t)(uintptr_t)arg;
    int tid = process_add_thread(st);
    if (tid < 0)
        kfree(st);
    return tid;
}

struct baseline {
    unsigned tasks, procs, mms;
};

static struct baseline take_baseline(void)
{
    return (struct baseline){ sched_task_count(), process_count(), mm_live_count() };
}

/* Tasks are freed by joins that may finish just after wait returns (the
 * reaper's): give them a bounded number of sleeps. */
static void expect_baseline(struct ktest *t, struct baseline b)
{
    for (int i = 0; i < 2000 && (sched_task_count() != b.tasks || process_count() != b.procs); i++)
        msleep(1);
    EXPECT_EQ(t, sched_task_count(), b.tasks);
    EXPECT_EQ(t, process_count(), b.procs);
    EXPECT_EQ(t, mm_live_count(), b.mms);
    /* The stand-in's counts show the reference protocol: no users left,
     * and only its permanent mm_count (no CPU still borrows it). */
    if (standin_mm.pml4) {
        EXPECT_EQ(t, atomic_load(&standin_mm.mm_users), 0);
        EXPECT_EQ(t, atomic_load(&standin_mm.mm_count), 1);
    }
}

/* ---- exit codes ---- */

static void fn_exit_code(void *arg)
{
    process_exit_thread((int)(uintptr_t)arg);
}

static void test_exit_status(struct ktest *t)
{
    struct baseline b = take_baseline();
    int pids[8];
    for (int i = 0; i < 8; i++) {
        pids[i] = start_fn(NULL, fn_exit_code, (void *)(uintptr_t)(i * 30 + 1));
        ASSERT_GT(t, pids[i], 0);
    }
    for (int i = 7; i >= 0; i--) {
        int status = -1;
        EXPECT_EQ(t, process_wait(pids[i], &status), pids[i]);
        EXPECT_FALSE(t, SD_WIFFAULTED(status));
        EXPECT_EQ(t, SD_WEXITCODE(status), (i * 30 + 1) & 0xff);
    }
    EXPECT_EQ(t, process_wait(-1, NULL), -SD_ECHILD);
    expect_baseline(t, b);
}

/* Returning from the body is exit code 0 (thread exit of the last thread). */
static void fn_return(void *arg)
{
    (void)arg;
}

static void test_wait_any(struct ktest *t)
{
    struct baseline b = take_baseline();
    int n = 0;
    for (int i = 0; i < 5; i++)
        n += start_fn(NULL, fn_return, NULL) > 0;
    ASSERT_EQ(t, n, 5);
    for (int i = 0; i < 5; i++) {
        int status = -1;
        EXPECT_GT(t, process_wait(-1, &status), 0);
        EXPECT_EQ(t, status, 0);
    }
    EXPECT_EQ(t, process_wait(-1, NULL), -SD_ECHILD);
    expect_baseline(t, b);
}

/* ---- threads: join codes; exit ends every thread ---- */

static void fn_thread_code(void *arg)
{
    msleep(2);
    process_exit_thread((int)(uintptr_t)arg);
}

static _Atomic int join_result;

static void fn_joiner(void *arg)
{
    (void)arg;
    int tids[4], sum = 0, code;
    for (int i = 0; i < 4; i++)
        tids[i] = add_thread_fn(fn_thread_code, (void *)(uintptr_t)(10 + i));
    for (int i = 0; i < 4; i++)
        if (tids[i] > 0 && process_join_thread(tids[i], &code) == 0)
            sum += code;
    /* Joined twice, or itself: refused. */
    if (process_join_thread(tids[0], &code) != -SD_ESRCH)
        sum = -1;
    if (process_join_thread(current_task()->id, &code) != -SD_EINVAL)
        sum = -2;
    atomic_store(&join_result, sum);
    process_exit_thread(0);
}

static void test_thread_join(struct ktest *t)
{
    struct baseline b = take_baseline();
    atomic_store(&join_result, 0);
    int pid = start_fn(NULL, fn_joiner, NULL);
    ASSERT_GT(t, pid, 0);
    int status;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    EXPECT_EQ(t, atomic_load(&join_result), 10 + 11 + 12 + 13);
    expect_baseline(t, b);
}

static _Atomic unsigned spinners_running;

static void fn_spinner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinners_running, 1);
    /* What a thread in user mode does, as far as the kernel sees it: run,
     * and come back through the kernel entry that checks for dying. */
    for (unsigned i = 0;; i++) {
        process_exit_if_dying();
        if (i % 2)
            msleep(1);
        else
            yield();
    }
}

static void fn_exit_group(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6; i++)
        add_thread_fn(fn_spinner, NULL);
    while (atomic_load(&spinners_running) < 6)
        msleep(1);
    /* What SYS_exit(42) does. */
    process_set_dying(current_process(), SD_STATUS_EXIT(42));
    process_exit_thread(42);
}

static void test_exit_ends_all_threads(struct ktest *t)
{
    struct baseline b = take_baseline();
    atomic_store(&spinners_running, 0);
    int pid = start_fn(NULL, fn_exit_group, NULL);
    ASSERT_GT(t, pid, 0);
    int status = -1;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    EXPECT_EQ(t, status, SD_STATUS_EXIT(42));
    expect_baseline(t, b);
}

static void fn_fault(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        add_thread_fn(fn_spinner, NULL);
    while (atomic_load(&spinners_running) < 3)
        msleep(1);
    arch_irq_disable(); /* as an exception handler would call it */
    process_kill_fault(14, 6, 0xdead000, 0x401234);
}

static void test_fault_kills_process(struct ktest *t)
{
    struct baseline b = take_baseline();
    atomic_store(&spinners_running, 0);
    int pid = start_fn(NULL, fn_fault, NULL);
    ASSERT_GT(t, pid, 0);
    int status = -1;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    EXPECT_TRUE(t, SD_WIFFAULTED(status));
    EXPECT_EQ(t, SD_WFAULTVEC(status), 14);
    expect_baseline(t, b);
}

/* ---- children of processes, orphans ---- */

static void fn_parent_waits(void *arg)
{
    (void)arg;
    struct process *me = current_process();
    int c1 = start_fn(me, fn_exit_code, (void *)5);
    int c2 = start_fn(me, fn_exit_code, (void *)6);
    int s1 = 0, s2 = 0;
    int r1 = process_wait_child(me, c2, &s1, NULL);
    int r2 = process_wait_child(me, -1, &s2, NULL);
    int r3 = process_wait_child(me, -1, NULL, NULL);
    bool ok = c1 > 0 && c2 > 0 && r1 == c2 && r2 == c1 && s1 == 6 && s2 == 5 && r3 == -SD_ECHILD;
    process_exit_thread(ok ? 77 : 1);
}

static void test_process_waits_for_children(struct ktest *t)
{
    struct baseline b = take_baseline();
    int pid = start_fn(NULL, fn_parent_waits, NULL);
    ASSERT_GT(t, pid, 0);
    int status = -1;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    EXPECT_EQ(t, status, 77);
    expect_baseline(t, b);
}

static void fn_sleep_exit(void *arg)
{
    (void)arg;
    msleep(20);
    process_exit_thread(3);
}

static void fn_orphan_maker(void *arg)
{
    (void)arg;
    struct process *me = current_process();
    for (int i = 0; i < 4; i++)
        start_fn(me, i % 2 ? fn_sleep_exit : fn_return, NULL);
    msleep(5);          /* some children are zombies already, some run */
    process_exit_thread(9);
}

static void test_orphans_are_reaped(struct ktest *t)
{
    struct baseline b = take_baseline();
    int pid = start_fn(NULL, fn_orphan_maker, NULL);
    ASSERT_GT(t, pid, 0);
    int status = -1;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    EXPECT_EQ(t, status, 9);
    expect_baseline(t, b);      /* the reaper collected the orphans */
}

/* The kernel may also wait for the orphans it adopted: process_wait(-1)
 * returns -SD_ECHILD only once every one is gone and freed. */
static void test_wait_collects_orphans(struct ktest *t)
{
    struct baseline b = take_baseline();
    int pid = start_fn(NULL, fn_orphan_maker, NULL);
    ASSERT_GT(t, pid, 0);
    int status = -1;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    int n = 0;
    while (process_wait(-1, &status) > 0)
        n++;
    EXPECT_LE(t, n, 4);
    EXPECT_EQ(t, process_count(), b.procs);
    expect_baseline(t, b);
}

static void test_many_cycles(struct ktest *t)
{
    struct baseline b = take_baseline();
    for (int round = 0; round < 20; round++) {
        int n = 0;
        for (int i = 0; i < 4; i++)
            n += start_fn(NULL, i % 4 ? fn_return : fn_joiner, NULL) > 0;
        for (int i = 0; i < n; i++)
            EXPECT_GT(t, process_wait(-1, NULL), 0);
    }
    expect_baseline(t, b);
}

/* ---- exit and IPC ----
 * A process's exit destroys its endpoints and fails the callers waiting
 * for a reply from its threads (-SD_ESRCH), and visits only the endpoints
 * it made or received a call through (struct ipc_owner, kernel/ipc.h):
 * the IPC locks taken in the watched process's own context are counted
 * (spin_lock_taken_test_hook), distinct endpoint locks and the table's. */

static struct process *_Atomic ipc_watched;
static struct {
    struct spinlock *ep_locks[IPC_MAX_ENDPOINTS];
    unsigned n_ep_locks, table_holds;
} ipc_seen;

static void ipc_record_lock(struct spinlock *l)
{
    /* Only the watched process's thread writes: one writer at a time. */
    struct task *me = current_task();
    if (!me->process || me->process != atomic_load(&ipc_watched) || arch_in_interrupt() || !l->name)
        return;
    if (strcmp(l->name, "ipc_table_lock") == 0) {
        ipc_seen.table_holds++;
    } else if (strcmp(l->name, "endpoint.lock") == 0) {
        for (unsigned i = 0; i < ipc_seen.n_ep_locks; i++)
            if (ipc_seen.ep_locks[i] == l)
                return;
        if (ipc_seen.n_ep_locks < IPC_MAX_ENDPOINTS)
            ipc_seen.ep_locks[ipc_seen.n_ep_locks++] = l;
    }
}

struct ipc_exit_case {
    int ep;                 /* the server's endpoint (made by the test) */
    _Atomic int received;   /* the server's ipc_recv result, 1 before */
    _Atomic int call_result;
    _Atomic bool call_done;
};

/* The process's only thread: start being watched, then (ep > 0) receive
 * one call and exit without replying, or (ep == 0) make an endpoint of
 * its own and exit, or (ep < 0) exit having used no IPC at all. */
static void fn_ipc_exit(void *arg)
{
    struct ipc_exit_case *c = arg;
    atomic_store(&ipc_watched, current_process());
    if (c->ep > 0) {
        struct sd_ipc_msg m;
        atomic_store(&c->received, ipc_recv(c->ep, &m));
    } else if (c->ep == 0) {
        atomic_store(&c->received,
                     ipc_endpoint_create("ktest-exit-own", current_task()->ipc_owner));
    }
}

static void ipc_exit_caller(void *arg)
{
    struct ipc_exit_case *c = arg;
    struct sd_ipc_msg q = { .label = 5 }, r;
    atomic_store(&c->call_result, ipc_call(c->ep, &q, &r));
    atomic_store(&c->call_done, true);
}

/* Run the case in a process; returns how many distinct endpoint locks its
 * thread took in its whole life, exit included (the table lock's holds in
 * *table). */
static unsigned run_ipc_exit(struct ktest *t, struct ipc_exit_case *c, unsigned *table)
{
    memset(&ipc_seen, 0, sizeof(ipc_seen));
    atomic_store(&ipc_watched, NULL);
    atomic_store(&c->received, 1);
    WRITE_ONCE(spin_lock_taken_test_hook, ipc_record_lock);
    int pid = start_fn(NULL, fn_ipc_exit, c);
    EXPECT_GT(t, pid, 0);
    if (pid > 0)
        EXPECT_EQ(t, process_wait(pid, NULL), pid);
    WRITE_ONCE(spin_lock_taken_test_hook, NULL);
    atomic_store(&ipc_watched, NULL);
    *table = ipc_seen.table_holds;
    return ipc_seen.n_ep_locks;
}

static void test_exit_releases_ipc(struct ktest *t)
{
    struct baseline b = take_baseline();
    unsigned endpoints = ipc_endpoint_count(), table;

    /* No IPC used: its exit takes no IPC lock at all. */
    struct ipc_exit_case none = { .ep = -1 };
    EXPECT_EQ(t, run_ipc_exit(t, &none, &table), 0u);
    EXPECT_EQ(t, table, 0u);

    /* An endpoint of its own: made (the table lock and its lock), and
     * destroyed by the exit (both again), and no other endpoint's lock. */
    struct ipc_exit_case own = { .ep = 0 };
    EXPECT_EQ(t, run_ipc_exit(t, &own, &table), 1u);
    EXPECT_EQ(t, table, 2u);
    EXPECT_GT(t, atomic_load(&own.received), 0);
    EXPECT_EQ(t, ipc_endpoint_lookup("ktest-exit-own"), -SD_ENOENT);
    EXPECT_EQ(t, ipc_endpoint_count(), endpoints);

    /* A call received and never answered: the exit fails its caller with
     * -SD_ESRCH, visiting that endpoint only. */
    static struct ipc_exit_case srv;
    srv = (struct ipc_exit_case){ .ep = ipc_endpoint_create("ktest-exit-srv", NULL) };
    ASSERT_GT(t, srv.ep, 0);
    struct task *caller = kthread_run(ipc_exit_caller, &srv, "ipc_exit_caller");
    ASSERT_TRUE(t, caller != NULL);
    EXPECT_EQ(t, run_ipc_exit(t, &srv, &table), 1u);
    EXPECT_EQ(t, table, 1u);
    EXPECT_EQ(t, atomic_load(&srv.received), 0);
    /* The exit completed the caller's wait before the process became a
     * zombie; give the caller's thread a bounded number of turns to store
     * what its call returned. */
    for (int i = 0; i < 2000 && !atomic_load(&srv.call_done); i++)
        msleep(1);
    if (!atomic_load(&srv.call_done)) {
        ktest_log("the caller still waits for the reply of an exited process");
        EXPECT_TRUE(t, atomic_load(&srv.call_done));
        kthread_stop(caller);       /* ends its wait (and joins it) */
    } else {
        kthread_join(caller);
    }
    EXPECT_EQ(t, atomic_load(&srv.call_result), -SD_ESRCH);
    EXPECT_EQ(t, ipc_endpoint_destroy(srv.ep), 0);
    EXPECT_EQ(t, ipc_endpoint_count(), endpoints);
    expect_baseline(t, b);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_exit_status),
    KTEST_CASE(test_wait_any),
    KTEST_CASE(test_thread_join),
    KTEST_CASE(test_exit_ends_all_threads),
    KTEST_CASE(test_fault_kills_process),
    KTEST_CASE(test_process_waits_for_children),
    KTEST_CASE(test_orphans_are_reaped),
    KTEST_CASE(test_wait_collects_orphans),
    KTEST_CASE(test_many_cycles),
    KTEST_CASE(test_exit_releases_ipc),
    {0},
};
KTEST_SUITE(process_life, cases);
