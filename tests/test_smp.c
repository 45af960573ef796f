/*
 * tests/test_smp.c - the CPUs that came online: as many as ACPI lists and
 * as the machine has (expect_cpus=), with dense ids and the right APIC ids.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/acpi.h>
#include <kernel/percpu.h>
#include <arch/x86/apic.h>
#include <arch/smp.h>

static void test_online_equals_acpi(struct ktest *t)
{
    if (!acpi_madt.valid) {
        ktest_log("no usable MADT (%s): only the boot CPU", acpi_madt.why);
        EXPECT_EQ(t, nr_cpus_online, 1u);
        return;
    }
    EXPECT_EQ(t, nr_cpus_online, acpi_madt.nr_cpus);
}

static void test_online_equals_expect_cpus(struct ktest *t)
{
    unsigned expected = smp_expected_cpus();
    if (!expected)
        KTEST_SKIP(t, "expect_cpus= not given on the command line");
    EXPECT_EQ(t, nr_cpus_online, expected);
}

static void test_ids_are_dense(struct ktest *t)
{
    EXPECT_EQ(t, cpumask_weight(&cpu_online_mask), nr_cpus_online);
    for (unsigned cpu = 0; cpu < nr_cpus_online; cpu++)
        EXPECT_TRUE(t, cpumask_test_cpu(&cpu_online_mask, cpu));
    EXPECT_EQ(t, this_cpu_id(), 0u);
}

static unsigned seen_cpu[MAX_CPUS];
static uint32_t seen_apic[MAX_CPUS];

static void record_identity(void *arg)
{
    unsigned target = (unsigned)(uintptr_t)arg;
    seen_cpu[target] = this_cpu_id();
    seen_apic[target] = lapic_id();
}

/* Each CPU, asked through a call, names itself correctly: its per-CPU id
 * and its APIC id agree with the boot-time mapping. */
static void test_each_cpu_knows_itself(struct ktest *t)
{
    unsigned cpu;
    for_each_online_cpu(cpu) {
        seen_cpu[cpu] = ~0u;
        ASSERT_EQ(t, smp_call_cpu(cpu, record_identity, (void *)(uintptr_t)cpu, true), 0);
        EXPECT_EQ(t, seen_cpu[cpu], cpu);
        EXPECT_EQ(t, seen_apic[cpu], arch_cpu_hwid(cpu));
    }
    /* APIC ids are distinct. */
    for_each_online_cpu(cpu) {
        unsigned other;
        for_each_online_cpu(other)
            if (other > cpu)
                EXPECT_NE(t, seen_apic[cpu], seen_apic[other]);
    }
}

static void test_apic_mode_reported(struct ktest *t)
{
    ktest_log("local APIC in %s mode", lapic_x2apic_mode() ? "x2APIC" : "xAPIC");
    EXPECT_TRUE(t, arch_irqs_enabled());
}

static const struct ktest_case smp_cases[] = {
    KTEST_CASE(test_online_equals_acpi),
    KTEST_CASE(test_online_equals_expect_cpus),
    KTEST_CASE(test_ids_are_dense),
    KTEST_CASE(test_each_cpu_knows_itself),
    KTEST_CASE(test_apic_mode_reported),
    {0},
};
KTEST_SUITE(smp, smp_cases);
