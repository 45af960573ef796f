/* kernel/sched/tick.c - the per-CPU periodic tick (see kernel/tick.h). */
#include <kernel/tick.h>
#include <kernel/boot_options.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/rcu.h>
#include <arch/timer.h>
#include <stdatomic.h>

unsigned tick_hz = 100;
CMDLINE_UINT(hz, tick_hz, 10, 1000, "timer ticks per second on each CPU");

/* Written only by the owning CPU (in its timer interrupt); read by anyone.
 * Relaxed atomics: readers want an untorn, eventually fresh value, and no
 * other data is published through the counter. */
static DEFINE_PER_CPU(_Atomic uint64_t, ticks);

void tick_calibrate(void)
{
    arch_timer_calibrate();
}

void tick_start_this_cpu(void)
{
    arch_timer_start(tick_hz);
}

void tick_handle(void)
{
    _Atomic uint64_t *t = this_cpu_ptr(&ticks);
    atomic_store_explicit(t, atomic_load_explicit(t, memory_order_relaxed) + 1, memory_order_relaxed);
    rcu_tick();         /* a quiescent state if no reader was interrupted */
    sched_tick();       /* time slices, msleep wake-ups, balancing */
}

uint64_t tick_count(unsigned cpu)
{
    return atomic_load_explicit(per_cpu_ptr(&ticks, cpu), memory_order_relaxed);
}
