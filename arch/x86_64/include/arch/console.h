/*
 * arch/console.h - where printk's bytes go (x86-64: COM1, polled;
 * arch/x86_64/serial.c).  Set up by arch_early_init() (arch/init.h).
 * Safe in any context, NMI included: it only polls and writes the UART.
 */
#pragma once

void arch_console_putc(char c);
