/*
 * kernel/debug/console_keys.h - debugging keys on the serial console
 * (kernel/debug/console_keys.c): 't' prints the TLB trace, 'c' the event
 * counters, 'h' the list.  Read only while CPU 0 is idle.
 */
#pragma once

/* Called by the idle loop (kernel/sched/core.c) with interrupts on: acts on
 * a key typed since the last call, if any (CPU 0 only; others return). */
void console_keys_poll(void);
