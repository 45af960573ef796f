/*
 * tests/mb2_build.h - build multiboot2 information structures in memory, for
 * the parser's tests: the in-kernel suite (tests/test_multiboot2.c) and the
 * host unit tests (tests/host/test_multiboot2.c) share it.
 *
 * The builder writes well-formed structures; a test makes one malformed by
 * editing the bytes afterwards (a size, a missing NUL...).  Layout as in the
 * spec (Multiboot2 3.6): u32 total_size, u32 reserved, then tags, each u32
 * type, u32 size, payload, padded to 8 bytes; an end tag (0, 8) last.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kernel/multiboot2.h>   /* the tag types */
#if __STDC_HOSTED__
#include <string.h>
#else
#include <lib/string.h>
#endif

struct mb2_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;      /* something did not fit in cap: the structure is unusable */
};

static inline void mb2_put32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void mb2_put64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t mb2_get32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* buf must be 8-byte aligned, as a boot loader would give it. */
static inline void mb2_begin(struct mb2_builder *b, void *buf, size_t cap)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 8;
    b->overflow = cap < 8;
    if (!b->overflow)
        memset(buf, 0, cap);
}

/* Append a tag of `size` bytes (header included) with a zeroed payload;
 * returns the tag's start, or NULL if it does not fit. */
static inline uint8_t *mb2_tag(struct mb2_builder *b, uint32_t type, uint32_t size)
{
    size_t padded = (size + 7u) & ~(size_t)7;
    if (b->overflow || size < 8 || padded > b->cap - b->len) {
        b->overflow = true;
        return NULL;
    }
    uint8_t *t = b->buf + b->len;
    mb2_put32(t, type);
    mb2_put32(t + 4, size);
    b->len += padded;
    return t;
}

static inline uint8_t *mb2_string(struct mb2_builder *b, uint32_t type, const char *s)
{
    size_t n = strlen(s) + 1;
    uint8_t *t = mb2_tag(b, type, (uint32_t)(8 + n));
    if (t)
        memcpy(t + 8, s, n);
    return t;
}

static inline uint8_t *mb2_module(struct mb2_builder *b, uint32_t start, uint32_t end, const char *s)
{
    size_t n = strlen(s) + 1;
    uint8_t *t = mb2_tag(b, MB2_TAG_MODULE, (uint32_t)(16 + n));
    if (t) {
        mb2_put32(t + 8, start);
        mb2_put32(t + 12, end);
        memcpy(t + 16, s, n);
    }
    return t;
}

struct mb2_mmap_entry {
    uint64_t base, length;
    uint32_t type;
};

/* A memory map tag with entries of `esize` bytes (24 in practice). */
static inline uint8_t *mb2_mmap(struct mb2_builder *b, const struct mb2_mmap_entry *e, size_t n,
                                uint32_t esize)
{
    uint8_t *t = mb2_tag(b, MB2_TAG_MMAP, (uint32_t)(16 + n * esize));
    if (!t)
        return NULL;
    mb2_put32(t + 8, esize);
    mb2_put32(t + 12, 0);                  /* entry_version */
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = t + 16 + i * esize;
        mb2_put64(p, e[i].base);
        mb2_put64(p + 8, e[i].length);
        mb2_put32(p + 16, e[i].type);
    }
    return t;
}

/* An RSDP copy: `len` bytes (20 for ACPI 1.0, 36 for 2.0) filled with `seed`+i. */
static inline uint8_t *mb2_acpi(struct mb2_builder *b, uint32_t type, size_t len, uint8_t seed)
{
    uint8_t *t = mb2_tag(b, type, (uint32_t)(8 + len));
    if (t)
        for (size_t i = 0; i < len; i++)
            t[8 + i] = (uint8_t)(seed + i);
    return t;
}

/* Append the end tag and write total_size; returns the total size (0 if the
 * buffer was too small). */
static inline size_t mb2_finish(struct mb2_builder *b)
{
    if (!mb2_tag(b, MB2_TAG_END, 8))
        return 0;
    mb2_put32(b->buf, (uint32_t)b->len);
    return b->len;
}
