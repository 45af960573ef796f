/*
 * tests/test_multiboot2.c - multiboot2_parse() on boot information built in
 * memory (tests/mb2_build.h): well-formed structures with every tag the
 * kernel reads, and malformed ones, each of which must give an error string.
 * tests/host/test_multiboot2.c runs the same kinds of cases, plus random
 * damage, on the host under AddressSanitizer.
 */
#include "ktest_suite.h"
#include <kernel/bootinfo.h>
#include <lib/string.h>
#include "mb2_build.h"

static uint8_t space[8192] __aligned(8);
static struct boot_info parsed;     /* ~6 KiB: too big for a test's stack */
static const char *err;

static const struct mb2_mmap_entry ram[] = {
    { 0, 0x9fc00, MMAP_AVAILABLE },
    { 0x9fc00, 0x400, MMAP_RESERVED },
    { 0x100000, 0xfee0000, MMAP_AVAILABLE },
    { 0xfffc0000, 0x40000, MMAP_RESERVED },
};

static int parse(size_t avail)
{
    err = NULL;
    return multiboot2_parse(space, avail, &parsed, &err);
}

static size_t build_full(void)
{
    struct mb2_builder b;
    mb2_begin(&b, space, sizeof(space));
    mb2_string(&b, MB2_TAG_CMDLINE, "test=all smp=4");
    mb2_string(&b, MB2_TAG_LOADER_NAME, "GRUB 2.06-13");
    mb2_tag(&b, MB2_TAG_BASIC_MEMINFO, 16);
    mb2_mmap(&b, ram, ARRAY_SIZE(ram), 24);
    mb2_module(&b, 0x800000, 0x812345, "initrd.img root=/");
    mb2_module(&b, 0x900000, 0x900800, "symbols");
    mb2_tag(&b, 42, 20);                        /* unknown: skipped and counted */
    mb2_acpi(&b, MB2_TAG_ACPI_OLD, 20, 0x30);
    mb2_acpi(&b, MB2_TAG_ACPI_NEW, 36, 0x60);
    mb2_tag(&b, 12, 16);                        /* EFI 64-bit system table: known, not used */
    mb2_tag(&b, 1000, 9);
    return mb2_finish(&b);
}

static void test_well_formed(struct ktest *t)
{
    size_t total = build_full();
    ASSERT_NE(t, total, 0u);
    ASSERT_EQ(t, parse(total), 0);
    EXPECT_STREQ(t, parsed.cmdline, "test=all smp=4");
    EXPECT_STREQ(t, parsed.loader_name, "GRUB 2.06-13");
    ASSERT_EQ(t, parsed.mmap_count, ARRAY_SIZE(ram));
    for (size_t i = 0; i < ARRAY_SIZE(ram); i++) {
        EXPECT_EQ(t, parsed.mmap[i].base, ram[i].base);
        EXPECT_EQ(t, parsed.mmap[i].length, ram[i].length);
        EXPECT_EQ(t, parsed.mmap[i].type, ram[i].type);
    }
    ASSERT_EQ(t, parsed.module_count, 2u);
    EXPECT_EQ(t, parsed.modules[0].start, 0x800000u);
    EXPECT_EQ(t, parsed.modules[0].end, 0x812345u);
    EXPECT_STREQ(t, parsed.modules[0].cmdline, "initrd.img root=/");
    EXPECT_STREQ(t, parsed.modules[1].cmdline, "symbols");
    EXPECT_EQ(t, parsed.rsdp_version, 2u);              /* ACPI 2.0 wins */
    EXPECT_EQ(t, parsed.rsdp[0], 0x60);
    EXPECT_EQ(t, parsed.rsdp[35], 0x60 + 35);
    EXPECT_EQ(t, parsed.unknown_tags, 2u);
    EXPECT_EQ(t, parsed.info_end - parsed.info_start, total);
    /* A larger avail changes nothing: total_size bounds the parse. */
    EXPECT_EQ(t, parse(sizeof(space)), 0);
}

