/*
 * kernel/run.h - the run= boot option: one user program instead of the demo
 * (kernel/proc/run.c, docs/processes.md "Running one program").
 */
#pragma once
#include <stdbool.h>

/* If run= was given: start the "run" kernel thread, which starts the
 * program, waits for it and ends the machine with its status; returns true.
 * Without run=, returns false and starts nothing. */
bool run_start(void);
/* Whether run= was given (kmain warns when test= overrides it). */
bool run_requested(void);
