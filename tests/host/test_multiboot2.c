/*
 * tests/host/test_multiboot2.c - kernel/boot/multiboot2.c on well-formed and
 * malformed structures, then on thousands of randomly damaged ones.  Every
 * structure is parsed from an exactly-sized heap copy with `avail` equal to
 * that size, so AddressSanitizer catches any read past what the parser was
 * allowed to see.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "klib.h"
#include <kernel/bootinfo.h>
#include "../mb2_build.h"

static _Alignas(8) uint8_t space[8192];
static struct boot_info bi;

static const struct mb2_mmap_entry ram[] = {
    { 0, 0x9fc00, MMAP_AVAILABLE },
    { 0xf0000, 0x10000, MMAP_RESERVED },
    { 0x100000, 0x7ee0000, MMAP_AVAILABLE },
};

/* Parse `len` bytes of `src` from an exact heap copy. */
static int parse_copy(const void *src, size_t len, const char **err)
{
    void *copy = malloc(len ? len : 1);    /* malloc memory is 16-byte aligned */
    memcpy(copy, src, len);
    *err = NULL;
    int r = multiboot2_parse(copy, len, &bi, err);
    free(copy);
    return r;
}

/* The parser and the builder take the tag types from one enum
 * (kernel/multiboot2.h), so a wrong number there would parse its own
 * structures fine: pin each to the specification's (Multiboot2 3.6). */
static void test_tag_numbers(void)
{
    CHECK_EQ(MB2_TAG_END, 0);
    CHECK_EQ(MB2_TAG_CMDLINE, 1);
    CHECK_EQ(MB2_TAG_LOADER_NAME, 2);
    CHECK_EQ(MB2_TAG_MODULE, 3);
    CHECK_EQ(MB2_TAG_BASIC_MEMINFO, 4);
    CHECK_EQ(MB2_TAG_BOOTDEV, 5);
    CHECK_EQ(MB2_TAG_MMAP, 6);
    CHECK_EQ(MB2_TAG_ACPI_OLD, 14);
    CHECK_EQ(MB2_TAG_ACPI_NEW, 15);
}

/* A complete, well-formed structure in `space`; returns its size. */
static size_t build_good(struct mb2_builder *b)
{
    mb2_begin(b, space, sizeof(space));
    mb2_string(b, MB2_TAG_CMDLINE, "test=all console=ttyS0");
    mb2_string(b, MB2_TAG_LOADER_NAME, "GRUB 2.06");
    mb2_tag(b, MB2_TAG_BASIC_MEMINFO, 16);
    mb2_mmap(b, ram, 3, 24);
    mb2_module(b, 0x400000, 0x401000, "initrd");
    mb2_module(b, 0x500000, 0x500000, "");
    mb2_acpi(b, MB2_TAG_ACPI_OLD, 20, 0x10);
    mb2_tag(b, 8, 24);              /* framebuffer: known, skipped */
    mb2_tag(b, 99, 13);             /* unknown types are counted and skipped */
    mb2_tag(b, 0x7fffffff, 8);
    return mb2_finish(b);
}

static void test_good(void)
{
    struct mb2_builder b;
    size_t total = build_good(&b);
    const char *err;
    CHECK(total > 0);
    if (!check_at(parse_copy(space, total, &err) == 0, __FILE__, __LINE__, "good info: %s", err))
        return;
    CHECK_STR(bi.cmdline, "test=all console=ttyS0");
    CHECK_STR(bi.loader_name, "GRUB 2.06");
    CHECK_EQ(bi.mmap_count, 3);
    CHECK(bi.mmap[2].base == 0x100000 && bi.mmap[2].length == 0x7ee0000 && bi.mmap[2].type == MMAP_AVAILABLE);
    CHECK(bi.mmap[1].type == MMAP_RESERVED);
    CHECK_EQ(bi.module_count, 2);
    CHECK(bi.modules[0].start == 0x400000 && bi.modules[0].end == 0x401000);
    CHECK_STR(bi.modules[0].cmdline, "initrd");
    CHECK_STR(bi.modules[1].cmdline, "");
    CHECK_EQ(bi.rsdp_version, 1);
    CHECK(bi.rsdp[0] == 0x10 && bi.rsdp[19] == 0x10 + 19 && bi.rsdp[20] == 0);
    CHECK_EQ(bi.unknown_tags, 2);
    CHECK(bi.info_start == 0 && bi.info_end == total);

    /* More room than the structure needs is fine: total_size bounds it. */
    CHECK_EQ(parse_copy(space, total + 64, &err), 0);
    /* Anything shorter than total_size is refused, at every length. */
    unsigned bad = 0;
    for (size_t avail = 0; avail < total; avail++)
        bad += parse_copy(space, avail, &err) != -1 || !err;
    check_at(bad == 0, __FILE__, __LINE__, "%u short lengths accepted", bad);
}