static void test_acpi_v1_only_and_order(struct ktest *t)
{
    struct mb2_builder b;
    mb2_begin(&b, space, sizeof(space));
    mb2_mmap(&b, ram, 1, 24);
    mb2_acpi(&b, MB2_TAG_ACPI_OLD, 20, 0x11);
    ASSERT_EQ(t, parse(mb2_finish(&b)), 0);
    EXPECT_EQ(t, parsed.rsdp_version, 1u);
    EXPECT_EQ(t, parsed.rsdp[19], 0x11 + 19);
    EXPECT_EQ(t, parsed.rsdp[20], 0);
    EXPECT_EQ(t, parsed.cmdline[0], '\0');              /* no cmdline tag: empty */

    mb2_begin(&b, space, sizeof(space));
    mb2_acpi(&b, MB2_TAG_ACPI_NEW, 36, 0x70);
    mb2_acpi(&b, MB2_TAG_ACPI_OLD, 20, 0x11);           /* v1 after v2 does not replace it */
    mb2_mmap(&b, ram, 2, 24);
    ASSERT_EQ(t, parse(mb2_finish(&b)), 0);
    EXPECT_EQ(t, parsed.rsdp_version, 2u);
    EXPECT_EQ(t, parsed.rsdp[0], 0x70);
}

static void test_large_mmap_entries(struct ktest *t)
{
    /* Entry size is the loader's to choose (a multiple of 8, at least 24). */
    struct mb2_builder b;
    mb2_begin(&b, space, sizeof(space));
    mb2_mmap(&b, ram, ARRAY_SIZE(ram), 40);
    ASSERT_EQ(t, parse(mb2_finish(&b)), 0);
    ASSERT_EQ(t, parsed.mmap_count, ARRAY_SIZE(ram));
    EXPECT_EQ(t, parsed.mmap[3].base, 0xfffc0000u);
    EXPECT_EQ(t, parsed.mmap[3].type, (uint32_t)MMAP_RESERVED);
}

/* ---- malformed ---------------------------------------------------------- */

struct bad_case {
    const char *what;
    void (*make)(struct mb2_builder *b);
    const char *want;       /* a piece of the expected error */
};

