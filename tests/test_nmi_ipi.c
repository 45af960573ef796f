/*
 * tests/test_nmi_ipi.c - an NMI IPI reaches every CPU.
 *
 * nmi_pending[c] says how many test NMIs CPU c should expect; the handler
 * claims an NMI only when its CPU has one pending, so NMIs meant for others
 * (panic's) are left alone.  Sender: increment nmi_pending[c], then send;
 * handler: decrement it and count in nmi_seen[c].  The increment is ordered
 * before the IPI by the APIC code (see arch/x86_64/apic/lapic.c).
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <arch/smp.h>
#include <arch/nmi.h>
#include <kernel/percpu.h>
#include <stdatomic.h>

static _Atomic unsigned nmi_pending[MAX_CPUS];
static _Atomic unsigned nmi_seen[MAX_CPUS];
static bool registered;

static bool test_nmi_handler(struct trap_frame *tf)
{
    (void)tf;
    unsigned me = this_cpu_id();
    unsigned p = atomic_load(&nmi_pending[me]);
    /* Only this CPU decrements its own count, so no CAS loop is needed. */
    if (p == 0)
        return false;
    atomic_fetch_sub(&nmi_pending[me], 1);
    atomic_fetch_add(&nmi_seen[me], 1);
    return true;
}

static void setup(void)
{
    if (!registered) {
        nmi_register(test_nmi_handler);
        registered = true;
    }
    for (unsigned i = 0; i < MAX_CPUS; i++) {
        atomic_store(&nmi_pending[i], 0);
        atomic_store(&nmi_seen[i], 0);
    }
}

/* One NMI to each CPU in turn, the boot CPU (an NMI to itself) included. */
static void test_nmi_to_each_cpu(struct ktest *t)
{
    unsigned cpu;
    setup();
    for_each_online_cpu(cpu) {
        atomic_fetch_add(&nmi_pending[cpu], 1);
        smp_send_nmi(cpu);
        bool ok = SPIN_UNTIL(atomic_load(&nmi_seen[cpu]) == 1);
        if (!ok)
            ktest_log("cpu%u never took its NMI", cpu);
        EXPECT_TRUE(t, ok);
    }
}

/* The broadcast panic uses: every CPU but the sender. */
static void test_nmi_all_but_self(struct ktest *t)
{
    unsigned cpu;
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs at least 2 CPUs");
    setup();
    for_each_online_cpu(cpu)
        if (cpu != 0)
            atomic_fetch_add(&nmi_pending[cpu], 1);
    arch_send_nmi_allbutself();
    for_each_online_cpu(cpu) {
        unsigned want = cpu == 0 ? 0 : 1;
        bool ok = SPIN_UNTIL(atomic_load(&nmi_seen[cpu]) == want);
        EXPECT_TRUE(t, ok);
        EXPECT_EQ(t, atomic_load(&nmi_seen[cpu]), want);
    }
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_nmi_to_each_cpu),
    KTEST_CASE(test_nmi_all_but_self),
    {0},
};
KTEST_SUITE(nmi_ipi, cases);
