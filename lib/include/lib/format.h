/*
 * lib/format.h - printf-style formatting into a buffer.
 *
 * Supported: %d %i %u %x %X %o %p %s %c %%, length modifiers hh h l ll z t,
 * flags '-' '0' ' ' '+' '#', a field width and precision (also '*').
 * %p prints 0x followed by 16 hex digits.  A NULL %s prints "(null)".
 * A width or precision above FORMAT_MAX_FIELD counts as FORMAT_MAX_FIELD.
 * An unknown conversion is printed as written ("%q" gives "%q").
 * Returns the length the full output would have had (like C99 snprintf);
 * the buffer always ends in NUL when size > 0.
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>

#define FORMAT_MAX_FIELD 4096

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