static void mmap_only(struct mb2_builder *b) { mb2_mmap(b, ram, 2, 24); }
static void total_too_big(struct mb2_builder *b) { mmap_only(b); mb2_finish(b); mb2_put32(b->buf, (uint32_t)b->len + 8); }
static void total_too_small(struct mb2_builder *b) { mmap_only(b); mb2_finish(b); mb2_put32(b->buf, 12); }
static void tag_past_end(struct mb2_builder *b)
{
    uint8_t *tag = mb2_string(b, MB2_TAG_LOADER_NAME, "x");
    mmap_only(b);
    mb2_finish(b);
    mb2_put32(tag + 4, (uint32_t)b->len);
}
static void tag_size_huge(struct mb2_builder *b)
{
    mmap_only(b);
    uint8_t *tag = mb2_tag(b, 77, 16);
    mb2_finish(b);
    mb2_put32(tag + 4, 0xfffffff0u);
}
static void tag_size_tiny(struct mb2_builder *b)
{
    mmap_only(b);
    uint8_t *tag = mb2_tag(b, 77, 16);
    mb2_finish(b);
    mb2_put32(tag + 4, 0);          /* would loop forever if accepted */
}
static void no_end_tag(struct mb2_builder *b) { mmap_only(b); mb2_put32(b->buf, (uint32_t)b->len); }
static void end_tag_wrong_size(struct mb2_builder *b)
{
    mmap_only(b);
    mb2_tag(b, MB2_TAG_END, 24);
    mb2_put32(b->buf, (uint32_t)b->len);
}
static void cmdline_unterminated(struct mb2_builder *b)
{
    uint8_t *tag = mb2_string(b, MB2_TAG_CMDLINE, "test=all");
    tag[8 + 8] = 'x';               /* overwrite the NUL */
    mmap_only(b);
    mb2_finish(b);
}
static void cmdline_too_long(struct mb2_builder *b)
{
    static char line[BOOT_CMDLINE_MAX + 8];
    memset(line, 'o', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    mb2_string(b, MB2_TAG_CMDLINE, line);
    mmap_only(b);
    mb2_finish(b);
}
static void loader_name_unterminated(struct mb2_builder *b)
{
    uint8_t *tag = mb2_string(b, MB2_TAG_LOADER_NAME, "GRUB");
    tag[8 + 4] = '2';
    mmap_only(b);
    mb2_finish(b);
}
static void module_string_unterminated(struct mb2_builder *b)
{
    uint8_t *tag = mb2_module(b, 0x1000, 0x2000, "m");
    tag[16 + 1] = 'm';
    mmap_only(b);
    mb2_finish(b);
}
static void module_without_string(struct mb2_builder *b)
{
    mb2_tag(b, MB2_TAG_MODULE, 16);
    mmap_only(b);
    mb2_finish(b);
}
static void module_backwards(struct mb2_builder *b) { mb2_module(b, 0x3000, 0x2000, "m"); mmap_only(b); mb2_finish(b); }
static void too_many_modules(struct mb2_builder *b)
{
    for (int i = 0; i <= BOOT_MODULES_MAX; i++)
        mb2_module(b, 0x1000, 0x2000, "");
    mmap_only(b);
    mb2_finish(b);
}
static void mmap_entry_size_16(struct mb2_builder *b) { mb2_mmap(b, ram, 2, 16); mb2_finish(b); }
static void mmap_entry_size_30(struct mb2_builder *b) { mb2_mmap(b, ram, 2, 30); mb2_finish(b); }
static void mmap_entry_size_0(struct mb2_builder *b)
{
    uint8_t *tag = mb2_mmap(b, ram, 2, 24);
    mb2_put32(tag + 8, 0);          /* would divide by zero if accepted */
    mb2_finish(b);
}
static void mmap_partial_entry(struct mb2_builder *b)
{
    uint8_t *tag = mb2_mmap(b, ram, 2, 24);
    mb2_put32(tag + 4, 16 + 24 + 16);
    mb2_finish(b);                  /* the old second entry's tail is padding now */
}
static void mmap_header_short(struct mb2_builder *b) { mb2_tag(b, MB2_TAG_MMAP, 12); mb2_finish(b); }
static void mmap_too_many(struct mb2_builder *b)
{
    static struct mb2_mmap_entry many[BOOT_MMAP_MAX + 1];
    for (int i = 0; i <= BOOT_MMAP_MAX; i++)
        many[i] = (struct mb2_mmap_entry){ (uint64_t)i << 12, 4096, MMAP_AVAILABLE };
    mb2_mmap(b, many, ARRAY_SIZE(many), 24);
    mb2_finish(b);
}
static void no_mmap(struct mb2_builder *b) { mb2_string(b, MB2_TAG_CMDLINE, ""); mb2_finish(b); }
static void acpi_old_short(struct mb2_builder *b) { mmap_only(b); mb2_acpi(b, MB2_TAG_ACPI_OLD, 8, 0); mb2_finish(b); }
static void acpi_new_short(struct mb2_builder *b) { mmap_only(b); mb2_acpi(b, MB2_TAG_ACPI_NEW, 24, 0); mb2_finish(b); }

static const struct bad_case bad_cases[] = {
    { "total_size larger than the memory given", total_too_big, "total_size" },
    { "total_size smaller than a header", total_too_small, "total_size" },
    { "a tag running past the end", tag_past_end, "past the end" },
    { "a tag size near 4 GiB", tag_size_huge, "past the end" },
    { "a tag size of 0", tag_size_tiny, "smaller than" },
    { "no end tag", no_end_tag, "no end tag" },
    { "an end tag of size 24", end_tag_wrong_size, "end tag" },
    { "an unterminated command line", cmdline_unterminated, "command line tag is not NUL-terminated" },
    { "a command line too long to keep", cmdline_too_long, "command line longer" },
    { "an unterminated loader name", loader_name_unterminated, "loader name" },
    { "an unterminated module string", module_string_unterminated, "module string" },
    { "a module tag without its string", module_without_string, "module tag too short" },
    { "a module ending before its start", module_backwards, "module ends before" },
    { "more modules than the kernel keeps", too_many_modules, "too many modules" },
    { "memory map entries of 16 bytes", mmap_entry_size_16, "entry size" },
    { "memory map entries of 30 bytes", mmap_entry_size_30, "entry size" },
    { "memory map entries of 0 bytes", mmap_entry_size_0, "entry size" },
    { "a memory map with a partial entry", mmap_partial_entry, "whole number" },
    { "a memory map tag without its header", mmap_header_short, "memory map tag too short" },
    { "more memory map entries than the kernel keeps", mmap_too_many, "too many entries" },
    { "no memory map", no_mmap, "no memory map" },
    { "a short ACPI 1.0 RSDP", acpi_old_short, "ACPI 1.0" },
    { "a short ACPI 2.0 RSDP", acpi_new_short, "ACPI 2.0" },
};

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static void test_malformed(struct ktest *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        struct mb2_builder b;
        mb2_begin(&b, space, sizeof(space));
        bad_cases[i].make(&b);
        if (b.overflow) {
            ktest_fail_at(t, __FILE__, __LINE__, "%s: the test's buffer is too small", bad_cases[i].what);
            continue;
        }
        int r = parse(b.len);
        if (r != -1 || !err || !contains(err, bad_cases[i].want))
            ktest_fail_at(t, __FILE__, __LINE__, "%s: parse returned %d, error \"%s\" (expected \"%s\")",
                          bad_cases[i].what, r, err ? err : "(none)", bad_cases[i].want);
    }
}

