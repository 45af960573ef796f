/*
 * arch/crash.h - deliberate crashes, to see (and test) the exception report.
 *
 * The command-line option crash=ud|de|pf|gp|bp|df|panic makes the kernel
 * fault on purpose late in boot (kmain calls crash_if_requested() just
 * before the tests or the idle loop).  Each fault is raised in a function
 * of its own, named crash_<option> (crash_pf, crash_gp...), so the report's
 * RIP and first backtrace line name it.  See docs/traps.md for the lines a
 * log checker can expect.
 */
#pragma once

/* Raise the fault chosen with crash= (does nothing without the option). */
void crash_if_requested(void);
