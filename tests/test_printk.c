/*
 * tests/test_printk.c - the kernel's snprintf with the formats kernel code
 * uses, and printk with messages longer than its buffer.
 * (tests/host/test_format.c checks lib/format.c far more widely on the host,
 * against the C library; this suite checks the same code as the kernel was
 * built: freestanding, no SSE, kernel code model, under gcc or clang.)
 */
#include "ktest_suite.h"
#include <lib/format.h>
#include <lib/string.h>

/* snprintf into a buffer and compare with `want`; also the return value. */
#define EXPECT_FORMAT(t, want, ...)                                             \
    do {                                                                       \
        char __buf[128];                                                       \
        int __n = snprintf(__buf, sizeof(__buf), __VA_ARGS__);                 \
        EXPECT_STREQ(t, __buf, want);                                          \
        EXPECT_EQ(t, __n, (int)strlen(want));                                  \
    } while (0)

static void test_integers(struct ktest *t)
{
    EXPECT_FORMAT(t, "0 42 -42", "%d %d %d", 0, 42, -42);
    EXPECT_FORMAT(t, "-2147483648 2147483647", "%d %i", (int)0x80000000u, 0x7fffffff);
    EXPECT_FORMAT(t, "4294967295", "%u", 0xffffffffu);
    EXPECT_FORMAT(t, "deadbeef DEADBEEF 777", "%x %X %o", 0xdeadbeefu, 0xdeadbeefu, 0777u);
    EXPECT_FORMAT(t, "ffffffffffffffff", "%lx", ~0ul);
    EXPECT_FORMAT(t, "-9223372036854775808", "%ld", (long)(-0x7fffffffffffffffl - 1));
    EXPECT_FORMAT(t, "18446744073709551615", "%llu", ~0ull);
    EXPECT_FORMAT(t, "4096 -1", "%zu %zd", (size_t)4096, (ptrdiff_t)-1);
    EXPECT_FORMAT(t, "-1 255", "%hhd %hhu", (signed char)-1, (unsigned char)255);
    EXPECT_FORMAT(t, "-1 65535", "%hd %hu", (short)-1, (unsigned short)65535);
}

static void test_width_and_padding(struct ktest *t)
{
    EXPECT_FORMAT(t, "[   42]", "[%5d]", 42);
    EXPECT_FORMAT(t, "[42   ]", "[%-5d]", 42);
    EXPECT_FORMAT(t, "[00042]", "[%05d]", 42);
    EXPECT_FORMAT(t, "[-0042]", "[%05d]", -42);
    EXPECT_FORMAT(t, "[0000beef]", "[%08x]", 0xbeefu);
    EXPECT_FORMAT(t, "[000000000000abcd]", "[%016lx]", 0xabcdul);
    EXPECT_FORMAT(t, "[+7] [ 7]", "[%+d] [% d]", 7, 7);
    EXPECT_FORMAT(t, "[0x1f] [0X1F] [017]", "[%#x] [%#X] [%#o]", 31u, 31u, 15u);
    EXPECT_FORMAT(t, "[  007]", "[%5.3d]", 7);
    EXPECT_FORMAT(t, "[    9]", "[%*d]", 5, 9);
    EXPECT_FORMAT(t, "[9    ]", "[%*d]", -5, 9);
    EXPECT_FORMAT(t, "[12345678]", "[%3d]", 12345678);   /* a width never cuts */
    EXPECT_FORMAT(t, "[    5.000100]", "[%5lu.%06lu]", 5ul, 100ul);  /* printk's own prefix */
}

static void test_strings_chars_pointers(struct ktest *t)
{
    const char *volatile null = NULL;     /* hidden from the compiler's format checks */
    EXPECT_FORMAT(t, "hello", "%s", "hello");
    EXPECT_FORMAT(t, "[   hi] [hi   ] [he]", "[%5s] [%-5s] [%.2s]", "hi", "hi", "hello");
    EXPECT_FORMAT(t, "(null)", "%s", null);
    EXPECT_FORMAT(t, "a b [  c]", "%c %c [%3c]", 'a', 'b', 'c');
    EXPECT_FORMAT(t, "100%", "%d%%", 100);
    EXPECT_FORMAT(t, "0xffffffff80001000", "%p", (void *)0xffffffff80001000ul);
    EXPECT_FORMAT(t, "0x0000000000000000", "%p", (void *)0);
    EXPECT_FORMAT(t, "cpu3: ok at 0x00000000000000ff", "cpu%u: %s at %p", 3u, "ok", (void *)0xff);
}

