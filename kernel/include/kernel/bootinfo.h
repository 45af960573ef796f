/*
 * kernel/bootinfo.h - what the boot loader told us, parsed from the
 * multiboot2 information structure (kernel/boot/multiboot2.c).
 *
 * The parser copies what the kernel keeps (command line, loader name, memory
 * map, module list, a copy of the ACPI RSDP), so nothing later depends on the
 * loader's memory except module contents, which the page allocator keeps
 * reserved.
 */
#pragma once
#include <kernel/compiler.h>
#include <arch/memlayout.h>

#define BOOT_MMAP_MAX       128
#define BOOT_MODULES_MAX    48      /* the user programs are modules (tools/mkiso.sh) */
#define BOOT_CMDLINE_MAX    1024
#define BOOT_STRING_MAX     128

/* Memory map types (multiboot2 spec 3.6.8, the same as E820). */
#define MMAP_AVAILABLE      1
#define MMAP_RESERVED       2
#define MMAP_ACPI_RECLAIM   3
#define MMAP_ACPI_NVS       4
#define MMAP_BAD            5

struct boot_mmap_entry {
    uint64_t base;
    uint64_t length;
    uint32_t type;
};

struct boot_module {
    phys_addr_t start, end;             /* [start, end) */
    char cmdline[BOOT_STRING_MAX];
};

struct boot_info {
    char cmdline[BOOT_CMDLINE_MAX];
    char loader_name[BOOT_STRING_MAX];
    struct boot_mmap_entry mmap[BOOT_MMAP_MAX];
    unsigned mmap_count;
    struct boot_module modules[BOOT_MODULES_MAX];
    unsigned module_count;
    uint8_t rsdp[36];                   /* copy of the RSDP (20 bytes for v1) */
    unsigned rsdp_version;              /* 0: none, 1: ACPI 1.0, 2: ACPI 2.0+ */
    phys_addr_t info_start, info_end;   /* the multiboot2 structure itself */
    unsigned unknown_tags;              /* tags skipped as unknown */
};

extern struct boot_info boot_info;

/*
 * Parse the multiboot2 information at `info` (a kernel-visible pointer) of
 * at most `avail` bytes.  Returns 0 and fills *out, or returns -1 and sets
 * *err to a description of what is malformed.  Never reads past `avail`.
 */
int multiboot2_parse(const void *info, size_t avail, struct boot_info *out, const char **err);
