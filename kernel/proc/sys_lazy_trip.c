/*
 * kernel/proc/sys_lazy_trip.c - SYS_lazy_trip: the cost of a kernel
 * thread's lazy round trip, measured in the kernel for user/bench.c
 * (docs/syscalls.md, "Measuring").
 *
 * One round trip: the calling user thread wakes a kernel thread bound to
 * its CPU and sleeps; the CPU switches to the kernel thread, which has no
 * mm of its own and borrows the caller's (enter_lazy_tlb, the lazy_mm=
 * mode's borrow: an mm_count reference, nothing, or a hazard slot); the
 * kernel thread wakes the caller and sleeps; the CPU switches back to the
 * caller's mm, which is still loaded (no CR3 write unless a flush happened
 * meanwhile) and the borrow ends.  The caller reads the cycle counter
 * before the wake-up and after it runs again, so one figure is two context
 * switches plus the borrow's start and end, with no system-call entry in
 * it.  The figures go to user memory one by one, after each trip (a copy
 * may fault in a page: that is not part of the trip).
 *
 * The caller must be pinned to one CPU (set_affinity): a trip is defined
 * on one CPU, and an unpinned caller could be moved away from the kernel
 * thread between two trips.
 */
#include <kernel/syscall.h>
#include <kernel/cpumask.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <uapi/shootdown.h>
#include <arch/cpu.h>
#include <arch/uaccess.h>

#define LAZY_TRIP_MAX 100000u

struct lazy_trip {
    struct semaphore go, back;      /* caller -> kernel thread, and back */
    bool stop;                      /* written before the last up(&go) */
};

static void lazy_trip_thread(void *arg)
{
    struct lazy_trip *lt = arg;
    for (;;) {
        down(&lt->go);
        /* The semaphore's lock orders the caller's store to stop before
         * its up(&go) with this load after down(&go). */
        if (lt->stop)
            return;
        up(&lt->back);
    }
}

static long sys_lazy_trip(const struct syscall_args *a)
{
    uint64_t *out = (uint64_t *)a->a[0];
    uint64_t n = a->a[1];
    struct task *me = current_task();
    if (n == 0 || n > LAZY_TRIP_MAX)
        return -SD_EINVAL;
    struct cpumask mask;
    sched_get_affinity(me, &mask);
    if (cpumask_weight(&mask) != 1)
        return -SD_EINVAL;
    unsigned cpu = cpumask_next(&mask, 0);
    /* The array must lie in the user half; its first and last entries must
     * be writable now (a hole in between ends the trips with -SD_EFAULT). */
    uint64_t zero = 0;
    if (a->a[0] >= SD_USER_TOP || (SD_USER_TOP - a->a[0]) / sizeof(uint64_t) < n ||
        copy_to_user(out, &zero, sizeof(zero)) || copy_to_user(&out[n - 1], &zero, sizeof(zero)))
        return -SD_EFAULT;

    struct lazy_trip lt = { .stop = false };
    sema_init(&lt.go, 0, "lazy_trip.go");
    sema_init(&lt.back, 0, "lazy_trip.back");
    struct task *t = kthread_create(lazy_trip_thread, &lt, "lazy-trip");
    if (!t)
        return -SD_ENOMEM;
    kthread_bind(t, cpu);
    kthread_start(t);

    long r = 0;
    for (uint64_t i = 0; i < n && r == 0; i++) {
        uint64_t t0 = arch_cycles();
        up(&lt.go);
        down(&lt.back);
        uint64_t d = arch_cycles() - t0;
        if (copy_to_user(&out[i], &d, sizeof(d)))
            r = -SD_EFAULT;
    }
    lt.stop = true;
    up(&lt.go);
    kthread_join(t);
    return r;
}
DEFINE_SYSCALL(SYS_lazy_trip, sys_lazy_trip);
