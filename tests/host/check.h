/*
 * tests/host/check.h - a minimal check harness for the host unit tests.
 *
 * Every CHECK* is one counted check; a failed one prints file:line and the
 * values.  check_summary() prints "<group>: N passed, N failed" as the
 * program's last line, which tests/host/run.sh adds up.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

extern unsigned check_passed, check_failed;

bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prints the summary line; returns the process exit status. */
int check_summary(const char *group);

#define CHECK(c) check_at(!!(c), __FILE__, __LINE__, "%s", #c)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long __a = (long long)(a), __b = (long long)(b);                  \
        check_at(__a == __b, __FILE__, __LINE__, "%s == %s: %lld != %lld",     \
                 #a, #b, __a, __b);                                            \
    } while (0)

#define CHECK_UEQ(a, b)                                                        \
    do {                                                                       \
        unsigned long long __a = (a), __b = (b);                               \
        check_at(__a == __b, __FILE__, __LINE__, "%s == %s: %#llx != %#llx",   \
                 #a, #b, __a, __b);                                            \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *__a = (a), *__b = (b);                                     \
        check_at(__a && __b && !strcmp(__a, __b), __FILE__, __LINE__,          \
                 "%s == %s: \"%s\" != \"%s\"", #a, #b,                         \
                 __a ? __a : "(null)", __b ? __b : "(null)");                  \
    } while (0)

/* Same sign (both negative, both zero or both positive). */
#define SIGN(x) (((x) > 0) - ((x) < 0))
