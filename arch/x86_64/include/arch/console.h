/*
 * arch/console.h - where printk's bytes go, and the keys typed back (x86-64:
 * COM1, polled; arch/x86_64/serial.c).  Set up by arch_early_init()
 * (arch/init.h).  Safe in any context, NMI included: they only poll and
 * read or write the UART.
 */
#pragma once

void arch_console_putc(char c);
/* A byte typed on the console since the last call, or -1 if none (never
 * waits; kernel/debug/console_keys.c). */
int arch_console_getc(void);
