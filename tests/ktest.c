/*
 * tests/ktest.c - running suites and printing KTAP (see tests/ktest_suite.h), and
 * starting them from kmain (kernel/ktest.h).
 *
 * Tests run one at a time on the boot CPU (a test may itself spread work to
 * other CPUs with the cross-CPU call helpers).
 */
#include "ktest_suite.h"
#include <kernel/boot_options.h>
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/kmalloc.h>
#include <kernel/kstack.h>
#include <kernel/sched.h>
#include <kernel/lazy_mm.h>
#include <kernel/pt_walk.h>
#include <lib/format.h>
#include <lib/string.h>
#include <kernel/time.h>
#include <kernel/debug/tlb_trace.h>
#include <kernel/debug/race_window.h>
#include <arch/machine.h>

char ktest_selection[256];
CMDLINE_STRING(test, ktest_selection,
               "run the in-kernel tests and end the machine: all, or suites separated by commas");

static struct ktest *current_test;
static unsigned total_pass, total_fail, total_skip;

void ktest_fail_at(struct ktest *t, const char *file, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk_raw("        # %s: FAIL at %s:%d: %s\n", t->name, file, line, msg);
    t->failed = true;
}

void ktest_log(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk_raw("        # %s%s%s\n", current_test ? current_test->name : "", current_test ? ": " : "", msg);
}

static bool selected(const char *selection, const struct ktest_suite *s)
{
    const char *name = s->name;
    if (!strcmp(selection, "all"))
        return !s->only_by_name;
    size_t n = strlen(name);
    for (const char *p = selection; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

/* Suite names in `selection` that match no registered suite. */
static int count_unknown(const char *selection)
{
    int unknown = 0;
    if (!strcmp(selection, "all"))
        return 0;
    for (const char *p = selection; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool found = false;
        for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++)
            if (strlen(s->name) == len && !strncmp(s->name, p, len))
                found = true;
        if (!found && len) {
            printk_raw("# error: no test suite named '%.*s'\n", (int)len, p);
            unknown++;
        }
        p += len + (end ? 1 : 0);
    }
    return unknown;
}

static void report_case(unsigned num, const struct ktest *t)
{
    if (t->skipped) {
        printk_raw("    ok %u %s # SKIP %s\n", num, t->name, t->skip_reason ? t->skip_reason : "");
        total_skip++;
    } else if (t->failed) {
        printk_raw("    not ok %u %s\n", num, t->name);
        total_fail++;
    } else {
        printk_raw("    ok %u %s\n", num, t->name);
        total_pass++;
    }
}

/* Returns true if the suite passed. */
static bool run_suite(unsigned num, const struct ktest_suite *s)
{
    unsigned ncases = 0;
    while (s->cases[ncases].fn)
        ncases++;

    printk_raw("    KTAP version 1\n");
    printk_raw("    # Subtest: %s\n", s->name);
    printk_raw("    1..%u\n", ncases + 1);
    if (s->setup)
        s->setup();

    uint64_t start_ns = ktime_ns();
    /* Start clean: cached free stacks hold frames, and CPUs in lazy TLB mode
     * hold references to exited processes' address spaces. */
    lazy_mm_drop_borrowers(NULL);
    kstack_cache_drain();
    pt_free_drain();    /* frees waiting for a grace period (pt_free=rcu) are done */
    size_t frames_before = page_free_frames();
    size_t heap_before = kmalloc_bytes_in_use();
    bool suite_failed = false;

    for (unsigned i = 0; i < ncases; i++) {
        struct ktest t = { .name = s->cases[i].name };
        current_test = &t;
        uint64_t case_ns = ktime_ns();
        s->cases[i].fn(&t);
        case_ns = ktime_ns() - case_ns;
        if (case_ns >= 500000000)       /* slow cases, for whoever tunes the suite */
            printk_raw("        # %s: %lu ms\n", t.name, (unsigned long)(case_ns / 1000000));
        current_test = NULL;
        report_case(i + 1, &t);
        suite_failed |= t.failed;
    }

    struct ktest leak = { .name = "leak_check" };
    lazy_mm_drop_borrowers(NULL);
    kstack_cache_drain();
    pt_free_drain();
    size_t frames_after = page_free_frames();
    size_t heap_after = kmalloc_bytes_in_use();
    if (frames_after != frames_before)
        ktest_fail_at(&leak, __FILE__, __LINE__, "free frames %zu before the suite, %zu after",
                      frames_before, frames_after);
    if (heap_after != heap_before)
        ktest_fail_at(&leak, __FILE__, __LINE__, "kmalloc bytes in use %zu before the suite, %zu after",
                      heap_before, heap_after);
    report_case(ncases + 1, &leak);
    suite_failed |= leak.failed;

    if (s->teardown)
        s->teardown();
    /* Information only: tests never judge elapsed time. */
    printk_raw("    # %s: %lu ms\n", s->name, (unsigned long)((ktime_ns() - start_ns) / 1000000));
    printk_raw("%s %u %s\n", suite_failed ? "not ok" : "ok", num, s->name);
    return !suite_failed;
}

int ktest_run(const char *selection)
{
    unsigned nsuites = 0;
    for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++)
        if (selected(selection, s))
            nsuites++;

    printk_raw("KTAP version 1\n");
    int unknown = count_unknown(selection);
    printk_raw("1..%u\n", nsuites);
    unsigned num = 0;
    for (const struct ktest_suite *s = __ktest_start; s < __ktest_end; s++)
        if (selected(selection, s))
            run_suite(++num, s);
    total_fail += (unsigned)unknown;
    printk_raw("# shootdown: %u passed, %u failed, %u skipped\n", total_pass, total_fail, total_skip);
    return (int)total_fail;
}

/* The body of the "ktest" kernel thread: the selected suites, then the end
 * of the machine with the result. */
static void ktest_thread(void *arg)
{
    (void)arg;
    int failed = ktest_run(ktest_selection);
    tlb_trace_dump_if_asked();     /* tlbtrace=dump: counters and trace */
    race_window_report();       /* tlb_race_delay=N: how often each window paused */
    arch_machine_exit(failed ? EXIT_TESTS_FAILED : EXIT_TESTS_PASSED);
}

bool ktest_start(void)
{
    if (!ktest_selection[0])
        return false;
    struct task *t = kthread_create(ktest_thread, NULL, "ktest");
    BUG_ON(!t);
    kthread_bind(t, 0);         /* suites count CPU 0's ticks and start work from CPU 0 */
    kthread_start(t);
    return true;
}
