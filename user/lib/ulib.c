/* user/lib/ulib.c - console output and small helpers for user programs. */
#include <ulib.h>
#include <stdarg.h>

const char *prog_name = "user";

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    sys_write(buf, len);
    return n;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}

void die(const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printf("%s: FAIL: %s\n", prog_name, buf);
    sys_exit(1);
}

void wait_ok(int pid, const char *what)
{
    int status;
    int r = sys_wait(pid, &status);
    if (r != pid)
        die("wait(%d) for %s = %d", pid, what, r);
    if (status != 0)
        die("%s: status %#x (faulted %d vector %d code %d)", what, status,
            SD_WIFFAULTED(status), SD_WFAULTVEC(status), SD_WEXITCODE(status));
}

long atol(const char *s)
{
    long sign = 1, v = 0;
    if (*s == '-') {
        sign = -1;
        s++;
    }
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return sign * v;
}

int pin_to_cpu(int cpu)
{
    int n = sys_cpu_count();
    if (n <= 0)
        return n < 0 ? n : -SD_EINVAL;
    cpu %= n;
    int r = sys_set_affinity(0, 1ull << cpu);
    if (r < 0)
        return r;
    /* The kernel moves us before set_affinity returns or at the latest at
     * the next scheduling point: yield until we are there. */
    for (int i = 0; i < 1000 && sys_getcpu() != cpu; i++)
        sys_yield();
    return sys_getcpu() == cpu ? 0 : -SD_EAGAIN;
}

char **environ;

const char *getenv(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}