static void test_good_variants(void)
{
    struct mb2_builder b;
    const char *err;

    /* ACPI: a 2.0 RSDP wins over a 1.0 one in either order. */
    for (int order = 0; order < 2; order++) {
        mb2_begin(&b, space, sizeof(space));
        mb2_mmap(&b, ram, 1, 24);
        mb2_acpi(&b, order ? MB2_TAG_ACPI_OLD : MB2_TAG_ACPI_NEW, order ? 20 : 36, order ? 0x10 : 0x40);
        mb2_acpi(&b, order ? MB2_TAG_ACPI_NEW : MB2_TAG_ACPI_OLD, order ? 36 : 20, order ? 0x40 : 0x10);
        size_t total = mb2_finish(&b);
        CHECK_EQ(parse_copy(space, total, &err), 0);
        CHECK(bi.rsdp_version == 2 && bi.rsdp[0] == 0x40 && bi.rsdp[35] == 0x40 + 35);
    }
    /* Memory map entries larger than 24 bytes (a later entry version). */
    mb2_begin(&b, space, sizeof(space));
    mb2_mmap(&b, ram, 3, 32);
    size_t total = mb2_finish(&b);
    CHECK_EQ(parse_copy(space, total, &err), 0);
    CHECK(bi.mmap_count == 3 && bi.mmap[2].base == 0x100000 && bi.mmap[1].type == MMAP_RESERVED);
    /* Minimal: just a memory map; no command line means an empty one. */
    mb2_begin(&b, space, sizeof(space));
    mb2_mmap(&b, ram, 1, 24);
    total = mb2_finish(&b);
    CHECK_EQ(parse_copy(space, total, &err), 0);
    CHECK(bi.cmdline[0] == 0 && bi.loader_name[0] == 0 && bi.module_count == 0 && bi.rsdp_version == 0);
    /* A long loader name is cut to fit; a command line of the maximum length fits. */
    char name[300], line[BOOT_CMDLINE_MAX];
    memset(name, 'g', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    memset(line, 'c', sizeof(line) - 1);
    line[sizeof(line) - 1] = 0;
    mb2_begin(&b, space, sizeof(space));
    mb2_string(&b, MB2_TAG_LOADER_NAME, name);
    mb2_string(&b, MB2_TAG_CMDLINE, line);
    mb2_mmap(&b, ram, 1, 24);
    total = mb2_finish(&b);
    CHECK_EQ(parse_copy(space, total, &err), 0);
    CHECK_EQ(strlen(bi.loader_name), BOOT_STRING_MAX - 1);
    CHECK_EQ(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
    /* Bytes after the end tag but inside total_size are ignored. */
    mb2_begin(&b, space, sizeof(space));
    mb2_mmap(&b, ram, 1, 24);
    total = mb2_finish(&b);
    mb2_put32(space, (uint32_t)total + 16);
    CHECK_EQ(parse_copy(space, total + 16, &err), 0);
    /* The parser starts by clearing its output. */
    memset(&bi, 0xff, sizeof(bi));
    CHECK_EQ(parse_copy(space, total + 16, &err), 0);
    CHECK(bi.module_count == 0 && bi.unknown_tags == 0);
}

/* Build with `make`, let `damage` edit it, and expect an error containing `want`. */
static void expect_error(int line, void (*make)(struct mb2_builder *), const char *want)
{
    struct mb2_builder b;
    mb2_begin(&b, space, sizeof(space));
    make(&b);
    size_t total = b.len;
    const char *err = NULL;
    int r = parse_copy(space, total, &err);
    check_at(r == -1 && err && strstr(err, want), __FILE__, line, "want error \"%s\", got %d \"%s\"", want, r,
             err ? err : "(none)");
}
#define EXPECT_ERROR(make, want) expect_error(__LINE__, make, want)

static void with_mmap(struct mb2_builder *b) { mb2_mmap(b, ram, 3, 24); }
static void m_too_big(struct mb2_builder *b) { with_mmap(b); mb2_finish(b); mb2_put32(b->buf, (uint32_t)b->len + 8); }
static void m_too_small(struct mb2_builder *b) { with_mmap(b); mb2_finish(b); mb2_put32(b->buf, 8); }
static void m_zero_total(struct mb2_builder *b) { with_mmap(b); mb2_finish(b); mb2_put32(b->buf, 0); }
static void m_tag_past_end(struct mb2_builder *b)
{
    uint8_t *t = mb2_string(b, MB2_TAG_CMDLINE, "abc");
    with_mmap(b);
    mb2_finish(b);
    mb2_put32(t + 4, (uint32_t)b->len);     /* runs past the end */
}
static void m_tag_huge(struct mb2_builder *b)
{
    uint8_t *t = mb2_string(b, MB2_TAG_CMDLINE, "abc");
    with_mmap(b);
    mb2_finish(b);
    mb2_put32(t + 4, 0xfffffff8u);
}
static void m_tag_tiny(struct mb2_builder *b)
{
    uint8_t *t = mb2_string(b, MB2_TAG_CMDLINE, "abc");
    with_mmap(b);
    mb2_finish(b);
    mb2_put32(t + 4, 4);                    /* smaller than its own header */
}
static void m_no_end(struct mb2_builder *b) { with_mmap(b); mb2_put32(b->buf, (uint32_t)b->len); }
static void m_end_not_last_pad(struct mb2_builder *b)
{
    /* The last tag's padding would run past total_size: no room for an end tag. */
    with_mmap(b);
    mb2_tag(b, 99, 12);
    mb2_put32(b->buf, (uint32_t)b->len - 4);
}
static void m_end_wrong_size(struct mb2_builder *b)
{
    with_mmap(b);
    uint8_t *t = mb2_tag(b, MB2_TAG_END, 16);
    (void)t;
    mb2_put32(b->buf, (uint32_t)b->len);
}
static void m_cmdline_unterminated(struct mb2_builder *b)
{
    uint8_t *t = mb2_string(b, MB2_TAG_CMDLINE, "abc");
    t[8 + 3] = 'd';
    with_mmap(b);
    mb2_finish(b);
}
static void m_cmdline_too_long(struct mb2_builder *b)
{
    static char line[BOOT_CMDLINE_MAX + 1];
    memset(line, 'c', BOOT_CMDLINE_MAX);
    mb2_string(b, MB2_TAG_CMDLINE, line);
    with_mmap(b);
    mb2_finish(b);
}
static void m_name_unterminated(struct mb2_builder *b)
{
    uint8_t *t = mb2_string(b, MB2_TAG_LOADER_NAME, "GRUB");
    t[8 + 4] = '!';
    with_mmap(b);
    mb2_finish(b);
}
static void m_module_unterminated(struct mb2_builder *b)
{
    uint8_t *t = mb2_module(b, 0x1000, 0x2000, "mod");
    t[16 + 3] = 'x';
    with_mmap(b);
    mb2_finish(b);
}
static void m_module_short(struct mb2_builder *b)
{
    uint8_t *t = mb2_tag(b, MB2_TAG_MODULE, 16);
    mb2_put32(t + 8, 0x1000);
    mb2_put32(t + 12, 0x2000);
    with_mmap(b);
    mb2_finish(b);
}
static void m_module_backwards(struct mb2_builder *b) { mb2_module(b, 0x2000, 0x1000, "m"); with_mmap(b); mb2_finish(b); }
static void m_too_many_modules(struct mb2_builder *b)
{
    for (int i = 0; i <= BOOT_MODULES_MAX; i++)
        mb2_module(b, 0x1000, 0x2000, "m");
    with_mmap(b);
    mb2_finish(b);
}
static void m_mmap_esize_small(struct mb2_builder *b) { mb2_mmap(b, ram, 1, 16); mb2_finish(b); }
static void m_mmap_esize_odd(struct mb2_builder *b) { mb2_mmap(b, ram, 1, 28); mb2_finish(b); }
static void m_mmap_esize_zero(struct mb2_builder *b) { uint8_t *t = mb2_mmap(b, ram, 1, 24); mb2_put32(t + 8, 0); mb2_finish(b); }
static void m_mmap_partial(struct mb2_builder *b)
{
    uint8_t *t = mb2_mmap(b, ram, 2, 24);
    mb2_put32(t + 4, 16 + 24 + 8);          /* one entry and a third */
    b->len = (size_t)(t - b->buf) + 48;
    mb2_finish(b);
}
static void m_mmap_header_short(struct mb2_builder *b) { mb2_tag(b, MB2_TAG_MMAP, 12); mb2_finish(b); }
static void m_mmap_too_many(struct mb2_builder *b)
{
    static struct mb2_mmap_entry many[BOOT_MMAP_MAX + 1];
    for (int i = 0; i <= BOOT_MMAP_MAX; i++)
        many[i] = (struct mb2_mmap_entry){ (uint64_t)i << 20, 1 << 20, MMAP_AVAILABLE };
    mb2_mmap(b, many, BOOT_MMAP_MAX + 1, 24);
    mb2_finish(b);
}
static void m_no_mmap(struct mb2_builder *b) { mb2_string(b, MB2_TAG_CMDLINE, "x"); mb2_finish(b); }
static void m_acpi_old_short(struct mb2_builder *b) { with_mmap(b); mb2_acpi(b, MB2_TAG_ACPI_OLD, 19, 0); mb2_finish(b); }
static void m_acpi_new_short(struct mb2_builder *b) { with_mmap(b); mb2_acpi(b, MB2_TAG_ACPI_NEW, 20, 0); mb2_finish(b); }

static void test_malformed(void)
{
    EXPECT_ERROR(m_too_big, "total_size");
    EXPECT_ERROR(m_too_small, "total_size");
    EXPECT_ERROR(m_zero_total, "total_size");
    EXPECT_ERROR(m_tag_past_end, "past the end");
    EXPECT_ERROR(m_tag_huge, "past the end");
    EXPECT_ERROR(m_tag_tiny, "smaller than its own");
    EXPECT_ERROR(m_no_end, "no end tag");
    EXPECT_ERROR(m_end_not_last_pad, "no end tag");
    EXPECT_ERROR(m_end_wrong_size, "end tag");
    EXPECT_ERROR(m_cmdline_unterminated, "command line tag is not NUL-terminated");
    EXPECT_ERROR(m_cmdline_too_long, "command line longer");
    EXPECT_ERROR(m_name_unterminated, "loader name");
    EXPECT_ERROR(m_module_unterminated, "module string");
    EXPECT_ERROR(m_module_short, "module tag too short");
    EXPECT_ERROR(m_module_backwards, "module ends before");
    EXPECT_ERROR(m_too_many_modules, "too many modules");
    EXPECT_ERROR(m_mmap_esize_small, "entry size");
    EXPECT_ERROR(m_mmap_esize_odd, "entry size");
    EXPECT_ERROR(m_mmap_esize_zero, "entry size");
    EXPECT_ERROR(m_mmap_partial, "whole number");
    EXPECT_ERROR(m_mmap_header_short, "memory map tag too short");
    EXPECT_ERROR(m_mmap_too_many, "too many entries");
    EXPECT_ERROR(m_no_mmap, "no memory map");
    EXPECT_ERROR(m_acpi_old_short, "ACPI 1.0");
    EXPECT_ERROR(m_acpi_new_short, "ACPI 2.0");

    const char *err = NULL;
    CHECK(multiboot2_parse(NULL, 4096, &bi, &err) == -1 && err && strstr(err, "null"));
    struct mb2_builder b;
    mb2_begin(&b, space + 8, sizeof(space) - 8);
    with_mmap(&b);
    size_t total = mb2_finish(&b);
    memmove(space + 4, space + 8, total);      /* same bytes, 4-byte aligned */
    err = NULL;
    CHECK(multiboot2_parse(space + 4, total, &bi, &err) == -1 && err && strstr(err, "aligned"));
}

/* Random damage to a good structure: 1 to 4 bytes changed, often in the
 * header or a tag's size field.  The parser may accept or refuse the result,
 * but must give an error string when it refuses and never read out of
 * bounds (AddressSanitizer watches the exact-size copy). */
static void test_fuzz(void)
{
    struct mb2_builder b;
    size_t total = build_good(&b);
    uint8_t *copy = malloc(total);
    uint64_t rng = 88172645463325252ull;
    unsigned accepted = 0, refused = 0, bad = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(copy, space, total);
        int edits = 1 + (int)(rng % 4);
        for (int e = 0; e < edits; e++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = (size_t)(rng % total);
            if (rng & (1ull << 40))
                at &= ~(size_t)3;               /* a whole size/type field */
            if (rng & (1ull << 41))
                mb2_put32(copy + (at & ~(size_t)3), (uint32_t)(rng >> 32) % (uint32_t)(total + 64));
            else
                copy[at] = (uint8_t)(rng >> 48);
        }
        const char *err = NULL;
        int r = multiboot2_parse(copy, total, &bi, &err);
        if (r == 0)
            accepted++;
        else if (r == -1 && err && *err)
            refused++;
        else
            bad++;
        if (r == 0)
            bad += bi.mmap_count > BOOT_MMAP_MAX || bi.module_count > BOOT_MODULES_MAX ||
                   strnlen(bi.cmdline, sizeof(bi.cmdline)) == sizeof(bi.cmdline);
    }
    free(copy);
    printf("  fuzz: %u accepted, %u refused\n", accepted, refused);
    check_at(bad == 0 && refused > 0 && accepted > 0, __FILE__, __LINE__,
             "fuzz: %u results without an error string", bad);
}

int main(void)
{
    test_tag_numbers();
    test_good();
    test_good_variants();
    test_malformed();
    test_fuzz();
    return check_summary("multiboot2");
}
