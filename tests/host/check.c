/* tests/host/check.c - see check.h. */
#include "check.h"
#include <stdarg.h>
#include <stdio.h>

unsigned check_passed, check_failed;

bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        check_passed++;
        return true;
    }
    check_failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return false;
}

int check_summary(const char *group)
{
    printf("%s: %u passed, %u failed\n", group, check_passed, check_failed);
    fflush(stdout);
    return check_failed ? 1 : 0;
}
