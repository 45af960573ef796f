/*
 * kernel/ktest.h - the seam between the kernel and its in-kernel tests.
 *
 * kmain needs one thing from the tests: to start them when the command line
 * asks (test=...).  tests/ktest.c implements this; the framework the suites
 * are written in (KTEST_SUITE, EXPECT_*) is tests/ktest_suite.h, which kernel code
 * does not include.
 */
#pragma once
#include <stdbool.h>

/* If test= named suites: start the "ktest" kernel thread, which runs them
 * (bound to CPU 0) and then ends the machine with the result; returns true.
 * Without test=, returns false and starts nothing. */
bool ktest_start(void);
