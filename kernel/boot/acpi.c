/*
 * kernel/boot/acpi.c - from the RSDP to the MADT (see kernel/acpi.h).
 *
 * The chain (ACPI 6.5, chapter 5.2):
 *   RSDP  "RSD PTR " signature, checksum over its first 20 bytes; revision 2
 *         adds a length, the 64-bit XSDT address and an extended checksum
 *         over the whole structure.  GRUB hands us a copy (boot_info.rsdp).
 *   XSDT  (or the RSDT when there is no XSDT): a table header followed by
 *         64-bit (XSDT) or 32-bit (RSDT) physical addresses of other tables.
 *   MADT  signature "APIC": the local APIC address and flags, then a list of
 *         variable-length entries (type, length, ...).
 * Every table's bytes, header included, must sum to 0 modulo 256.
 *
 * Tables are read through the direct map.  Firmware puts them below 4 GiB in
 * practice; anything above is refused (with the reason logged) rather than
 * read through a mapping that may not exist yet.  Nothing here writes to the
 * tables, and nothing is kept pointing into them after acpi_init().
 */
#include <kernel/acpi.h>
#include <kernel/bootinfo.h>
#include <kernel/printk.h>
#include <arch/memlayout.h>
#include <lib/string.h>

struct acpi_madt_info acpi_madt;

#define ACPI_MAP_LIMIT  (4ull << 30)    /* what the early direct map covers */
#define ACPI_TABLE_MAX  (1u << 20)      /* a sanity bound on a table's length */

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __packed;
STATIC_ASSERT(sizeof(struct acpi_header) == 36, "ACPI table header is 36 bytes");

/* MADT entry types used here (ACPI 6.5, table 5.21). */
enum {
    MADT_LOCAL_APIC = 0,
    MADT_IO_APIC = 1,
    MADT_INT_OVERRIDE = 2,
    MADT_LOCAL_X2APIC = 9,
};
#define MADT_CPU_ENABLED        (1u << 0)
#define MADT_CPU_ONLINE_CAPABLE (1u << 1)
#define MADT_PCAT_COMPAT        (1u << 0)

uint8_t acpi_checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    while (len--)
        sum += *b++;
    return sum;
}

/* Unaligned little-endian reads: MADT entries and XSDT slots are packed. */
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

int acpi_check_rsdp(const uint8_t *rsdp, unsigned version, uint64_t *root_pa,
                    bool *root_is_xsdt, const char **why)
{
    if (version == 0) {
        *why = "the boot loader passed no ACPI RSDP";
        return -1;
    }
    if (memcmp(rsdp, "RSD PTR ", 8) != 0) {
        *why = "the RSDP has a bad signature";
        return -1;
    }
    if (acpi_checksum(rsdp, 20) != 0) {
        *why = "the RSDP checksum (first 20 bytes) is wrong";
        return -1;
    }
    /* Byte 15 is the revision: 0 for ACPI 1.0, 2 for 2.0 and later. */
    if (version >= 2 && rsdp[15] >= 2) {
        uint32_t len = rd32(rsdp + 20);
        if (len < 36) {
            *why = "the ACPI 2.0 RSDP has a length below 36";
            return -1;
        }
        /* GRUB copies 36 bytes; that is all of any RSDP seen in practice. */
        if (acpi_checksum(rsdp, 36) != 0) {
            *why = "the extended RSDP checksum is wrong";
            return -1;
        }
        uint64_t xsdt = rd64(rsdp + 24);
        if (xsdt) {
            *root_pa = xsdt;
            *root_is_xsdt = true;
            return 0;
        }
        /* An XSDT address of 0: fall back to the RSDT below. */
    }
    *root_pa = rd32(rsdp + 16);
    *root_is_xsdt = false;
    if (!*root_pa) {
        *why = "the RSDP points at no RSDT";
        return -1;
    }
    return 0;
}

/* Map the table at `pa` and check its header, length and checksum.  `sig` is
 * the expected signature or NULL (any).  Returns NULL with *why set. */
static const struct acpi_header *map_table(uint64_t pa, const char *sig, const char **why)
{
    if (pa >= ACPI_MAP_LIMIT - sizeof(struct acpi_header)) {
        *why = "an ACPI table lies above 4 GiB";
        return NULL;
    }
    const struct acpi_header *h = phys_to_virt(pa);
    if (sig && memcmp(h->signature, sig, 4) != 0) {
        *why = "an ACPI table has an unexpected signature";
        return NULL;
    }
    if (h->length < sizeof(*h) || h->length > ACPI_TABLE_MAX || pa + h->length > ACPI_MAP_LIMIT) {
        *why = "an ACPI table has an impossible length";
        return NULL;
    }
    if (acpi_checksum(h, h->length) != 0) {
        *why = "an ACPI table checksum is wrong";
        return NULL;
    }
    return h;
}

static void add_cpu(struct acpi_madt_info *out, uint32_t apic_id, uint32_t flags)
{
    if (!(flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE))) {
        out->cpus_disabled++;
        return;
    }
    /* Some firmware lists a CPU both as type 0 and type 9. */
    for (unsigned i = 0; i < out->nr_cpus; i++)
        if (out->cpu_apic_ids[i] == apic_id)
            return;
    if (out->nr_cpus == MAX_CPUS) {
        out->cpus_ignored++;
        return;
    }
    out->cpu_apic_ids[out->nr_cpus++] = apic_id;
}

