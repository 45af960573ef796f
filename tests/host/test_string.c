/*
 * tests/host/test_string.c - lib/string.c against the host C library.
 * Buffers come from malloc at their exact size, so AddressSanitizer reports
 * any access one byte too far.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "klib.h"

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 3));
    return p;
}

/* Every length up to a few 64-byte blocks (the eight-word steps, then
 * words, then bytes), both ends aligned or not. */
static void test_memcpy_memset(void)
{
    static const size_t offsets[] = { 0, 1, 8 };
    for (size_t n = 0; n < 200; n++)
        for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++) {
            size_t off = offsets[o];
            unsigned char *src = pattern(n + off, 1), *a = pattern(n + off, 2), *b = pattern(n + off, 2);
            CHECK(klib_memcpy(a + off, src, n) == a + off);
            memcpy(b + off, src, n);
            CHECK(!memcmp(a, b, n + off));
            CHECK(klib_memset(a + off, 0x1a5, n) == a + off);     /* only the low byte counts */
            memset(b + off, 0xa5, n);
            CHECK(!memcmp(a, b, n + off));
            free(src), free(a), free(b);
        }
}

static void test_memmove(void)
{
    /* Every source/destination offset pair in a small buffer, every length:
     * overlapping forwards, backwards, and not at all. */
    enum { N = 24 };
    unsigned bad = 0, total = 0;
    for (size_t src = 0; src < N; src++)
        for (size_t dst = 0; dst < N; dst++)
            for (size_t len = 0; len + (src > dst ? src : dst) <= N; len++) {
                unsigned char *a = pattern(N, 3), *b = pattern(N, 3);
                void *r = klib_memmove(a + dst, a + src, len);
                memmove(b + dst, b + src, len);
                total++;
                if (r != a + dst || memcmp(a, b, N))
                    bad++;
                free(a), free(b);
            }
    check_at(bad == 0, __FILE__, __LINE__, "memmove: %u of %u moves wrong", bad, total);
    char s[] = "abcdef";
    klib_memmove(s + 1, s, 5);                  /* forward overlap */
    CHECK_STR(s, "aabcde");
    klib_memmove(s, s + 2, 4);                  /* backward overlap */
    CHECK_STR(s, "bcdede");
}

static void test_memcmp(void)
{
    const unsigned char x[] = { 1, 2, 0x80, 4 }, y[] = { 1, 2, 0x7f, 5 };
    CHECK_EQ(SIGN(klib_memcmp(x, y, 4)), 1);      /* bytes compare as unsigned */
    CHECK_EQ(SIGN(klib_memcmp(y, x, 4)), -1);
    CHECK_EQ(klib_memcmp(x, y, 2), 0);
    CHECK_EQ(klib_memcmp(x, y, 0), 0);
    for (size_t n = 0; n < 40; n++) {
        unsigned char *a = pattern(n, 4), *b = pattern(n, 4);
        CHECK_EQ(klib_memcmp(a, b, n), 0);
        if (n) {
            b[n - 1] ^= 0x90;
            CHECK_EQ(SIGN(klib_memcmp(a, b, n)), SIGN(memcmp(a, b, n)));
        }
        free(a), free(b);
    }
}

/* A heap copy of a string with no spare byte after its NUL. */
static char *exact(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    memcpy(p, s, n);
    return p;
}

static void test_strlen_strnlen(void)
{
    const char *cases[] = { "", "a", "hello", "0123456789012345678901234567890123456789" };
    for (size_t i = 0; i < 4; i++) {
        char *s = exact(cases[i]);
        CHECK_EQ(klib_strlen(s), strlen(s));
        for (size_t max = 0; max < strlen(s) + 3; max++)
            CHECK_EQ(klib_strnlen(s, max), strnlen(s, max));
        free(s);
    }
    char unterminated[4] = { 'a', 'b', 'c', 'd' };
    CHECK_EQ(klib_strnlen(unterminated, 4), 4);  /* never reads past max */
}

static void test_strcmp(void)
{
    static const char *const words[] = { "", "a", "ab", "abc", "abd", "b", "\x80", "\x7f", "A", "ab\xff" };
    for (size_t i = 0; i < 10; i++)
        for (size_t j = 0; j < 10; j++) {
            char *a = exact(words[i]), *b = exact(words[j]);
            CHECK_EQ(SIGN(klib_strcmp(a, b)), SIGN(strcmp(a, b)));
            for (size_t n = 0; n < 6; n++)
                CHECK_EQ(SIGN(klib_strncmp(a, b, n)), SIGN(strncmp(a, b, n)));
            free(a), free(b);
        }
    /* strncmp stops at n even if the strings differ later, and at a NUL. */
    CHECK_EQ(klib_strncmp("abcX", "abcY", 3), 0);
    CHECK_EQ(klib_strncmp("ab\0X", "ab\0Y", 10), 0);
    char a[3] = { 'x', 'y', 'z' }, b[3] = { 'x', 'y', 'z' };   /* no NUL at all */
    CHECK_EQ(klib_strncmp(a, b, 3), 0);
}

static void test_strchr(void)
{
    char *s = exact("hello, world");
    CHECK(klib_strchr(s, 'h') == s);
    CHECK(klib_strchr(s, 'o') == s + 4);
    CHECK(klib_strchr(s, 'z') == NULL);
    CHECK(klib_strchr(s, '\0') == s + strlen(s));   /* the terminator is part of the string */
    CHECK(klib_strchr(s, 'w' + 256) == s + 7);      /* c is converted to char, as in C */
    CHECK(klib_strchr(s, ',') == strchr(s, ','));
    free(s);
    char *empty = exact("");
    CHECK(klib_strchr(empty, 'a') == NULL);
    CHECK(klib_strchr(empty, 0) == empty);
    free(empty);
}

static void test_strstr(void)
{
    char *s = exact("shootdown: tlb shootdown");
    const char *needles[] = { "shoot", "down", "tlb", "n", "", "shootdown: tlb shootdown", "x", "downs" };
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        CHECK(klib_strstr(s, needles[i]) == strstr(s, needles[i]));
    free(s);
    char *empty = exact("");
    CHECK(klib_strstr(empty, "") == empty);
    CHECK(klib_strstr(empty, "a") == NULL);
    free(empty);
}

static void test_strlcpy(void)
{
    const char *src = "abcdef";
    for (size_t size = 0; size < 10; size++) {
        char *dst = malloc(size ? size : 1);
        memset(dst, 'Z', size ? size : 1);
        CHECK_EQ(klib_strlcpy(size ? dst : dst, src, size), 6);   /* strlen(src): truncation is visible */
        if (size == 0) {
            CHECK(dst[0] == 'Z');                   /* nothing written */
        } else {
            size_t n = size - 1 < 6 ? size - 1 : 6;
            CHECK(!memcmp(dst, src, n) && dst[n] == '\0');
        }
        free(dst);
    }
    char d[4];
    CHECK_EQ(klib_strlcpy(d, "", sizeof(d)), 0);
    CHECK_STR(d, "");
    CHECK_EQ(klib_strlcpy(d, "abc", sizeof(d)), 3);   /* exact fit */
    CHECK_STR(d, "abc");
    CHECK_EQ(klib_strlcpy(d, "abcd", sizeof(d)), 4);  /* one too long: truncated, ret >= size */
    CHECK_STR(d, "abc");
}

int main(void)
{
    test_memcpy_memset();
    test_memmove();
    test_memcmp();
    test_strlen_strnlen();
    test_strcmp();
    test_strchr();
    test_strstr();
    test_strlcpy();
    return check_summary("string");
}
