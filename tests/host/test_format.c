/*
 * tests/host/test_format.c - lib/format.c against the host's snprintf where
 * the kernel means to behave like C99, and against expected strings where it
 * deliberately differs (%p, NULL %s, unknown conversions, field limits).
 *
 * A generated sweep (every flag set x width x precision x length modifier x
 * value of one conversion) counts as one check, and reports its first few
 * mismatches.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/types.h>
#include "check.h"
#include "klib.h"

/*
 * Format with both implementations and compare the text and the return
 * value; then format again into exactly-sized heap buffers of every size
 * from 0 to the full length + 1, so AddressSanitizer sees any write past
 * `size`, and check each result is the NUL-terminated prefix.
 */
static void __attribute__((format(printf, 3, 4))) same_as_host(const char *file, int line, const char *fmt, ...)
{
    static char want[8192], got[8192];
    va_list ap, aq;

    va_start(ap, fmt);
    va_copy(aq, ap);
    int wn = vsnprintf(want, sizeof(want), fmt, ap);
    int gn = klib_vsnprintf(got, sizeof(got), fmt, aq);
    va_end(aq);
    va_end(ap);
    if (!check_at(wn >= 0 && (size_t)wn < sizeof(want), file, line, "format \"%s\" too long for the test", fmt))
        return;
    if (!check_at(wn == gn && !memcmp(want, got, (size_t)wn + 1), file, line,
                  "format \"%s\": host \"%s\" (%d), kernel \"%s\" (%d)", fmt, want, wn, got, gn))
        return;

    bool ok = true;
    for (size_t size = 0; size <= (size_t)wn + 1 && ok; size++) {
        if (size == 100 && (size_t)wn > 200)
            size = (size_t)wn - 2;      /* long outputs: the start and the end suffice */
        char *b = malloc(size ? size : 1);
        va_start(ap, fmt);
        int n = klib_vsnprintf(size ? b : NULL, size, fmt, ap);
        va_end(ap);
        ok = n == wn;
        if (size) {
            size_t keep = size - 1 < (size_t)wn ? size - 1 : (size_t)wn;
            ok = ok && !memcmp(b, want, keep) && b[keep] == '\0';
        }
        free(b);
        if (!ok)
            check_at(false, file, line, "format \"%s\" truncated to size %zu is wrong", fmt, size);
    }
    if (ok)
        check_at(true, file, line, "truncation");
}
#define SAME(...) same_as_host(__FILE__, __LINE__, __VA_ARGS__)
/* The same without the compiler's format checking, for cases the compiler
 * rightly questions but C defines (an int passed for %hhd is converted). */
static void (*const same_unchecked)(const char *, int, const char *, ...) = same_as_host;
#define SAME_UNCHECKED(...) same_unchecked(__FILE__, __LINE__, __VA_ARGS__)
/* The kernel's snprintf, unchecked, for formats that are wrong on purpose. */
static int (*volatile raw_snprintf)(char *, size_t, const char *, ...) = klib_snprintf;

