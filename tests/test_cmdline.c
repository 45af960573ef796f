/*
 * tests/test_cmdline.c - the command-line parser in the kernel:
 * cmdline_apply_table() with a local table holding an option of every kind,
 * good values, bad values (defaults kept, errors counted, messages naming the
 * option and what it accepts) and unknown options (warnings).  Messages go
 * to a report buffer, not the log.  tests/host/test_cmdline.c checks the
 * same code on the host under AddressSanitizer.
 */
#include "ktest_suite.h"
#include <kernel/boot_options.h>
#include <kernel/lazy_mm.h>
#include <lib/cmdline.h>
#include <lib/format.h>
#include <lib/string.h>

static bool opt_verbose;
static unsigned long long opt_pages;
static uint8_t opt_level;
static uint32_t opt_ceiling;
static int opt_policy;
static char opt_label[8];
static unsigned opt_scenes;
static const char *const policies[] = { "lazy", "eager", "off", NULL };
static const char *const scene_names[] = { "tlb", "sched", "user", NULL };

static const struct cmdline_option opts[] = {
    { .name = "verbose", .kind = CMDLINE_KIND_BOOL, .target = &opt_verbose, .size = sizeof(bool) },
    { .name = "pages", .kind = CMDLINE_KIND_UINT, .target = &opt_pages, .size = sizeof(opt_pages),
      .min = 1, .max = 1ull << 32 },
    { .name = "level", .kind = CMDLINE_KIND_UINT, .target = &opt_level, .size = sizeof(opt_level),
      .min = 0, .max = 9 },
    { .name = "ceiling", .kind = CMDLINE_KIND_UINT, .target = &opt_ceiling, .size = sizeof(opt_ceiling),
      .min = 1, .max = 512 },
    { .name = "policy", .kind = CMDLINE_KIND_ENUM, .target = &opt_policy, .size = sizeof(int),
      .choices = policies },
    { .name = "label", .kind = CMDLINE_KIND_STRING, .target = opt_label, .size = sizeof(opt_label) },
    { .name = "scenes", .kind = CMDLINE_KIND_LIST, .target = &opt_scenes, .size = sizeof(unsigned),
      .choices = scene_names },
};

static char report[1024];
static int warnings;

static int apply(const char *line)
{
    opt_verbose = false;
    opt_pages = 100;
    opt_level = 3;
    opt_ceiling = 33;
    opt_policy = 0;
    strlcpy(opt_label, "none", sizeof(opt_label));
    opt_scenes = 7;
    warnings = -1;
    return cmdline_apply_table(line, opts, ARRAY_SIZE(opts), report, sizeof(report), &warnings);
}

