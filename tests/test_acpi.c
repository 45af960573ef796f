/*
 * tests/test_acpi.c - RSDP checks and MADT parsing on tables built in
 * memory, plus what the boot found on this machine.
 */
#include "ktest_suite.h"
#include <kernel/acpi.h>
#include <lib/string.h>

static uint8_t rsdp[36];
static uint8_t table[512];
static struct acpi_madt_info info;

static void fix_checksum(uint8_t *p, size_t len, size_t at)
{
    p[at] = 0;
    p[at] = (uint8_t)(0x100 - acpi_checksum(p, len));
}

/* An RSDP of the given revision pointing at RSDT 0x1000 / XSDT 0x2000. */
static void make_rsdp(unsigned revision)
{
    memset(rsdp, 0, sizeof(rsdp));
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "SHOOT ", 6);
    rsdp[15] = (uint8_t)revision;
    uint32_t rsdt = 0x1000, len = 36;
    uint64_t xsdt = 0x2000;
    memcpy(rsdp + 16, &rsdt, 4);
    if (revision >= 2) {
        memcpy(rsdp + 20, &len, 4);
        memcpy(rsdp + 24, &xsdt, 8);
    }
    /* The first 20 bytes first: the extended checksum covers that one. */
    fix_checksum(rsdp, 20, 8);
    if (revision >= 2)
        fix_checksum(rsdp, 36, 32);
}

static void test_checksum(struct ktest *t)
{
    uint8_t b[4] = { 1, 2, 3, 250 };
    EXPECT_EQ(t, acpi_checksum(b, 4), 0);
    EXPECT_EQ(t, acpi_checksum(b, 3), 6);
}

static void test_rsdp(struct ktest *t)
{
    uint64_t root = 0;
    bool xsdt = false;
    const char *why = NULL;

    make_rsdp(0);
    EXPECT_EQ(t, acpi_check_rsdp(rsdp, 1, &root, &xsdt, &why), 0);
    EXPECT_EQ(t, root, 0x1000u);
    EXPECT_FALSE(t, xsdt);

    make_rsdp(2);
    EXPECT_EQ(t, acpi_check_rsdp(rsdp, 2, &root, &xsdt, &why), 0);
    EXPECT_EQ(t, root, 0x2000u);
    EXPECT_TRUE(t, xsdt);

    EXPECT_EQ(t, acpi_check_rsdp(rsdp, 0, &root, &xsdt, &why), -1);   /* none passed */
    ktest_log("no RSDP: %s", why);

    make_rsdp(2);
    rsdp[30] ^= 1;                  /* breaks only the extended checksum */
    EXPECT_EQ(t, acpi_check_rsdp(rsdp, 2, &root, &xsdt, &why), -1);
    ktest_log("bad extended checksum: %s", why);

    make_rsdp(0);
    rsdp[16] ^= 1;                  /* breaks the v1 checksum */
    EXPECT_EQ(t, acpi_check_rsdp(rsdp, 1, &root, &xsdt, &why), -1);

    make_rsdp(0);
    rsdp[0] = 'X';
    fix_checksum(rsdp, 20, 8);
    EXPECT_EQ(t, acpi_check_rsdp(rsdp, 1, &root, &xsdt, &why), -1);
    ktest_log("bad signature: %s", why);
}

/* MADT builder: header (36) + local APIC address + flags, then entries. */
static size_t madt_len;
static void madt_begin(void)
{
    memset(table, 0, sizeof(table));
    memcpy(table, "APIC", 4);
    uint32_t lapic = 0xfee00000, flags = 1;
    memcpy(table + 36, &lapic, 4);
    memcpy(table + 40, &flags, 4);
    madt_len = 44;
    uint32_t l = (uint32_t)madt_len;
    memcpy(table + 4, &l, 4);
}
static void madt_entry(const uint8_t *e, size_t len)
{
    memcpy(table + madt_len, e, len);
    madt_len += len;
    uint32_t l = (uint32_t)madt_len;
    memcpy(table + 4, &l, 4);
}
static void madt_lapic(uint8_t apic_id, uint32_t flags)
{
    uint8_t e[8] = { 0, 8, apic_id /* uid */, apic_id };
    memcpy(e + 4, &flags, 4);
    madt_entry(e, 8);
}
static void madt_x2apic(uint32_t apic_id, uint32_t flags)
{
    uint8_t e[16] = { 9, 16 };
    memcpy(e + 4, &apic_id, 4);
    memcpy(e + 8, &flags, 4);
    madt_entry(e, 16);
}

