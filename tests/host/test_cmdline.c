/*
 * tests/host/test_cmdline.c - lib/cmdline.c (splitting words, numbers,
 * booleans) and kernel/boot/boot_options.c's cmdline_apply_table() (options of every
 * kind, bad values, messages), under the sanitizers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "klib.h"
#include <lib/cmdline.h>
#include <kernel/boot_options.h>

/* Split `line` and join the words as "name=value|name|..." for comparison;
 * a truncated word is marked with '!'. */
static const char *split(const char *line)
{
    static char out[2048];
    struct cmdline_word w;
    size_t pos = 0, len = 0;
    char *copy = strdup(line);      /* exact size: reads past the NUL are caught */
    out[0] = '\0';
    while (cmdline_next_word(copy, &pos, &w)) {
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s%s%s%s", len ? "|" : "", w.name,
                                w.has_value ? "=" : "", w.value, w.truncated ? "!" : "");
        if (len >= sizeof(out))
            break;
    }
    CHECK_EQ(pos, strlen(copy));    /* the end of line leaves pos at the NUL */
    free(copy);
    return out;
}

static void test_split(void)
{
    CHECK_STR(split(""), "");
    CHECK_STR(split("   \t "), "");
    CHECK_STR(split("a"), "a");
    CHECK_STR(split("a=1 b=2"), "a=1|b=2");
    CHECK_STR(split("  a=1\t\tb   c=  "), "a=1|b|c=");
    CHECK_STR(split("a= b"), "a=|b");
    CHECK_STR(split("=x"), "=x");
    CHECK_STR(split("a=b=c"), "a=b=c");
    CHECK_STR(split("s=\"two words\" t"), "s=two words|t");
    CHECK_STR(split("s=x\"y z\"w"), "s=xy zw");
    CHECK_STR(split("s=\"\""), "s=");
    CHECK_STR(split("s=\"tab\there\""), "s=tab\there");
    /* An unterminated quote runs to the end of the line and is flagged. */
    CHECK_STR(split("a=1 s=\"open b=2"), "a=1|s=open b=2!");
    /* Names hold 31 characters, values 255. */
    char line[600];
    memset(line, 'n', 31);
    strcpy(line + 31, "=v");
    CHECK_STR(split(line), "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn=v");
    memset(line, 'n', 32);
    strcpy(line + 32, "=v x");
    CHECK_STR(split(line), "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn=v!|x");
    strcpy(line, "v=");
    memset(line + 2, 'a', 255);
    strcpy(line + 257, " y");
    const char *r = split(line);
    CHECK(strlen(r) == 2 + 255 + 2 && !strcmp(r + 257, "|y"));
    strcpy(line, "v=");
    memset(line + 2, 'a', 256);
    strcpy(line + 258, " y");
    r = split(line);
    CHECK(strlen(r) == 2 + 255 + 3 && !strcmp(r + 257, "!|y"));
}

/* Split a program's argument line and join the arguments with '|'; a bad
 * one (too long, unclosed quote) is marked with '!'. */
static const char *args(const char *line, size_t cap)
{
    static char out[2048];
    char *buf = malloc(cap ? cap : 1);      /* exact size: writes past cap are caught */
    char *copy = strdup(line);
    size_t pos = 0, len = 0;
    bool bad;
    out[0] = '\0';
    while (cmdline_next_arg(copy, &pos, cap ? buf : NULL, cap, &bad))
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s%s", len ? "|" : "", cap ? buf : "",
                                bad ? "!" : "");
    CHECK_EQ(pos, strlen(copy));
    free(copy);
    free(buf);
    return out;
}

static void test_args(void)
{
    CHECK_STR(args("", 16), "");
    CHECK_STR(args(" \t ", 16), "");
    CHECK_STR(args("prog", 16), "prog");
    CHECK_STR(args("  prog a\tb  ", 16), "prog|a|b");
    CHECK_STR(args("prog \"two words\" x=\"1 2\" \"\"", 16), "prog|two words|x=1 2|");
    CHECK_STR(args("a=b -- c", 16), "a=b|--|c");
    /* Too long for the buffer: cut, terminated and flagged; the next is whole. */
    CHECK_STR(args("abcdefgh xy", 5), "abcd!|xy");
    CHECK_STR(args("abcd xy", 5), "abcd|xy");
    CHECK_STR(args("a \"open b", 16), "a|open b!");
    CHECK_STR(args("a b", 0), "!|!");
}