static void test_truncation(struct ktest *t)
{
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    EXPECT_EQ(t, snprintf(buf, 4, "%s", "abcdef"), 6);     /* the full length */
    EXPECT_STREQ(t, buf, "abc");
    EXPECT_EQ(t, buf[4], 'x');                              /* nothing past size */
    EXPECT_EQ(t, snprintf(buf, 0, "%d", 123), 3);
    EXPECT_EQ(t, buf[0], 'a');                              /* size 0: nothing written */
    EXPECT_EQ(t, snprintf(NULL, 0, "%lx", 0x12345ul), 5);
    EXPECT_EQ(t, snprintf(buf, 1, "abc"), 3);
    EXPECT_EQ(t, buf[0], '\0');
}

/* Call printk_format with a va_list, as printk does. */
static size_t __printf(3, 4) format_like_printk(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = printk_format(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

static char long_text[1500];

static void fill_long_text(void)
{
    for (size_t i = 0; i < sizeof(long_text) - 1; i++)
        long_text[i] = (char)('a' + i % 26);
    long_text[sizeof(long_text) - 1] = '\0';
}

static void test_printk_format_cuts_long_messages(struct ktest *t)
{
    /* 64 bytes handed to printk_format and 16 guard bytes after them. */
    char area[80];
    const size_t cap = 64, mark = sizeof(PRINTK_CUT_MARK) - 1;
    fill_long_text();

    memset(area, '#', sizeof(area));
    EXPECT_EQ(t, format_like_printk(area, cap, "short %d\n", 1), 8u);
    EXPECT_STREQ(t, area, "short 1\n");

    memset(area, '#', sizeof(area));
    size_t n = format_like_printk(area, cap, "long: %s\n", long_text);
    EXPECT_EQ(t, n, cap - 1);
    EXPECT_EQ(t, strlen(area), cap - 1);
    EXPECT_TRUE(t, !strncmp(area, "long: abcdef", 12));
    EXPECT_STREQ(t, area + cap - 1 - mark, PRINTK_CUT_MARK);   /* ends its line */
    for (size_t i = cap; i < sizeof(area); i++)
        EXPECT_EQ(t, area[i], '#');

    /* Exactly cap-1 characters fit without a cut. */
    memset(area, '#', sizeof(area));
    n = format_like_printk(area, cap, "%.*s", (int)(cap - 1), long_text);
    EXPECT_EQ(t, n, cap - 1);
    EXPECT_EQ(t, area[cap - 2], long_text[cap - 2]);
    /* One more is cut. */
    n = format_like_printk(area, cap, "%.*s", (int)cap, long_text);
    EXPECT_STREQ(t, area + cap - 1 - mark, PRINTK_CUT_MARK);
    /* Buffers too small for the mark are just cut, and stay terminated. */
    memset(area, '#', sizeof(area));
    EXPECT_EQ(t, format_like_printk(area, 4, "%s", long_text), 3u);
    EXPECT_STREQ(t, area, "abc");
    EXPECT_EQ(t, area[4], '#');
    EXPECT_EQ(t, format_like_printk(area, 0, "%s", long_text), 0u);
}

static void test_printk_long_message(struct ktest *t)
{
    /* Guards on both sides of a local array: printk's buffer sits in a
     * frame below this one, so an overflow there would run up into ours. */
    volatile uint64_t guard_lo = 0x5a5a5a5a5a5a5a5aull;
    char between[32];
    volatile uint64_t guard_hi = 0xa5a5a5a5a5a5a5a5ull;
    memset(between, 0x3c, sizeof(between));
    fill_long_text();

    /* Each of these is longer than PRINTK_MSG_MAX; they print one cut line
     * each, as KTAP diagnostics ("# ...") so test output parsers skip them. */
    printk_raw("        # long message (cut expected): %s\n", long_text);
    printk_raw("        # long field (cut expected): %1000d\n", 1);
    printk("# long printk line (cut expected): %.700s\n", long_text);
    printk("# after the long line: still working\n");

    EXPECT_EQ(t, guard_lo, 0x5a5a5a5a5a5a5a5aull);
    EXPECT_EQ(t, guard_hi, 0xa5a5a5a5a5a5a5a5ull);
    for (size_t i = 0; i < sizeof(between); i++)
        EXPECT_EQ(t, between[i], 0x3c);
}

static const struct ktest_case printk_cases[] = {
    KTEST_CASE(test_integers),
    KTEST_CASE(test_width_and_padding),
    KTEST_CASE(test_strings_chars_pointers),
    KTEST_CASE(test_truncation),
    KTEST_CASE(test_printk_format_cuts_long_messages),
    KTEST_CASE(test_printk_long_message),
    {0},
};
KTEST_SUITE(printk, printk_cases);
