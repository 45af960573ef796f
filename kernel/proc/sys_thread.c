/*
 * kernel/proc/sys_thread.c - the system calls about processes and threads:
 * exit, wait, thread_create/exit/join, yield, sleep, the ids and CPUs,
 * set_affinity.  Every argument is checked here; user memory only through
 * arch/uaccess.h.
 */
#include "process_internal.h"
#include <kernel/kmalloc.h>
#include <kernel/syscall.h>
#include <kernel/cpumask.h>
#include <kernel/percpu.h>
#include <arch/uaccess.h>

static long sys_exit(const struct syscall_args *a)
{
    process_set_dying(current_process(), SD_STATUS_EXIT((int)a->a[0]));
    process_exit_thread((int)a->a[0]);
}
DEFINE_SYSCALL(SYS_exit, sys_exit);

static long sys_thread_exit(const struct syscall_args *a)
{
    process_exit_thread((int)a->a[0]);
}
DEFINE_SYSCALL(SYS_thread_exit, sys_thread_exit);

static long sys_wait(const struct syscall_args *a)
{
    int pid = (int)a->a[0];
    int *ustatus = (int *)a->a[1];
    if (pid < -1 || pid == 0)
        return -SD_EINVAL;
    if (ustatus && !user_range_ok((uintptr_t)ustatus, sizeof(int)))
        return -SD_EFAULT;
    return process_wait_child(current_process(), pid, NULL, ustatus);
}
DEFINE_SYSCALL(SYS_wait, sys_wait);

static long sys_thread_create(const struct syscall_args *a)
{
    uintptr_t entry = a->a[0], stack_top = a->a[1], clear_word = a->a[3];
    if (!user_range_ok(entry, 1) || entry < SD_USER_BASE)
        return -SD_EINVAL;
    /* A futex word, as futex_wake checks it. */
    if (clear_word & 3)
        return -SD_EINVAL;
    if (clear_word && !user_range_ok(clear_word, sizeof(uint32_t)))
        return -SD_EFAULT;
    if (stack_top < SD_USER_BASE + 16 || !user_range_ok(stack_top - 16, 16))
        return -SD_EINVAL;
    /* A zero return address where a call would have put one (process.h). */
    uintptr_t rsp = (stack_top & ~(uintptr_t)15) - 8;
    uint64_t zero = 0;
    if (copy_to_user((void *)rsp, &zero, sizeof(zero)))
        return -SD_EFAULT;

    struct user_start *st = kzalloc(sizeof(*st));
    if (!st)
        return -SD_ENOMEM;
    st->rip = entry;
    st->rsp = rsp;
    st->arg = a->a[2];
    st->clear_word = clear_word;
    int tid = process_add_thread(st);
    if (tid < 0)
        kfree(st);
    return tid;
}
DEFINE_SYSCALL(SYS_thread_create, sys_thread_create);

static long sys_thread_join(const struct syscall_args *a)
{
    int tid = (int)a->a[0];
    int *ucode = (int *)a->a[1];
    if (tid <= 0)
        return -SD_EINVAL;
    if (ucode && !user_range_ok((uintptr_t)ucode, sizeof(int)))
        return -SD_EFAULT;
    int code;
    int r = process_join_thread(tid, &code);
    if (r)
        return r;
    if (ucode && copy_to_user(ucode, &code, sizeof(code)))
        return -SD_EFAULT;
    return 0;
}
DEFINE_SYSCALL(SYS_thread_join, sys_thread_join);

static long sys_yield(const struct syscall_args *a)
{
    (void)a;
    yield();
    return 0;
}
DEFINE_SYSCALL(SYS_yield, sys_yield);

/* Longest single sleep: an hour. */
#define SLEEP_MAX_MS (3600u * 1000)

static long sys_sleep(const struct syscall_args *a)
{
    if (a->a[0] > SLEEP_MAX_MS)
        return -SD_EINVAL;
    /* msleep returns early when the process is being ended (should_stop). */
    msleep((unsigned)a->a[0]);
    return 0;
}
DEFINE_SYSCALL(SYS_sleep, sys_sleep);

static long sys_getpid(const struct syscall_args *a)
{
    (void)a;
    return process_pid(current_process());
}
DEFINE_SYSCALL(SYS_getpid, sys_getpid);

static long sys_gettid(const struct syscall_args *a)
{
    (void)a;
    return current_task()->id;
}
DEFINE_SYSCALL(SYS_gettid, sys_gettid);

static long sys_getcpu(const struct syscall_args *a)
{
    (void)a;
    return this_cpu_id();
}
DEFINE_SYSCALL(SYS_getcpu, sys_getcpu);

static long sys_cpu_count(const struct syscall_args *a)
{
    (void)a;
    return nr_cpus_online;
}
DEFINE_SYSCALL(SYS_cpu_count, sys_cpu_count);

/* set_affinity(tid or 0, mask of CPUs 0..63): a thread of the caller's own
 * process only.  Changing one's own affinity moves at once (we yield). */
static long sys_set_affinity(const struct syscall_args *a)
{
    int tid = (int)a->a[0];
    uint64_t bits = a->a[1];
    if (tid < 0)
        return -SD_EINVAL;
    struct cpumask mask;
    cpumask_clear(&mask);
    for (unsigned cpu = 0; cpu < 64 && cpu < MAX_CPUS; cpu++)
        if ((bits >> cpu) & 1 && cpumask_test_cpu(&cpu_online_mask, cpu))
            cpumask_set_cpu(&mask, cpu);
    if (cpumask_empty(&mask))
        return -SD_EINVAL;
    struct task *t = process_get_thread(tid);
    if (!t)
        return -SD_ESRCH;
    sched_set_affinity(t, &mask);
    bool self = t == current_task();
    task_put(t);
    if (self)
        yield();
    return 0;
}
DEFINE_SYSCALL(SYS_set_affinity, sys_set_affinity);
