/*
 * kernel/proc/sys_time.c - SYS_clock: the time since boot and the rate of
 * the cycle counter, so that a user program can time itself (docs/syscalls.md,
 * "Time").  The kernel's clock is the cycle counter scaled by the rate
 * measured at boot (kernel/time.h); `cycles` and `ns` are one reading, so
 * user code can turn later rdtsc values into nanoseconds without a call.
 */
#include <kernel/syscall.h>
#include <kernel/time.h>
#include <kernel/tick.h>
#include <uapi/shootdown.h>
#include <arch/cpu.h>
#include <arch/timer.h>
#include <arch/uaccess.h>

static long sys_clock(const struct syscall_args *a)
{
    struct sd_clock c;
    c.cycles = arch_cycles();
    c.ns = arch_cycles_to_ns(c.cycles);
    c.cycle_hz = ktime_cycle_hz();
    c.tick_ns = 1000000000ull / tick_hz;
    if (copy_to_user((void *)a->a[0], &c, sizeof(c)))
        return -SD_EFAULT;
    return 0;
}
DEFINE_SYSCALL(SYS_clock, sys_clock);