int acpi_parse_madt(const void *madt, struct acpi_madt_info *out, const char **why)
{
    const struct acpi_header *h = madt;
    const uint8_t *base = madt;

    memset(out, 0, sizeof(*out));
    if (h->length < sizeof(*h) + 8) {
        *why = "the MADT is too short for its fixed fields";
        return -1;
    }
    out->lapic_address = rd32(base + 36);
    out->pcat_compat = rd32(base + 40) & MADT_PCAT_COMPAT;

    const uint8_t *p = base + sizeof(*h) + 8;
    const uint8_t *end = base + h->length;
    while (p < end) {
        if (end - p < 2 || p[1] > end - p) {
            *why = "an MADT entry runs past the end of the table";
            return -1;
        }
        if (p[1] < 2) {
            *why = "an MADT entry has a length below 2";
            return -1;
        }
        uint8_t type = p[0], len = p[1];
        switch (type) {
        case MADT_LOCAL_APIC:           /* uid u8, apic id u8, flags u32 */
            if (len < 8)
                goto short_entry;
            add_cpu(out, p[3], rd32(p + 4));
            break;
        case MADT_LOCAL_X2APIC:         /* reserved u16, x2apic id u32, flags u32, uid u32 */
            if (len < 16)
                goto short_entry;
            add_cpu(out, rd32(p + 4), rd32(p + 8));
            break;
        case MADT_IO_APIC:              /* id u8, reserved u8, address u32, gsi base u32 */
            if (len < 12)
                goto short_entry;
            if (out->nr_ioapics < ACPI_MAX_IOAPICS)
                out->ioapics[out->nr_ioapics++] = (struct acpi_ioapic){
                    .id = p[2], .address = rd32(p + 4), .gsi_base = rd32(p + 8) };
            break;
        case MADT_INT_OVERRIDE:         /* bus u8, source u8, gsi u32, flags u16 */
            if (len < 10)
                goto short_entry;
            if (out->nr_overrides < ACPI_MAX_OVERRIDES)
                out->overrides[out->nr_overrides++] = (struct acpi_override){
                    .bus = p[2], .source = p[3], .gsi = rd32(p + 4), .flags = rd16(p + 8) };
            break;
        default:
            break;                      /* other types do not concern us */
        }
        p += len;
    }
    if (out->nr_cpus == 0) {
        *why = "the MADT lists no usable processor";
        return -1;
    }
    out->valid = true;
    return 0;

short_entry:
    *why = "an MADT entry is shorter than its type requires";
    return -1;
}

/* Walk the XSDT/RSDT for the MADT. */
static const struct acpi_header *find_madt(const char **why)
{
    uint64_t root_pa;
    bool xsdt;
    if (acpi_check_rsdp(boot_info.rsdp, boot_info.rsdp_version, &root_pa, &xsdt, why))
        return NULL;
    const struct acpi_header *root = map_table(root_pa, xsdt ? "XSDT" : "RSDT", why);
    if (!root)
        return NULL;
    printk("acpi: RSDP v%u, %s at %#lx, OEM '%.6s'\n", boot_info.rsdp_version,
           xsdt ? "XSDT" : "RSDT", (unsigned long)root_pa, root->oem_id);

    unsigned slot = xsdt ? 8 : 4;
    unsigned n = (root->length - sizeof(*root)) / slot;
    const uint8_t *entries = (const uint8_t *)root + sizeof(*root);
    for (unsigned i = 0; i < n; i++) {
        uint64_t pa = xsdt ? rd64(entries + i * slot) : rd32(entries + i * slot);
        const char *table_why;
        const struct acpi_header *h = map_table(pa, NULL, &table_why);
        if (!h) {
            printk("acpi: skipping table %u at %#lx: %s\n", i, (unsigned long)pa, table_why);
            continue;
        }
        if (memcmp(h->signature, "APIC", 4) == 0)
            return h;
    }
    *why = "the XSDT/RSDT lists no valid MADT";
    return NULL;
}

void acpi_init(void)
{
    const char *why = NULL;
    const struct acpi_header *madt = find_madt(&why);
    if (madt && acpi_parse_madt(madt, &acpi_madt, &why) == 0) {
        struct acpi_madt_info *m = &acpi_madt;
        printk("acpi: MADT: local APIC at %#x%s, %u CPU(s)", m->lapic_address,
               m->pcat_compat ? ", legacy PICs present" : "", m->nr_cpus);
        if (m->cpus_disabled)
            printk(" (+%u disabled)", m->cpus_disabled);
        printk("\n");
        if (m->cpus_ignored)
            printk("warning: acpi: %u CPU(s) beyond MAX_CPUS=%d are ignored\n",
                   m->cpus_ignored, MAX_CPUS);
        for (unsigned i = 0; i < m->nr_cpus; i += 16) {
            printk("acpi:   APIC ids:");
            for (unsigned j = i; j < m->nr_cpus && j < i + 16; j++)
                printk(" %u", m->cpu_apic_ids[j]);
            printk("\n");
        }
        for (unsigned i = 0; i < m->nr_ioapics; i++)
            printk("acpi:   I/O APIC id %u at %#x, GSI base %u\n", m->ioapics[i].id,
                   m->ioapics[i].address, m->ioapics[i].gsi_base);
        for (unsigned i = 0; i < m->nr_overrides; i++)
            printk("acpi:   override: bus %u IRQ %u -> GSI %u, flags %#x\n",
                   m->overrides[i].bus, m->overrides[i].source, m->overrides[i].gsi,
                   m->overrides[i].flags);
        return;
    }
    memset(&acpi_madt, 0, sizeof(acpi_madt));
    acpi_madt.why = why;
    printk("warning: acpi: no usable MADT (%s); booting on one CPU\n", why);
}
