/*
 * kernel/debug/race_window.h - widening the windows of the TLB and lazy-mm
 * protocols on purpose: boot option tlb_race_delay=N (microseconds; 0, the
 * default, is off).  docs/tlbcheck.md, "The model never lags".
 *
 * A WINDOW is the stretch between a CPU publishing a piece of state that
 * other CPUs act on (its is_lazy flag, its bit in an mm's cpumask, its
 * hazard slot, a CR3 write, a dropped reference) and the rest of its
 * transition (the shadow-TLB checker's record of it, a catch-up flush,
 * the next step).  On an idle host that stretch lasts a few instructions
 * and a wrong order almost never shows; on a busy host the vCPU can be
 * descheduled right there for milliseconds.  With tlb_race_delay=N each
 * call of race_window() below busy-waits N us at that point, so that a
 * wrong order (say, the checker told after a flusher could already act)
 * shows on every boot instead of once in a few dozen.
 *
 * The sites are listed in enum race_site; each call sits RIGHT AFTER the
 * store that publishes the state.  With the option off a site costs one
 * predictable branch on a read-mostly variable.
 */
#pragma once
#include <stdbool.h>
#include <kernel/compiler.h>

enum race_site {
    RACE_LAZY_ENTER,        /* is_lazy = true (enter_lazy_tlb): flushers may skip us */
    RACE_LAZY_LEAVE,        /* is_lazy = false (S1: switch_mm, lazy catch-up, leave_mm) */
    RACE_CPUMASK_SET,       /* our bit set in next->cpumask (S2, switch_mm) */
    RACE_CR3_WRITE,         /* MOV to CR3 done, its checker hook not yet run (tlb_write_cr3) */
    RACE_CPUMASK_CLEAR,     /* our bit cleared lazily (flush handler), the ASID not yet dropped */
    RACE_HAZARD_SET,        /* hazard slot = mm (borrow start) */
    RACE_HAZARD_CLEAR,      /* hazard slot = NULL (borrow end or drop) */
    RACE_BORROW_END,        /* a borrow's reference dropped (borrow end, refcount) */
    RACE_NR
};

extern unsigned tlb_race_delay_us;      /* tlb_race_delay=N */

void race_window_pause(enum race_site site);

static inline void race_window(enum race_site site)
{
    if (__builtin_expect(tlb_race_delay_us != 0, 0))
        race_window_pause(site);
}

/* After the tests: with the option on, one line per site saying how often
 * it paused (`race_window: SITE paused N times`), so that a test row can
 * require that its windows were really widened. */
void race_window_report(void);
