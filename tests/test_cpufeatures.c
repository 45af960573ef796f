/*
 * tests/test_cpufeatures.c - cpu_features agrees with a fresh CPUID, and
 * what cpu_features_enable_this_cpu() turned on is on in CR0/CR4/EFER.
 */
#include "ktest_suite.h"
#include <arch/x86/cpufeatures.h>
#include <arch/x86/x86.h>
#include <lib/string.h>

static bool bit(uint32_t reg, unsigned n)
{
    return (reg >> n) & 1;
}

static void test_cpuid_agrees(struct ktest *t)
{
    uint32_t a, b, c, d;
    cpuid_count(0, 0, &a, &b, &c, &d);
    EXPECT_EQ(t, cpu_features.max_leaf, a);

    cpuid_count(1, 0, &a, &b, &c, &d);
    EXPECT_EQ(t, cpu_features.pcid, bit(c, 17));
    EXPECT_EQ(t, cpu_features.x2apic, bit(c, 21));
    EXPECT_EQ(t, cpu_features.xsave, bit(c, 26));
    EXPECT_EQ(t, cpu_features.pge, bit(d, 13));
    EXPECT_EQ(t, cpu_features.apic, bit(d, 9));
    EXPECT_EQ(t, cpu_features.fxsr, bit(d, 24));

    bool smep = false, smap = false, invpcid = false;
    if (cpu_features.max_leaf >= 7) {
        cpuid_count(7, 0, &a, &b, &c, &d);
        smep = bit(b, 7);
        invpcid = bit(b, 10);
        smap = bit(b, 20);
    }
    EXPECT_EQ(t, cpu_features.smep, smep);
    EXPECT_EQ(t, cpu_features.smap, smap);
    EXPECT_EQ(t, cpu_features.invpcid, invpcid);

    cpuid_count(0x80000000, 0, &a, &b, &c, &d);
    EXPECT_EQ(t, cpu_features.max_ext_leaf, a);
    bool nx = false, page1g = false, inv_tsc = false;
    if (a >= 0x80000001) {
        cpuid_count(0x80000001, 0, &a, &b, &c, &d);
        nx = bit(d, 20);
        page1g = bit(d, 26);
    }
    if (cpu_features.max_ext_leaf >= 0x80000007) {
        cpuid_count(0x80000007, 0, &a, &b, &c, &d);
        inv_tsc = bit(d, 8);
    }
    EXPECT_EQ(t, cpu_features.nx, nx);
    EXPECT_EQ(t, cpu_features.page1g, page1g);
    EXPECT_EQ(t, cpu_features.invariant_tsc, inv_tsc);
    /* Every x86-64 CPU has these; the kernel relies on them. */
    EXPECT_TRUE(t, cpu_features.apic);
    EXPECT_TRUE(t, cpu_features.fxsr);
}

static void test_enabled_in_registers(struct ktest *t)
{
    uint64_t cr0 = read_cr0(), cr4 = read_cr4(), efer = rdmsr(MSR_EFER);
    EXPECT_TRUE(t, cr0 & CR0_WP);
    EXPECT_EQ(t, !!(efer & EFER_NXE), cpu_features.nx);
    EXPECT_EQ(t, !!(cr4 & CR4_PGE), cpu_features.pge);
    EXPECT_EQ(t, !!(cr4 & CR4_SMEP), cpu_features.smep);
    EXPECT_EQ(t, !!(cr4 & CR4_SMAP), cpu_features.smap);
    EXPECT_EQ(t, smap_enabled, cpu_features.smap);
    /* Outside a user-memory copy the kernel runs with RFLAGS.AC clear, so
     * SMAP (where present) really checks every access. */
    EXPECT_FALSE(t, read_rflags() & RFLAGS_AC);
}

static void test_vendor_string(struct ktest *t)
{
    uint32_t a, b, c, d;
    char v[13];
    cpuid_count(0, 0, &a, &b, &c, &d);
    memcpy(v + 0, &b, 4);
    memcpy(v + 4, &d, 4);
    memcpy(v + 8, &c, 4);
    v[12] = '\0';
    EXPECT_STREQ(t, cpu_features.vendor, v);
}

static const struct ktest_case cpufeature_cases[] = {
    KTEST_CASE(test_cpuid_agrees),
    KTEST_CASE(test_enabled_in_registers),
    KTEST_CASE(test_vendor_string),
    {0},
};
KTEST_SUITE(cpufeatures, cpufeature_cases);
