/* lib/string.c - simple implementations: obviously correct matters more
 * here than speed.  The one exception: memcpy and memset go a word at a
 * time when both ends are 8-byte aligned, eight words per step where they
 * can, because their big callers are whole pages - a copy-on-write copy,
 * every zeroed frame and page table - and a byte loop made those the
 * largest part of a fork (user/bench.c's fork benchmark: 4096 byte steps
 * per page copied or zeroed).  Eight words a step halve the instructions
 * of a page copy again (no compare and branch after every word), which an
 * emulator pays for one by one. */
#include <lib/string.h>
#include <stdbool.h>
#include <stdint.h>

/* A word that may alias any object (the bytes of whatever is copied). */
typedef uint64_t __attribute__((may_alias)) string_word_t;

static bool both_aligned(const void *a, const void *b)
{
    return (((uintptr_t)a | (uintptr_t)b) & (sizeof(string_word_t) - 1)) == 0;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (both_aligned(d, s)) {
        for (; n >= 8 * sizeof(string_word_t); n -= 8 * sizeof(string_word_t)) {
            const string_word_t *sw = (const string_word_t *)s;
            string_word_t *dw = (string_word_t *)d;
            string_word_t w0 = sw[0], w1 = sw[1], w2 = sw[2], w3 = sw[3];
            string_word_t w4 = sw[4], w5 = sw[5], w6 = sw[6], w7 = sw[7];
            dw[0] = w0; dw[1] = w1; dw[2] = w2; dw[3] = w3;
            dw[4] = w4; dw[5] = w5; dw[6] = w6; dw[7] = w7;
            d += 8 * sizeof(string_word_t);
            s += 8 * sizeof(string_word_t);
        }
        for (; n >= sizeof(string_word_t); n -= sizeof(string_word_t)) {
            *(string_word_t *)d = *(const string_word_t *)s;
            d += sizeof(string_word_t);
            s += sizeof(string_word_t);
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    if (both_aligned(d, d)) {
        string_word_t w = 0x0101010101010101ull * (unsigned char)c;
        for (; n >= 8 * sizeof(string_word_t); n -= 8 * sizeof(string_word_t)) {
            string_word_t *dw = (string_word_t *)d;
            dw[0] = w; dw[1] = w; dw[2] = w; dw[3] = w;
            dw[4] = w; dw[5] = w; dw[6] = w; dw[7] = w;
            d += 8 * sizeof(string_word_t);
        }
        for (; n >= sizeof(string_word_t); n -= sizeof(string_word_t)) {
            *(string_word_t *)d = w;
            d += sizeof(string_word_t);
        }
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strstr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncmp(hay, needle, n))
            return (char *)hay;
    return n ? NULL : (char *)hay;
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}
