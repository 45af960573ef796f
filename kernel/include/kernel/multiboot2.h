/*
 * kernel/multiboot2.h - the tag types of the multiboot2 boot information
 * ("Multiboot2 Specification version 2.0", section 3.6), written once for
 * the parser (kernel/boot/multiboot2.c) and the tests that build structures
 * for it (tests/mb2_build.h, in the kernel and on the host).
 *
 * The types the kernel names; the parser passes over the others by number.
 */
#pragma once

enum mb2_tag_type {
    MB2_TAG_END = 0,            /* size 8: ends the list */
    MB2_TAG_CMDLINE = 1,
    MB2_TAG_LOADER_NAME = 2,
    MB2_TAG_MODULE = 3,
    MB2_TAG_BASIC_MEMINFO = 4,
    MB2_TAG_BOOTDEV = 5,
    MB2_TAG_MMAP = 6,
    MB2_TAG_ACPI_OLD = 14,      /* a copy of the ACPI 1.0 RSDP */
    MB2_TAG_ACPI_NEW = 15,      /* a copy of the ACPI 2.0+ RSDP */
};
