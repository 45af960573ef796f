/*
 * kernel/debug/race_window.c - tlb_race_delay=N: pause N us inside each window
 * of the TLB and lazy-mm protocols (kernel/debug/race_window.h).
 */
#include <kernel/debug/race_window.h>
#include <kernel/boot_options.h>
#include <kernel/printk.h>
#include <kernel/time.h>
#include <stdatomic.h>
#include <stdint.h>

unsigned tlb_race_delay_us;
CMDLINE_UINT(tlb_race_delay, tlb_race_delay_us, 0, 10000,
             "pause this many us inside each TLB/lazy-mm race window (testing; 0: off)");

static const char *const site_names[RACE_NR] = {
    [RACE_LAZY_ENTER] = "lazy_enter",
    [RACE_LAZY_LEAVE] = "lazy_leave",
    [RACE_CPUMASK_SET] = "cpumask_set",
    [RACE_CR3_WRITE] = "cr3_write",
    [RACE_CPUMASK_CLEAR] = "cpumask_clear",
    [RACE_HAZARD_SET] = "hazard_set",
    [RACE_HAZARD_CLEAR] = "hazard_clear",
    [RACE_BORROW_END] = "borrow_end",
};

/* Shared counts: contention does not matter next to the pause itself. */
static _Atomic uint64_t pauses[RACE_NR];

void race_window_pause(enum race_site site)
{
    atomic_fetch_add_explicit(&pauses[site], 1, memory_order_relaxed);
    udelay(tlb_race_delay_us);
}

void race_window_report(void)
{
    if (!tlb_race_delay_us)
        return;
    for (unsigned s = 0; s < RACE_NR; s++)
        printk("race_window: %s paused %llu times (%u us each)\n", site_names[s],
               (unsigned long long)atomic_load_explicit(&pauses[s], memory_order_relaxed),
               tlb_race_delay_us);
}
