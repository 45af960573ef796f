/*
 * kernel/boot/multiboot2.c - parse the multiboot2 boot information (spec:
 * "Multiboot2 Specification version 2.0", section 3.6).
 *
 * Layout: u32 total_size, u32 reserved, then tags.  Each tag is u32 type,
 * u32 size (including the 8-byte header), payload; tags start 8-byte
 * aligned; a tag of type 0 and size 8 ends the list.  We check every size
 * against what remains before reading, so a malformed structure gives an
 * error, never a read out of bounds.
 */
#include <kernel/bootinfo.h>
#include <kernel/multiboot2.h>
#include <lib/string.h>

struct boot_info boot_info;

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Copy a string payload that must be NUL-terminated inside the tag.
 * Returns -1 if it is not; otherwise its length, which the caller compares
 * with dstsz when truncation matters (strlcpy semantics). */
static long copy_string(char *dst, size_t dstsz, const uint8_t *src, size_t len)
{
    size_t n = strnlen((const char *)src, len);
    if (n == len)
        return -1;
    strlcpy(dst, (const char *)src, dstsz);
    return (long)n;
}

int multiboot2_parse(const void *info, size_t avail, struct boot_info *out, const char **err)
{
    const uint8_t *base = info;
    memset(out, 0, sizeof(*out));

    if (!info) {
        *err = "no boot information (null pointer)";
        return -1;
    }
    if ((uintptr_t)info & 7) {
        *err = "boot information not 8-byte aligned";
        return -1;
    }
    if (avail < 16) {
        *err = "boot information shorter than its header and end tag";
        return -1;
    }
    uint32_t total = rd32(base);
    if (total < 16 || total > avail) {
        *err = "boot information total_size out of range";
        return -1;
    }
    out->info_start = 0;
    out->info_end = total;

    size_t off = 8;
    bool ended = false;
    while (off + 8 <= total) {
        const uint8_t *tag = base + off;
        uint32_t type = rd32(tag), size = rd32(tag + 4);
        if (size < 8) {
            *err = "tag smaller than its own 8-byte header";
            return -1;
        }
        if (size > total - off) {
            *err = "tag size runs past the end of the boot information";
            return -1;
        }
        const uint8_t *p = tag + 8;
        size_t len = size - 8;
        switch (type) {
        case MB2_TAG_END:
            if (size != 8) {
                *err = "end tag has the wrong size";
                return -1;
            }
            ended = true;
            break;
        case MB2_TAG_CMDLINE: {
            long n = copy_string(out->cmdline, sizeof(out->cmdline), p, len);
            if (n < 0) {
                *err = "command line tag is not NUL-terminated";
                return -1;
            }
            /* A cut command line could drop or change options silently. */
            if ((size_t)n >= sizeof(out->cmdline)) {
                *err = "command line longer than BOOT_CMDLINE_MAX - 1 characters";
                return -1;
            }
            break;
        }
        case MB2_TAG_LOADER_NAME:
            /* Names are for display only: a long one is cut. */
            if (copy_string(out->loader_name, sizeof(out->loader_name), p, len) < 0) {
                *err = "boot loader name tag is not NUL-terminated";
                return -1;
            }
            break;
        case MB2_TAG_MODULE: {
            if (len < 9) {
                *err = "module tag too short";
                return -1;
            }
            if (out->module_count == BOOT_MODULES_MAX) {
                *err = "too many modules";
                return -1;
            }
            struct boot_module *m = &out->modules[out->module_count];
            m->start = rd32(p);
            m->end = rd32(p + 4);
            if (m->end < m->start) {
                *err = "module ends before it starts";
                return -1;
            }
            /* The module's string, like the loader name, is only shown: cut to fit. */
            if (copy_string(m->cmdline, sizeof(m->cmdline), p + 8, len - 8) < 0) {
                *err = "module string is not NUL-terminated";
                return -1;
            }
            out->module_count++;
            break;
        }
        case MB2_TAG_MMAP: {
            if (len < 8) {
                *err = "memory map tag too short";
                return -1;
            }
            uint32_t esize = rd32(p), ever = rd32(p + 4);
            (void)ever;
            if (esize < 24 || esize % 8) {
                *err = "memory map entry size invalid";
                return -1;
            }
            if ((len - 8) % esize) {
                *err = "memory map tag is not a whole number of entries";
                return -1;
            }
            for (size_t e = 8; e + esize <= len; e += esize) {
                if (out->mmap_count == BOOT_MMAP_MAX) {
                    *err = "memory map has too many entries";
                    return -1;
                }
                struct boot_mmap_entry *me = &out->mmap[out->mmap_count++];
                me->base = rd64(p + e);
                me->length = rd64(p + e + 8);
                me->type = rd32(p + e + 16);
            }
            break;
        }
        case MB2_TAG_ACPI_OLD:
            if (len < 20) {
                *err = "ACPI 1.0 RSDP tag too short";
                return -1;
            }
            if (out->rsdp_version < 2) {   /* a v2 RSDP wins over v1 */
                memcpy(out->rsdp, p, 20);
                out->rsdp_version = 1;
            }
            break;
        case MB2_TAG_ACPI_NEW:
            if (len < 36) {
                *err = "ACPI 2.0 RSDP tag too short";
                return -1;
            }
            memcpy(out->rsdp, p, 36);
            out->rsdp_version = 2;
            break;
        case MB2_TAG_BASIC_MEMINFO:
        case MB2_TAG_BOOTDEV:
        case 7 ... 13:      /* VBE, framebuffer, ELF sections, APM, EFI tables, SMBIOS */
        case 16 ... 21:     /* network, EFI memory map and handles, load base */
            break;          /* known, not needed */
        default:
            out->unknown_tags++;
            break;
        }
        if (ended)
            break;
        off += ALIGN_UP((size_t)size, 8);
    }
    if (!ended) {
        *err = "no end tag";
        return -1;
    }
    if (out->mmap_count == 0) {
        *err = "no memory map tag";
        return -1;
    }
    return 0;
}