static void test_bad_pointer_alignment_and_length(struct ktest *t)
{
    err = NULL;
    EXPECT_EQ(t, multiboot2_parse(NULL, 4096, &parsed, &err), -1);
    EXPECT_TRUE(t, err && contains(err, "null"));

    struct mb2_builder b;
    mb2_begin(&b, space + 8, sizeof(space) - 8);
    mmap_only(&b);
    size_t total = mb2_finish(&b);
    memmove(space + 4, space + 8, total);       /* good bytes, misaligned */
    err = NULL;
    EXPECT_EQ(t, multiboot2_parse(space + 4, total, &parsed, &err), -1);
    EXPECT_TRUE(t, err && contains(err, "aligned"));

    /* A good structure with less memory than it claims, at every length. */
    total = build_full();
    unsigned accepted = 0;
    for (size_t avail = 0; avail < total; avail++)
        if (parse(avail) != -1 || !err)
            accepted++;
    EXPECT_EQ(t, accepted, 0u);
}

static void test_random_damage(struct ktest *t)
{
    /* Damage a good structure a few bytes at a time: whatever the parser
     * decides, a refusal comes with an error and an acceptance with sane
     * counts. */
    static uint8_t good[1024] __aligned(8);
    size_t total = build_full();
    ASSERT_LE(t, total, sizeof(good));
    memcpy(good, space, total);
    uint64_t x = 0x2545f4914f6cdd1dull;
    unsigned refused = 0, accepted = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(space, good, total);
        for (int e = 0; e < 3; e++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x % total) & ~(size_t)3;
            if (x & (1ull << 40))
                mb2_put32(space + at, (uint32_t)((x >> 32) % (total + 32)));
            else
                space[x % total] = (uint8_t)(x >> 48);
        }
        int r = parse(total);
        if (r == 0 && parsed.mmap_count <= BOOT_MMAP_MAX && parsed.module_count <= BOOT_MODULES_MAX)
            accepted++;
        else if (r == -1 && err && err[0])
            refused++;
        else
            ktest_fail_at(t, __FILE__, __LINE__, "iteration %d: result %d without a clean outcome", iter, r);
    }
    ktest_log("%u damaged structures accepted, %u refused", accepted, refused);
    EXPECT_GT(t, refused, 0u);
}

static void test_real_boot_info(struct ktest *t)
{
    /* What GRUB gave this boot, parsed by kmain: we are running tests, so
     * the command line holds test=, and there is RAM. */
    EXPECT_TRUE(t, contains(boot_info.cmdline, "test="));
    EXPECT_GT(t, boot_info.mmap_count, 0u);
    uint64_t avail = 0;
    for (unsigned i = 0; i < boot_info.mmap_count; i++)
        if (boot_info.mmap[i].type == MMAP_AVAILABLE)
            avail += boot_info.mmap[i].length;
    EXPECT_GE(t, avail, 16ull << 20);
    EXPECT_GT(t, boot_info.info_end, boot_info.info_start);
}

static const struct ktest_case multiboot2_cases[] = {
    KTEST_CASE(test_well_formed),
    KTEST_CASE(test_acpi_v1_only_and_order),
    KTEST_CASE(test_large_mmap_entries),
    KTEST_CASE(test_malformed),
    KTEST_CASE(test_bad_pointer_alignment_and_length),
    KTEST_CASE(test_random_damage),
    KTEST_CASE(test_real_boot_info),
    {0},
};
KTEST_SUITE(multiboot2, multiboot2_cases);