static void test_madt_entries(struct ktest *t)
{
    const char *why = NULL;
    madt_begin();
    madt_lapic(0, 1);               /* enabled */
    madt_lapic(1, 0);               /* neither enabled nor online-capable */
    madt_lapic(2, 2);               /* online-capable */
    madt_x2apic(2, 1);              /* the same CPU again, as x2APIC */
    madt_x2apic(300, 1);            /* an id only x2APIC can name */
    uint8_t ioapic[12] = { 1, 12, 7, 0 };
    uint32_t addr = 0xfec00000, gsi = 24;
    memcpy(ioapic + 4, &addr, 4);
    memcpy(ioapic + 8, &gsi, 4);
    madt_entry(ioapic, 12);
    uint8_t ovr[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0x0d, 0 };
    madt_entry(ovr, 10);
    uint8_t unknown[6] = { 0x7f, 6 };   /* skipped */
    madt_entry(unknown, 6);

    ASSERT_EQ(t, acpi_parse_madt(table, &info, &why), 0);
    EXPECT_TRUE(t, info.valid);
    EXPECT_EQ(t, info.lapic_address, 0xfee00000u);
    EXPECT_TRUE(t, info.pcat_compat);
    ASSERT_EQ(t, info.nr_cpus, 3u);
    EXPECT_EQ(t, info.cpu_apic_ids[0], 0u);
    EXPECT_EQ(t, info.cpu_apic_ids[1], 2u);
    EXPECT_EQ(t, info.cpu_apic_ids[2], 300u);
    EXPECT_EQ(t, info.cpus_disabled, 1u);
    ASSERT_EQ(t, info.nr_ioapics, 1u);
    EXPECT_EQ(t, info.ioapics[0].id, 7);
    EXPECT_EQ(t, info.ioapics[0].address, 0xfec00000u);
    EXPECT_EQ(t, info.ioapics[0].gsi_base, 24u);
    ASSERT_EQ(t, info.nr_overrides, 1u);
    EXPECT_EQ(t, info.overrides[0].source, 0);
    EXPECT_EQ(t, info.overrides[0].gsi, 2u);
    EXPECT_EQ(t, info.overrides[0].flags, 0x0d);
}

static void test_madt_malformed(struct ktest *t)
{
    const char *why = NULL;

    madt_begin();                   /* no processors at all */
    EXPECT_EQ(t, acpi_parse_madt(table, &info, &why), -1);
    EXPECT_FALSE(t, info.valid);
    ktest_log("no CPUs: %s", why);

    madt_begin();
    madt_lapic(0, 1);
    uint8_t zero_len[2] = { 0, 0 };  /* would loop forever if accepted */
    madt_entry(zero_len, 2);
    EXPECT_EQ(t, acpi_parse_madt(table, &info, &why), -1);
    ktest_log("zero-length entry: %s", why);

    madt_begin();
    madt_lapic(0, 1);
    uint8_t past_end[4] = { 0, 8, 1, 1 };  /* says 8 bytes, table ends after 4 */
    madt_entry(past_end, 4);
    EXPECT_EQ(t, acpi_parse_madt(table, &info, &why), -1);
    ktest_log("entry past the end: %s", why);

    madt_begin();
    uint8_t short_lapic[6] = { 0, 6, 0, 0, 1, 0 };  /* type 0 needs 8 bytes */
    madt_entry(short_lapic, 6);
    EXPECT_EQ(t, acpi_parse_madt(table, &info, &why), -1);
    ktest_log("short entry: %s", why);
}

static void test_this_machine(struct ktest *t)
{
    if (!acpi_madt.valid) {
        ktest_log("this machine: no usable MADT (%s)", acpi_madt.why);
        EXPECT_TRUE(t, acpi_madt.why != NULL);
        return;
    }
    EXPECT_GE(t, acpi_madt.nr_cpus, 1u);
    EXPECT_NE(t, acpi_madt.lapic_address, 0u);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_checksum),
    KTEST_CASE(test_rsdp),
    KTEST_CASE(test_madt_entries),
    KTEST_CASE(test_madt_malformed),
    KTEST_CASE(test_this_machine),
    {0},
};
KTEST_SUITE(acpi, cases);