static void test_parse_uint(void)
{
    static const struct { const char *s; bool ok; unsigned long long v; } cases[] = {
        { "0", true, 0 },
        { "42", true, 42 },
        { "007", true, 7 },
        { "0x1f", true, 31 },
        { "0X1F", true, 31 },
        { "0xDeadBeef", true, 0xdeadbeef },
        { "4k", true, 4096 },
        { "4K", true, 4096 },
        { "2M", true, 2 << 20 },
        { "3G", true, 3ull << 30 },
        { "0x10K", true, 16 << 10 },
        { "0K", true, 0 },
        { "18446744073709551615", true, ~0ull },
        { "0xffffffffffffffff", true, ~0ull },
        { "17179869183G", true, 17179869183ull << 30 },
        { "", false, 0 },
        { "0x", false, 0 },
        { "K", false, 0 },
        { "0xK", false, 0 },
        { "M", false, 0 },
        { "-1", false, 0 },
        { "+1", false, 0 },
        { " 1", false, 0 },
        { "1 ", false, 0 },
        { "1KB", false, 0 },
        { "1T", false, 0 },
        { "12a", false, 0 },
        { "0x12z", false, 0 },
        { "1.5", false, 0 },
        { "18446744073709551616", false, 0 },
        { "99999999999999999999999", false, 0 },
        { "0x10000000000000000", false, 0 },
        { "17179869184G", false, 0 },
        { "16777216T", false, 0 },
        { "18014398509481984K", false, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned long long v = 12345;
        char *s = strdup(cases[i].s);
        bool ok = cmdline_parse_uint(s, &v);
        check_at(ok == cases[i].ok && (!ok || v == cases[i].v), __FILE__, __LINE__,
                 "parse_uint(\"%s\"): got %d %llu, want %d %llu", s, ok, v, cases[i].ok, cases[i].v);
        if (!ok)
            CHECK_EQ(v, 12345);     /* untouched on failure */
        free(s);
    }
    unsigned long long v;
    CHECK(!cmdline_parse_uint(NULL, &v));
}

static void test_parse_bool(void)
{
    static const char *const yes[] = { "on", "yes", "1", "true" }, *const no[] = { "off", "no", "0", "false" };
    static const char *const bad[] = { "", "ON", "True", "2", "onn", "of", "y", " on" };
    for (int i = 0; i < 4; i++) {
        bool b = false;
        CHECK(cmdline_parse_bool(yes[i], &b) && b);
        b = true;
        CHECK(cmdline_parse_bool(no[i], &b) && !b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool b = true;
        check_at(!cmdline_parse_bool(bad[i], &b) && b, __FILE__, __LINE__, "parse_bool(\"%s\")", bad[i]);
    }
}

/* ---- cmdline_apply_table ---------------------------------------------------- */

static bool opt_flag;
static unsigned long long opt_count;
static uint8_t opt_small;
static uint16_t opt_mid;
static uint32_t opt_word;
static int opt_mode;
static char opt_name[8];
static char opt_tail[24];
static const char *const modes[] = { "slow", "fast", "auto", NULL };
static unsigned opt_set;
static const char *const parts[] = { "red", "green", "blue", NULL };

static const struct cmdline_option table[] = {
    { .name = "flag", .kind = CMDLINE_KIND_BOOL, .target = &opt_flag, .size = sizeof(bool) },
    { .name = "count", .kind = CMDLINE_KIND_UINT, .target = &opt_count, .size = 8, .min = 1, .max = 1ull << 40 },
    /* max above what a uint8_t holds: the variable's range wins. */
    { .name = "small", .kind = CMDLINE_KIND_UINT, .target = &opt_small, .size = 1, .min = 0, .max = 1000 },
    { .name = "mid", .kind = CMDLINE_KIND_UINT, .target = &opt_mid, .size = 2, .min = 0, .max = 65535 },
    { .name = "word", .kind = CMDLINE_KIND_UINT, .target = &opt_word, .size = 4, .min = 0, .max = ~0ull },
    { .name = "mode", .kind = CMDLINE_KIND_ENUM, .target = &opt_mode, .size = sizeof(int), .choices = modes },
    { .name = "name", .kind = CMDLINE_KIND_STRING, .target = opt_name, .size = sizeof(opt_name) },
    { .name = "tail", .kind = CMDLINE_KIND_REST, .target = opt_tail, .size = sizeof(opt_tail) },
    { .name = "set", .kind = CMDLINE_KIND_LIST, .target = &opt_set, .size = sizeof(unsigned), .choices = parts },
};
#define NOPTS (sizeof(table) / sizeof(table[0]))

static void defaults(void)
{
    opt_flag = false;
    opt_count = 5;
    opt_small = 6;
    opt_mid = 7;
    opt_word = 8;
    opt_mode = 2;
    strcpy(opt_name, "dflt");
    strcpy(opt_tail, "");
    opt_set = 2;
}

static char report[4096];

static int apply(const char *line, int *warnings)
{
    defaults();
    return cmdline_apply_table(line, table, NOPTS, report, sizeof(report), warnings);
}

static void test_apply_good(void)
{
    int warn = -1;
    CHECK_EQ(apply("flag count=0x10 small=255 mid=64K-1 word=4G-1 mode=fast name=\"a b\"", &warn), 2);
    /* "64K-1" and "4G-1" are not numbers: those two keep their defaults. */
    CHECK_EQ(opt_mid, 7);
    CHECK_EQ(opt_word, 8);
    CHECK(opt_flag && opt_count == 16 && opt_small == 255 && opt_mode == 1 && !strcmp(opt_name, "a b"));
    CHECK_EQ(warn, 0);

    CHECK_EQ(apply("flag=off count=1 mid=65535 word=4294967295 mode=slow name=1234567", &warn), 0);
    CHECK(!opt_flag && opt_count == 1 && opt_mid == 65535 && opt_word == 4294967295u && opt_mode == 0 &&
          !strcmp(opt_name, "1234567"));
    CHECK_STR(report, "");
    CHECK_EQ(apply("count=1T", &warn), 1);
    CHECK_EQ(apply("count=1024G", &warn), 0);
    CHECK_EQ(opt_count, 1ull << 40);
    CHECK_EQ(apply("", &warn), 0);
    CHECK_EQ(warn, 0);
    CHECK(opt_count == 5 && opt_mode == 2 && !strcmp(opt_name, "dflt"));
    CHECK_EQ(apply("set=blue,red", &warn), 0);
    CHECK_EQ(opt_set, 5);
    CHECK_EQ(apply("set=all", &warn), 0);
    CHECK_EQ(opt_set, 7);
    CHECK_EQ(apply("set=none", &warn), 0);
    CHECK_EQ(opt_set, 0);
}

/* One bad word: the option keeps its default, one error, and the message
 * names the option and contains `accepts`. */
static void bad_value(const char *line, const char *option, const char *accepts)
{
    int warn = -1;
    int errors = apply(line, &warn);
    bool defaults_kept = !opt_flag && opt_count == 5 && opt_small == 6 && opt_mid == 7 && opt_word == 8 &&
                         opt_mode == 2 && !strcmp(opt_name, "dflt") && opt_set == 2;
    char quoted[64];
    snprintf(quoted, sizeof(quoted), "option '%s'", option);
    check_at(errors == 1 && warn == 0 && defaults_kept && strstr(report, quoted) && strstr(report, accepts) &&
                 !strncmp(report, "error: ", 7),
             __FILE__, __LINE__, "\"%s\": %d errors, %d warnings, defaults %s, report \"%s\"", line, errors,
             warn, defaults_kept ? "kept" : "changed", report);
}

static void test_apply_bad(void)
{
    bad_value("flag=maybe", "flag", "on|off");
    bad_value("flag=", "flag", "on|off");
    bad_value("count=0", "count", "a number from 1 to 1099511627776");
    bad_value("count=1099511627777", "count", "from 1 to 1099511627776");
    bad_value("count=-1", "count", "a number");
    bad_value("count=12abc", "count", "a number");
    bad_value("count=99999999999999999999", "count", "a number");
    bad_value("count", "count", "needs a value");
    bad_value("count=", "count", "a number");
    bad_value("small=256", "small", "a number from 0 to 255");
    bad_value("mid=65536", "mid", "from 0 to 65535");
    bad_value("word=4G", "word", "from 0 to 4294967295");
    bad_value("mode=medium", "mode", "slow|fast|auto");
    bad_value("mode", "mode", "slow|fast|auto");
    bad_value("mode=FAST", "mode", "slow|fast|auto");
    bad_value("name=12345678", "name", "a string of at most 7 characters");
    bad_value("name", "name", "a string");
    bad_value("name=\"unterminated", "name", "a string");
    char line[400] = "name=";
    memset(line + 5, 'x', 300);            /* longer than a word's value can hold */
    bad_value(line, "name", "a string");
    bad_value("set=red,gren", "set", "'gren' is none of them; it accepts a comma-separated list of red,green,blue, or all|off");
    bad_value("set=red,", "set", "an empty name");
    bad_value("set=", "set", "an empty name");
    bad_value("set", "set", "needs a value");
    /* A later bad value leaves the earlier good one in force. */
    int warn;
    CHECK_EQ(apply("count=9 count=0", &warn), 1);
    CHECK_EQ(opt_count, 9);
}

static void test_apply_warnings(void)
{
    int warn = -1;
    CHECK_EQ(apply("bogus=1 flag other", &warn), 0);
    CHECK_EQ(warn, 2);
    CHECK(opt_flag);
    CHECK(strstr(report, "warning: cmdline: unknown option 'bogus' ignored") != NULL);
    CHECK(strstr(report, "unknown option 'other'") != NULL);
    /* Errors and warnings together. */
    CHECK_EQ(apply("x count=0 mode=bad y=\"q r\" name=ok", &warn), 2);
    CHECK_EQ(warn, 2);
    CHECK_STR(opt_name, "ok");
    /* An overlong name is unknown (it cannot match once cut). */
    CHECK_EQ(apply("flagflagflagflagflagflagflagflagflag=1", &warn), 0);
    CHECK_EQ(warn, 1);
}

/* A REST option takes the raw rest of the line; words after it are not
 * options. */
static void test_apply_rest(void)
{
    int warn = -1;
    CHECK_EQ(apply("flag tail=prog a  \"b c\" count=3 \t ", &warn), 0);
    CHECK_STR(opt_tail, "prog a  \"b c\" count=3");
    CHECK(opt_flag && opt_count == 5 && warn == 0);
    CHECK_STR(report, "");
    CHECK_EQ(apply("  tail=x=1", &warn), 0);
    CHECK_STR(opt_tail, "x=1");
    /* Too long, or empty: an error, nothing set, still the last option read. */
    CHECK_EQ(apply("tail=0123456789012345678901234 flag", &warn), 1);
    CHECK(!opt_flag && !strcmp(opt_tail, ""));
    CHECK(strstr(report, "option 'tail'") && strstr(report, "the rest of the line, at most 23 characters"));
    CHECK_EQ(apply("tail=   flag", &warn), 0);
    CHECK_STR(opt_tail, "flag");
    CHECK_EQ(apply("tail= ", &warn), 1);
    /* Without '=' it is a bad word like any other, and reading goes on. */
    CHECK_EQ(apply("tail flag", &warn), 1);
    CHECK(opt_flag && !strcmp(opt_tail, ""));
    CHECK(strstr(report, "option 'tail' needs a value") != NULL);
}

static void test_report_buffer(void)
{
    /* Small report buffers: the messages are cut, always terminated, and
     * nothing is written past cap (the buffers are exactly cap bytes). */
    for (size_t cap = 0; cap < 200; cap++) {
        char *buf = malloc(cap ? cap : 1);
        int warn;
        defaults();
        int errors = cmdline_apply_table("zz count=0 mode=bad flag", table, NOPTS, buf, cap, &warn);
        bool ok = errors == 2 && warn == 1 && opt_flag;
        if (cap) {
            size_t n = strnlen(buf, cap);
            ok &= n < cap && !strncmp(buf, "warning: cmdline: unknown option 'zz'", n < 37 ? n : 37);
        }
        free(buf);
        if (!check_at(ok, __FILE__, __LINE__, "report buffer of %zu bytes", cap))
            break;
    }
}

int main(void)
{
    test_split();
    test_args();
    test_parse_uint();
    test_parse_bool();
    test_apply_good();
    test_apply_bad();
    test_apply_warnings();
    test_apply_rest();
    test_report_buffer();
    return check_summary("cmdline");
}
