/*
 * kernel/printk.h - the kernel log on the serial console.
 *
 * printk() formats one message (lib/format.h) and writes it with a prefix
 * "[   seconds.micros cpuN] " at the start of each line.  It may be called from
 * any CPU, with interrupts on or off, from interrupt and NMI handlers and from
 * panic: a whole message goes out under one console lock, so lines of two CPUs
 * do not interleave; once panic has started the lock is skipped after a bounded
 * wait so a CPU that died holding it cannot silence the report.
 *
 * printk_raw() writes without any prefix: KTAP test output uses it, because
 * KTAP parsers read lines exactly as printed.
 */
#pragma once
#include <kernel/compiler.h>
#include <stdarg.h>

/* A message is formatted whole into a buffer of PRINTK_MSG_MAX bytes before
 * it is written.  One that does not fit is cut, and its end replaced by
 * PRINTK_CUT_MARK, which ends the line: the next message still starts on a
 * line of its own with its prefix. */
#define PRINTK_MSG_MAX  512
#define PRINTK_CUT_MARK " [cut]\n"

void printk(const char *fmt, ...) __printf(1, 2);
void vprintk(const char *fmt, va_list ap);
void printk_raw(const char *fmt, ...) __printf(1, 2);
/* Called by panic(): from now on printk does not wait for the console lock
 * held by another CPU for long. */
void printk_enter_panic(void);
/* printk's formatting step (exposed for tests/test_printk.c): format into
 * buf[cap], cutting as described above; returns strlen(buf). */
size_t printk_format(char *buf, size_t cap, const char *fmt, va_list ap);

#define pr_info(...)  printk(__VA_ARGS__)
#define pr_warn(...)  printk("warning: " __VA_ARGS__)
#define pr_err(...)   printk("error: " __VA_ARGS__)
