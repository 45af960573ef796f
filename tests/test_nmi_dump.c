/*
 * tests/test_nmi_dump.c - a silent machine's post-mortem (docs/debugging.md,
 * "A machine that went silent"): an NMI that no handler claims makes every
 * CPU print its registers and backtrace, not only the one that got it (QEMU's
 * monitor NMI reaches the boot CPU alone).
 *
 * Run only by name (test=nmi_dump, the runner's nmi-dump row): the dump
 * switches printk to its panic mode for good, which the suites after it
 * should not run under.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <arch/cpu.h>
#include <arch/nmi.h>
#include <kernel/percpu.h>

static void test_every_cpu_reports(struct ktest *t)
{
    uint64_t before = nmi_dumps_printed();
    uint64_t flags = arch_irq_save();
    /* The NMI gate, as a real NMI enters it; no handler claims it. */
    __asm__ volatile("int $2" ::: "memory");
    arch_irq_restore(flags);
    EXPECT_TRUE(t, SPIN_UNTIL(nmi_dumps_printed() - before >= nr_cpus_online));
    EXPECT_EQ(t, nmi_dumps_printed() - before, (uint64_t)nr_cpus_online);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_every_cpu_reports),
    {0},
};
KTEST_SUITE(nmi_dump, cases, .only_by_name = true);