static bool all_defaults(void)
{
    return !opt_verbose && opt_pages == 100 && opt_level == 3 && opt_ceiling == 33 && opt_policy == 0 &&
           !strcmp(opt_label, "none") && opt_scenes == 7;
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static void test_every_kind_set(struct ktest *t)
{
    EXPECT_EQ(t, apply("verbose pages=0x1000 level=9 ceiling=512 policy=eager label=\"a b\""), 0);
    EXPECT_EQ(t, warnings, 0);
    EXPECT_TRUE(t, opt_verbose);
    EXPECT_EQ(t, opt_pages, 0x1000u);
    EXPECT_EQ(t, opt_level, 9);
    EXPECT_EQ(t, opt_ceiling, 512u);
    EXPECT_EQ(t, opt_policy, 1);
    EXPECT_STREQ(t, opt_label, "a b");
    EXPECT_STREQ(t, report, "");

    EXPECT_EQ(t, apply("verbose=off pages=4G policy=off label=1234567 verbose=yes"), 0);
    EXPECT_TRUE(t, opt_verbose);                /* the last word wins */
    EXPECT_EQ(t, opt_pages, 4ull << 30);
    EXPECT_EQ(t, opt_policy, 2);
    EXPECT_STREQ(t, opt_label, "1234567");
    EXPECT_EQ(t, apply("pages=16K\tlevel=0"), 0);
    EXPECT_EQ(t, opt_pages, 16384u);
    EXPECT_EQ(t, opt_level, 0);
    EXPECT_EQ(t, apply(""), 0);
    EXPECT_TRUE(t, all_defaults());

    /* A list: the named choices' bits, in any order; all|on, off|none. */
    EXPECT_EQ(t, apply("scenes=user,tlb"), 0);
    EXPECT_EQ(t, opt_scenes, 5u);
    EXPECT_EQ(t, apply("scenes=sched"), 0);
    EXPECT_EQ(t, opt_scenes, 2u);
    EXPECT_EQ(t, apply("scenes=off"), 0);
    EXPECT_EQ(t, opt_scenes, 0u);
    EXPECT_EQ(t, apply("scenes=none scenes=all"), 0);
    EXPECT_EQ(t, opt_scenes, 7u);
    EXPECT_EQ(t, apply("scenes=off scenes=on"), 0);
    EXPECT_EQ(t, opt_scenes, 7u);
    EXPECT_EQ(t, apply("scenes=tlb,tlb"), 0);
    EXPECT_EQ(t, opt_scenes, 1u);
    EXPECT_STREQ(t, report, "");
}

/* One bad word: one error, no warning, every default kept, and the message
 * names the option and says what it accepts. */
static void bad(struct ktest *t, const char *line, const char *name, const char *accepts)
{
    int errors = apply(line);
    char quoted[48];
    snprintf(quoted, sizeof(quoted), "option '%s'", name);
    if (errors != 1 || warnings != 0 || !all_defaults() || strncmp(report, "error: ", 7) ||
        !contains(report, quoted) || !contains(report, accepts))
        ktest_fail_at(t, __FILE__, __LINE__, "\"%s\": %d errors, %d warnings, defaults %s, report: %s", line,
                      errors, warnings, all_defaults() ? "kept" : "changed", report);
}

static void test_bad_values(struct ktest *t)
{
    bad(t, "verbose=sometimes", "verbose", "on|off");
    bad(t, "pages=0", "pages", "a number from 1 to 4294967296");
    bad(t, "pages=5G", "pages", "a number from 1 to 4294967296");
    bad(t, "pages=lots", "pages", "a number");
    bad(t, "pages=0x", "pages", "a number");
    bad(t, "pages=K", "pages", "a number");
    bad(t, "pages=-5", "pages", "a number");
    bad(t, "pages=99999999999999999999", "pages", "a number");
    bad(t, "pages", "pages", "needs a value");
    bad(t, "level=10", "level", "from 0 to 9");
    bad(t, "level=256", "level", "from 0 to 9");       /* would wrap to 0 in a uint8_t */
    bad(t, "ceiling=0", "ceiling", "from 1 to 512");
    bad(t, "ceiling=4294967329", "ceiling", "from 1 to 512");   /* 2^32 + 33 */
    bad(t, "policy=sometimes", "policy", "lazy|eager|off");
    bad(t, "policy=", "policy", "lazy|eager|off");
    bad(t, "label=12345678", "label", "a string of at most 7 characters");
    bad(t, "label=\"never closed", "label", "a string");
    bad(t, "scenes=tlb,tlbb", "scenes", "'tlbb' is none of them; it accepts a comma-separated list of tlb,sched,user, or all|off");
    bad(t, "scenes=schedule", "scenes", "'schedule' is none of them");
    bad(t, "scenes=tlb,,user", "scenes", "an empty name in the list");
    bad(t, "scenes=tlb,", "scenes", "an empty name in the list");
    bad(t, "scenes=", "scenes", "tlb,sched,user, or all|off");
    bad(t, "scenes=all,tlb", "scenes", "'all' is none of them");
    bad(t, "scenes", "scenes", "needs a value");
}

/* The demo's own option (kernel/demo/demo.c), from the registry: an unknown
 * scene name is an error that names it and lists the real scenes, and the
 * demo keeps its default (only bad values are applied here, so the boot's
 * own setting is untouched). */
static void test_demo_scene_names(struct ktest *t)
{
    const struct cmdline_option *demo = NULL;
    for (const struct cmdline_option *o = __cmdline_opts_start; o < __cmdline_opts_end; o++)
        if (!strcmp(o->name, "demo"))
            demo = o;
    ASSERT_TRUE(t, demo != NULL);
    EXPECT_TRUE(t, demo->kind == CMDLINE_KIND_LIST);
    unsigned before = *(unsigned *)demo->target;
    int w;
    EXPECT_EQ(t, cmdline_apply_table("demo=user,shootdowns", demo, 1, report, sizeof(report), &w), 1);
    EXPECT_TRUE(t, contains(report, "error: cmdline: bad value 'user,shootdowns' for option 'demo': "
                                    "'shootdowns' is none of them; it accepts a comma-separated list of "
                                    "tlb,user,sched, or all|off (keeping the default)"));
    EXPECT_EQ(t, *(unsigned *)demo->target, before);
}

/* lazy_mm= from the registry: each of the four modes is accepted (applied
 * to a copy of the option, so the running mode is untouched), and a bad
 * value is an error that lists them all and keeps the mode. */
static void test_lazy_mm_modes(struct ktest *t)
{
    const struct cmdline_option *lazy = NULL;
    for (const struct cmdline_option *o = __cmdline_opts_start; o < __cmdline_opts_end; o++)
        if (!strcmp(o->name, "lazy_mm"))
            lazy = o;
    ASSERT_TRUE(t, lazy != NULL);
    EXPECT_TRUE(t, lazy->kind == CMDLINE_KIND_ENUM);
    int mode = -1, w;
    struct cmdline_option copy = *lazy;
    copy.target = &mode;
    EXPECT_EQ(t, cmdline_apply_table("lazy_mm=mmput", &copy, 1, report, sizeof(report), &w), 0);
    EXPECT_EQ(t, mode, LAZY_MM_MMPUT);
    EXPECT_EQ(t, cmdline_apply_table("lazy_mm=hazard", &copy, 1, report, sizeof(report), &w), 0);
    EXPECT_EQ(t, mode, LAZY_MM_HAZARD);
    EXPECT_EQ(t, cmdline_apply_table("lazy_mm=mput", &copy, 1, report, sizeof(report), &w), 1);
    EXPECT_TRUE(t, contains(report, "error: cmdline: bad value 'mput' for option 'lazy_mm': "
                                    "it accepts refcount|shootdown|hazard|mmput"));
    EXPECT_EQ(t, mode, LAZY_MM_HAZARD);
}

static void test_errors_counted(struct ktest *t)
{
    /* Good and bad values mixed: each bad one counts, the good ones apply. */
    EXPECT_EQ(t, apply("level=7 pages=0 verbose policy=never ceiling=64 label=waytoolong"), 3);
    EXPECT_EQ(t, warnings, 0);
    EXPECT_EQ(t, opt_level, 7);
    EXPECT_TRUE(t, opt_verbose);
    EXPECT_EQ(t, opt_ceiling, 64u);
    EXPECT_EQ(t, opt_pages, 100u);
    EXPECT_EQ(t, opt_policy, 0);
    EXPECT_STREQ(t, opt_label, "none");
    EXPECT_TRUE(t, contains(report, "option 'pages'"));
    EXPECT_TRUE(t, contains(report, "option 'policy'"));
    EXPECT_TRUE(t, contains(report, "option 'label'"));
    EXPECT_TRUE(t, contains(report, "keeping the default"));
}

static void test_unknown_options_warn(struct ktest *t)
{
    EXPECT_EQ(t, apply("console=ttyS0 level=5 quiet"), 0);
    EXPECT_EQ(t, warnings, 2);
    EXPECT_EQ(t, opt_level, 5);
    EXPECT_TRUE(t, contains(report, "warning: cmdline: unknown option 'console' ignored"));
    EXPECT_TRUE(t, contains(report, "unknown option 'quiet'"));
    EXPECT_FALSE(t, contains(report, "error"));
    /* Warnings and errors are counted apart. */
    EXPECT_EQ(t, apply("nosuch=1 level=99 other"), 1);
    EXPECT_EQ(t, warnings, 2);
}

static void test_small_report_buffer(struct ktest *t)
{
    /* A report buffer too small for the messages: cut, terminated, and
     * nothing written past its end (the guard bytes). */
    char area[48];
    for (size_t cap = 0; cap <= 32; cap++) {
        memset(area, '#', sizeof(area));
        int w;
        opt_level = 3;
        int errors = cmdline_apply_table("nosuch level=99 level=4", opts, ARRAY_SIZE(opts), area, cap, &w);
        EXPECT_EQ(t, errors, 1);
        EXPECT_EQ(t, w, 1);
        EXPECT_EQ(t, opt_level, 4);
        if (cap)
            EXPECT_LT(t, strnlen(area, cap), cap);
        for (size_t i = cap; i < sizeof(area); i++)
            if (area[i] != '#')
                ktest_fail_at(t, __FILE__, __LINE__, "cap %zu: byte %zu written", cap, i);
    }
}

static void test_words_and_numbers(struct ktest *t)
{
    struct cmdline_word w;
    size_t pos = 0;
    const char *line = "  a=1 flag\ts=\"x y\" open=\"z";
    ASSERT_TRUE(t, cmdline_next_word(line, &pos, &w));
    EXPECT_STREQ(t, w.name, "a");
    EXPECT_STREQ(t, w.value, "1");
    ASSERT_TRUE(t, cmdline_next_word(line, &pos, &w));
    EXPECT_STREQ(t, w.name, "flag");
    EXPECT_FALSE(t, w.has_value);
    ASSERT_TRUE(t, cmdline_next_word(line, &pos, &w));
    EXPECT_STREQ(t, w.value, "x y");
    EXPECT_FALSE(t, w.truncated);
    ASSERT_TRUE(t, cmdline_next_word(line, &pos, &w));
    EXPECT_STREQ(t, w.value, "z");
    EXPECT_TRUE(t, w.truncated);                /* unterminated quote */
    EXPECT_FALSE(t, cmdline_next_word(line, &pos, &w));

    unsigned long long v;
    EXPECT_TRUE(t, cmdline_parse_uint("0x10M", &v) && v == 16ull << 20);
    EXPECT_TRUE(t, cmdline_parse_uint("18446744073709551615", &v) && v == ~0ull);
    EXPECT_FALSE(t, cmdline_parse_uint("18446744073709551616", &v));
    EXPECT_FALSE(t, cmdline_parse_uint("16777216T", &v));
    EXPECT_FALSE(t, cmdline_parse_uint("17179869184G", &v));
    bool b;
    EXPECT_TRUE(t, cmdline_parse_bool("true", &b) && b);
    EXPECT_TRUE(t, cmdline_parse_bool("0", &b) && !b);
    EXPECT_FALSE(t, cmdline_parse_bool("On", &b));
}

static const struct ktest_case cmdline_cases[] = {
    KTEST_CASE(test_every_kind_set),
    KTEST_CASE(test_bad_values),
    KTEST_CASE(test_errors_counted),
    KTEST_CASE(test_lazy_mm_modes),
    KTEST_CASE(test_unknown_options_warn),
    KTEST_CASE(test_small_report_buffer),
    KTEST_CASE(test_words_and_numbers),
    KTEST_CASE(test_demo_scene_names),
    {0},
};
KTEST_SUITE(cmdline, cmdline_cases);
