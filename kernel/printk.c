/*
 * kernel/printk.c - the kernel log (see kernel/printk.h).
 *
 * Lock: console_lock protects the UART from interleaved messages.  It is
 * taken with interrupts off so an interrupt handler's printk on the same CPU
 * cannot deadlock against the interrupted printk.  An NMI handler can still
 * interrupt a printk on its own CPU: if the lock is held by this very CPU we
 * print without it (the lines may mix, nothing hangs).
 */
#include <kernel/printk.h>
#include <kernel/spinlock.h>
#include <kernel/percpu.h>
#include <kernel/time.h>
#include <kernel/panic.h>
#include <arch/console.h>
#include <arch/cpu.h>
#include <lib/format.h>
#include <lib/string.h>

static struct spinlock console_lock = SPINLOCK_INIT("console_lock", LOCK_RANK_CONSOLE);
static _Atomic bool in_panic;
static _Atomic bool console_lock_abandoned;     /* see console_acquire() */
static bool at_line_start = true;   /* protected by console_lock */

void printk_enter_panic(void)
{
    atomic_store(&in_panic, true);
}

/* Take the console lock; returns whether we hold it. */
static bool console_acquire(void)
{
    if (spin_held_by_me(&console_lock))
        return false;                   /* NMI/exception inside our own printk */
    if (!atomic_load(&in_panic)) {
        spin_lock(&console_lock);
        return true;
    }
    /* Panic: wait a bounded time; the holder may be stopped for good.  Once
     * a wait has timed out, the holder is taken to be stopped (panic parks
     * CPUs wherever they are, even inside printk) and nobody waits again:
     * otherwise every line of the panic report would pay the timeout. */
    if (atomic_load(&console_lock_abandoned))
        return false;
    for (int i = 0; i < 1000000; i++) {
        if (spin_trylock(&console_lock))
            return true;
        arch_cpu_relax();
    }
    atomic_store(&console_lock_abandoned, true);
    return false;
}

static void emit(const char *s, bool prefix)
{
    for (; *s; s++) {
        if (prefix && at_line_start) {
            char p[40];
            uint64_t ns = ktime_ns();
            snprintf(p, sizeof(p), "[%5lu.%06lu cpu%u] ", (unsigned long)(ns / 1000000000),
                     (unsigned long)(ns / 1000 % 1000000), this_cpu_id());
            for (char *q = p; *q; q++)
                arch_console_putc(*q);
        }
        if (*s == '\n')
            arch_console_putc('\r');
        arch_console_putc(*s);
        at_line_start = (*s == '\n');
    }
}

size_t printk_format(char *buf, size_t cap, const char *fmt, va_list ap)
{
    const size_t mark = sizeof(PRINTK_CUT_MARK) - 1;
    if (cap == 0)
        return 0;
    int n = vsnprintf(buf, cap, fmt, ap);
    if (n >= 0 && (size_t)n < cap)
        return (size_t)n;
    /* Cut: vsnprintf kept the first cap-1 bytes.  Without the mark's
     * newline a cut message would also lose its own '\n', and the next
     * message would run on in the same line without its prefix. */
    if (cap <= mark)
        return cap - 1;
    memcpy(buf + cap - 1 - mark, PRINTK_CUT_MARK, mark + 1);
    return cap - 1;
}

static void vprintk_common(const char *fmt, va_list ap, bool prefix)
{
    char buf[PRINTK_MSG_MAX];
    printk_format(buf, sizeof(buf), fmt, ap);
    uint64_t flags = arch_irq_save();
    bool locked = console_acquire();
    emit(buf, prefix);
    if (locked)
        spin_unlock(&console_lock);
    arch_irq_restore(flags);
}

void vprintk(const char *fmt, va_list ap)
{
    vprintk_common(fmt, ap, true);
}

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk_common(fmt, ap, true);
    va_end(ap);
}

void printk_raw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk_common(fmt, ap, false);
    va_end(ap);
}
