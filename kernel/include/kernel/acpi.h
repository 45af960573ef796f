/*
 * kernel/acpi.h - what the kernel reads from the ACPI tables: the
 * processors, I/O APICs and interrupt overrides of the MADT.
 *
 * acpi_init() walks RSDP -> XSDT (ACPI 2.0+) or RSDT (1.0) -> MADT, checking
 * every checksum, and fills `acpi_madt`.  When no usable MADT is found,
 * acpi_madt.valid stays false and acpi_madt.why says what was wrong; the
 * kernel then boots on the boot CPU alone.
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/config.h>

#define ACPI_MAX_IOAPICS    16
#define ACPI_MAX_OVERRIDES  24

struct acpi_ioapic {
    uint8_t id;
    uint32_t address;       /* physical address of its registers */
    uint32_t gsi_base;      /* first global system interrupt it serves */
};

struct acpi_override {
    uint8_t bus;            /* 0 = ISA */
    uint8_t source;         /* ISA IRQ */
    uint32_t gsi;           /* the global system interrupt it is wired to */
    uint16_t flags;         /* polarity (bits 0-1), trigger mode (bits 2-3) */
};

struct acpi_madt_info {
    bool valid;
    const char *why;                    /* when !valid: the reason */
    uint32_t lapic_address;             /* physical, from the MADT header */
    bool pcat_compat;                   /* a legacy 8259 pair is present */
    /* Usable processors (enabled or online-capable), in MADT order,
     * duplicates (the same APIC id as type 0 and type 9) dropped. */
    uint32_t cpu_apic_ids[MAX_CPUS];
    unsigned nr_cpus;
    unsigned cpus_ignored;              /* beyond MAX_CPUS */
    unsigned cpus_disabled;             /* listed but neither enabled nor online-capable */
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    unsigned nr_ioapics;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    unsigned nr_overrides;
};

extern struct acpi_madt_info acpi_madt;

/* Find and parse the MADT from boot_info.rsdp, print what it lists. */
void acpi_init(void);

/* The parsing steps, exposed for tests (tests/test_acpi.c builds tables in
 * memory).  Each returns 0 or -1 with *why set. */
int acpi_check_rsdp(const uint8_t *rsdp, unsigned version, uint64_t *root_pa,
                    bool *root_is_xsdt, const char **why);
int acpi_parse_madt(const void *madt, struct acpi_madt_info *out, const char **why);
/* Sum of `len` bytes modulo 256: 0 for a valid ACPI structure. */
uint8_t acpi_checksum(const void *p, size_t len);