/* The kernel's result must be exactly `want`, returning strlen(want). */
static void __attribute__((format(printf, 4, 5))) expect_fmt(const char *file, int line, const char *want,
                                                           const char *fmt, ...)
{
    char got[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = klib_vsnprintf(got, sizeof(got), fmt, ap);
    va_end(ap);
    check_at(n == (int)strlen(want) && !strcmp(got, want), file, line,
             "format \"%s\": want \"%s\" (%zu), kernel \"%s\" (%d)", fmt, want, strlen(want), got, n);
}
#define EXPECT_FMT(want, ...) expect_fmt(__FILE__, __LINE__, want, __VA_ARGS__)

/* ---- the generated sweep -------------------------------------------------- */

static const char *const flag_sets[] = {
    "", "-", "0", "+", " ", "#", "-0", "-+", "- ", "-#", "0+", "0 ", "0#", "+ ", "+#", " #",
    "-0+", "-0 ", "-0#", "-+ ", "-+#", "- #", "0+ ", "0+#", "0 #", "+ #", "-0+ ", "-0+#", "-0 #",
    "-+ #", "0+ #", "-0+ #",
};
static const char *const widths[] = { "", "1", "2", "8", "21", "*" };
static const char *const precs[] = { "", ".", ".0", ".1", ".5", ".22", ".*" };
static const char *const lengths[] = { "hh", "h", "", "l", "ll", "z", "t", "j" };
static const long long values[] = {
    0, 1, -1, 7, 8, 9, 10, 15, 16, 127, 128, -128, -129, 200, 255, 256, 32767, -32768, 65535, 65536,
    INT_MAX, INT_MIN, UINT_MAX, 0x123456789abcdefLL, INT64_MAX, INT64_MIN, -42,
};

/* Pass `v` as the type the length modifier and conversion call for. */
static int call(int (*fn)(char *, size_t, const char *, va_list), char *buf, size_t size,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fn(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static int run_one(int (*fn)(char *, size_t, const char *, va_list), char *buf, size_t size,
                   const char *fmt, const char *len, bool is_signed, bool star_w, bool star_p,
                   long long v)
{
    /* '*' arguments come first; a negative width means left adjustment. */
    int w = -7, p = 3;
#define CALL(T)                                                                \
    (star_w && star_p ? call(fn, buf, size, fmt, w, p, (T)v)                   \
     : star_w         ? call(fn, buf, size, fmt, w, (T)v)                      \
     : star_p         ? call(fn, buf, size, fmt, p, (T)v)                      \
                      : call(fn, buf, size, fmt, (T)v))
    if (!strcmp(len, "l"))
        return is_signed ? CALL(long) : CALL(unsigned long);
    if (!strcmp(len, "ll"))
        return is_signed ? CALL(long long) : CALL(unsigned long long);
    if (!strcmp(len, "z"))
        return is_signed ? CALL(ssize_t) : CALL(size_t);
    if (!strcmp(len, "t"))
        return is_signed ? CALL(ptrdiff_t) : CALL(size_t);
    if (!strcmp(len, "j"))
        return is_signed ? CALL(intmax_t) : CALL(uintmax_t);
    /* hh, h and none all take a promoted int. */
    return is_signed ? CALL(int) : CALL(unsigned int);
#undef CALL
}

static void sweep_integer(char conv)
{
    bool is_signed = conv == 'd' || conv == 'i';
    for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++) {
        unsigned bad = 0, total = 0;
        for (size_t fi = 0; fi < sizeof(flag_sets) / sizeof(flag_sets[0]); fi++) {
            /* C leaves '#' undefined for d, i and u. */
            if (strchr(flag_sets[fi], '#') && (is_signed || conv == 'u'))
                continue;
            for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
                for (size_t pi = 0; pi < sizeof(precs) / sizeof(precs[0]); pi++) {
                    char fmt[32];
                    snprintf(fmt, sizeof(fmt), "[%%%s%s%s%s%c]", flag_sets[fi], widths[wi], precs[pi],
                             lengths[li], conv);
                    bool sw = widths[wi][0] == '*', sp = !strcmp(precs[pi], ".*");
                    for (size_t vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
                        char want[256], got[256];
                        int wn = run_one(vsnprintf, want, sizeof(want), fmt, lengths[li], is_signed, sw, sp,
                                         values[vi]);
                        int gn = run_one(klib_vsnprintf, got, sizeof(got), fmt, lengths[li], is_signed, sw,
                                         sp, values[vi]);
                        total++;
                        if (wn != gn || strcmp(want, got)) {
                            if (bad++ < 5)
                                printf("  mismatch: format \"%s\" value %lld: host \"%s\" (%d), kernel \"%s\" (%d)\n",
                                       fmt, values[vi], want, wn, got, gn);
                        }
                    }
                }
        }
        check_at(bad == 0, __FILE__, __LINE__, "%%%s%c sweep: %u of %u formats differ from the host",
                 lengths[li], conv, bad, total);
    }
}

static void sweep_strings(void)
{
    static const char *const strs[] = { "", "a", "hello", "a longer string of text" };
    static const char *const sflags[] = { "", "-" };
    unsigned bad = 0, total = 0;
    for (size_t fi = 0; fi < 2; fi++)
        for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
            for (size_t pi = 0; pi < sizeof(precs) / sizeof(precs[0]); pi++)
                for (size_t si = 0; si < 4; si++) {
                    char fmt[32], want[128], got[128];
                    snprintf(fmt, sizeof(fmt), "<%%%s%s%ss>", sflags[fi], widths[wi], precs[pi]);
                    bool sw = widths[wi][0] == '*', sp = !strcmp(precs[pi], ".*");
                    int wn, gn;
#define S(fn, b) (sw && sp ? call(fn, b, sizeof(b), fmt, -9, 2, strs[si])                \
                  : sw     ? call(fn, b, sizeof(b), fmt, 9, strs[si])                    \
                  : sp     ? call(fn, b, sizeof(b), fmt, 4, strs[si])                    \
                           : call(fn, b, sizeof(b), fmt, strs[si]))
                    wn = S(vsnprintf, want);
                    gn = S(klib_vsnprintf, got);
#undef S
                    total++;
                    if (wn != gn || strcmp(want, got)) {
                        if (bad++ < 5)
                            printf("  mismatch: format \"%s\" \"%s\": host \"%s\", kernel \"%s\"\n", fmt,
                                   strs[si], want, got);
                    }
                }
    check_at(bad == 0, __FILE__, __LINE__, "%%s sweep: %u of %u formats differ", bad, total);
}

/* ---- hand-written cases ---------------------------------------------------- */

static void test_basic_conversions(void)
{
    SAME("plain text");
    SAME("%s", "");
    SAME("%d %i %u", 42, -42, 42u);
    SAME("%x %X %o", 0xbeefu, 0xbeefu, 0777u);
    SAME("%s|%c|%%", "str", 'c');
    SAME("%d", INT_MIN);
    SAME("%lld", (long long)INT64_MIN);
    SAME("%lld %llu", (long long)INT64_MAX, (unsigned long long)UINT64_MAX);
    SAME("%ld %lx", (long)INT64_MIN, (unsigned long)UINT64_MAX);
    SAME("%+lld", (long long)INT64_MIN);
    SAME("%030lld", (long long)INT64_MIN);
    SAME("%zu %zd %zx", (size_t)SIZE_MAX, (ssize_t)-5, (size_t)4096);
    SAME("%td %tx", (ptrdiff_t)-1, (ptrdiff_t)255);
    SAME_UNCHECKED("%hhd %hhu %hhx", 200, 300, 0x1ff);
    SAME_UNCHECKED("%hd %hu %hx", 40000, 70000, 0x12345);
    SAME("%5d|%-5d|%05d", 42, 42, 42);
    SAME("%+d % d %+d % d", 5, 5, -5, -5);
    SAME("%#x %#X %#o %#x %#o", 255u, 255u, 8u, 0u, 0u);
    SAME("%#.0o %#.0x %.0d %.0u", 0u, 0u, 0, 0u);
    SAME("%#.5o %#.1o %#.2o %#8.5o %#-8o|", 8u, 8u, 8u, 8u, 8u);
    SAME("%#010x %#-10x| %#10.4x", 255u, 255u, 255u);
    SAME_UNCHECKED("%08.3d %-8.3d| %.10d", 7, 7, -7);   /* '0' ignored with a precision */
    SAME("%*d|%-*d|%*d", 6, 1, 6, 2, -6, 3);
    SAME("%.*d|%.*d|%.*s|%.*s", 4, 1, -1, 2, 2, "abc", -3, "abc");
    SAME("%*.*d", 8, 5, -12);
    SAME("%c%c%c", 'a', 'b', 'c');
    SAME("%5c|%-5c|", 'x', 'y');
    SAME("%10s|%-10s|%.2s|%10.2s|", "right", "left", "trunc", "both");
    SAME("%s%s%s", "", "", "");
    SAME("%d%%", 100);
    SAME("%i", -0);
    SAME("a%db%sc%xd%ce", 1, "two", 3u, '4');
}

static void test_kernel_specific(void)
{
    /* %p: always 0x and 16 digits, so columns of addresses line up. */
    EXPECT_FMT("0x0000000000000000", "%p", (void *)0);
    EXPECT_FMT("0xffffffff80001234", "%p", (void *)0xffffffff80001234ul);
    EXPECT_FMT("  0x00000000000000ab", "%20p", (void *)0xab);
    EXPECT_FMT("0x00000000000000ab  |", "%-20p|", (void *)0xab);
    char pbuf[32];
    CHECK_EQ(raw_snprintf(pbuf, sizeof(pbuf), "%020p", (void *)0xab), 20);   /* '0' does not apply to %p */
    CHECK_STR(pbuf, "  0x00000000000000ab");
    /* NULL strings. */
    const char *volatile null = NULL;
    EXPECT_FMT("(null)", "%s", null);
    EXPECT_FMT("    (null)", "%10s", null);
    EXPECT_FMT("(nu", "%.3s", null);
    /* Unknown conversions and a '%' at the end print what was written. */
    char buf[64];
    CHECK_EQ(raw_snprintf(buf, sizeof(buf), "%q %5w"), 5);
    CHECK_STR(buf, "%q %w");
    CHECK_EQ(raw_snprintf(buf, sizeof(buf), "abc%"), 3);
    CHECK_STR(buf, "abc");
    CHECK_EQ(raw_snprintf(buf, sizeof(buf), "abc%-08."), 3);
    CHECK_STR(buf, "abc");
}

static void test_nul_char(void)
{
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    /* A NUL from %c counts as a character and lands in the buffer. */
    CHECK_EQ(klib_snprintf(buf, sizeof(buf), "a%cb", 0), 3);
    CHECK(buf[0] == 'a' && buf[1] == '\0' && buf[2] == 'b' && buf[3] == '\0');
    CHECK_EQ(klib_snprintf(buf, sizeof(buf), "%3c|", 0), 4);
    CHECK(buf[0] == ' ' && buf[1] == ' ' && buf[2] == '\0' && buf[3] == '|');
    CHECK_EQ(klib_snprintf(buf, sizeof(buf), "%-3c|", 0), 4);
    CHECK(buf[0] == '\0' && buf[1] == ' ' && buf[2] == ' ' && buf[3] == '|');
}

static void test_truncation(void)
{
    char buf[8];
    /* The return value is the untruncated length; the buffer always ends in NUL. */
    CHECK_EQ(klib_snprintf(buf, 4, "%s", "abcdef"), 6);
    CHECK_STR(buf, "abc");
    CHECK_EQ(klib_snprintf(buf, 1, "%d", 12345), 5);
    CHECK_STR(buf, "");
    memset(buf, 'z', sizeof(buf));
    CHECK_EQ(klib_snprintf(buf, 0, "%d", 12345), 5);
    CHECK(buf[0] == 'z');                        /* size 0 writes nothing */
    CHECK_EQ(klib_snprintf(NULL, 0, "%s%d", "abc", 10), 5);
    CHECK_EQ(klib_snprintf(buf, 6, "%05d", 123), 5);   /* exact fit */
    CHECK_STR(buf, "00123");
}

static void test_field_limits(void)
{
    static char big[FORMAT_MAX_FIELD + 64];
    char small[16];
    /* Widths and precisions saturate at FORMAT_MAX_FIELD instead of
     * overflowing an int (UBSan would stop us if they did). */
    CHECK_EQ(raw_snprintf(small, sizeof(small), "%99999999999999999999d", 1), FORMAT_MAX_FIELD);
    CHECK_EQ(raw_snprintf(small, sizeof(small), "%.99999999999999999999d", 1), FORMAT_MAX_FIELD);
    CHECK_STR(small, "000000000000000");
    CHECK_EQ(raw_snprintf(big, sizeof(big), "%*d", INT_MIN, 5), FORMAT_MAX_FIELD);
    CHECK(big[0] == '5' && big[1] == ' ' && big[FORMAT_MAX_FIELD - 1] == ' ' && big[FORMAT_MAX_FIELD] == 0);
    CHECK_EQ(raw_snprintf(big, sizeof(big), "%*d", INT_MAX, 5), FORMAT_MAX_FIELD);
    CHECK_EQ(raw_snprintf(small, sizeof(small), "%.*d", INT_MAX, 5), FORMAT_MAX_FIELD);
    CHECK_EQ(raw_snprintf(small, sizeof(small), "%.*d", INT_MIN, 5), 1);   /* negative: as if omitted */
    CHECK_STR(small, "5");
    /* Up to the limit the kernel agrees with C. */
    SAME("%4096d|", 3);
    SAME("%-100.50d|", -3);
}

int main(void)
{
    test_basic_conversions();
    test_kernel_specific();
    test_nul_char();
    test_truncation();
    test_field_limits();
    for (const char *c = "diuxXo"; *c; c++)
        sweep_integer(*c);
    sweep_strings();
    return check_summary("format");
}
