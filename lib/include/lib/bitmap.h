/*
 * lib/bitmap.h - fixed-size bit arrays of unsigned long words.
 * Plain (non-atomic) operations; for bits shared between CPUs use the atomic
 * variants, which are full barriers (lock-prefixed RMW on x86).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define BITS_PER_LONG           64
#define BITS_TO_LONGS(n)        (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

static inline void bitmap_set_bit(unsigned long *map, unsigned bit)
{ map[bit / BITS_PER_LONG] |= 1ul << (bit % BITS_PER_LONG); }
static inline void bitmap_clear_bit(unsigned long *map, unsigned bit)
{ map[bit / BITS_PER_LONG] &= ~(1ul << (bit % BITS_PER_LONG)); }
static inline bool bitmap_test_bit(const unsigned long *map, unsigned bit)
{ return (map[bit / BITS_PER_LONG] >> (bit % BITS_PER_LONG)) & 1; }

/* Atomic: return the bit's previous value. */
static inline bool bitmap_test_and_set_bit_atomic(unsigned long *map, unsigned bit)
{
    unsigned long m = 1ul << (bit % BITS_PER_LONG);
    return __atomic_fetch_or(&map[bit / BITS_PER_LONG], m, __ATOMIC_SEQ_CST) & m;
}
static inline bool bitmap_test_and_clear_bit_atomic(unsigned long *map, unsigned bit)
{
    unsigned long m = 1ul << (bit % BITS_PER_LONG);
    return __atomic_fetch_and(&map[bit / BITS_PER_LONG], ~m, __ATOMIC_SEQ_CST) & m;
}
static inline bool bitmap_test_bit_atomic(const unsigned long *map, unsigned bit)
{ return (__atomic_load_n(&map[bit / BITS_PER_LONG], __ATOMIC_RELAXED) >> (bit % BITS_PER_LONG)) & 1; }

void bitmap_zero(unsigned long *map, unsigned nbits);
void bitmap_fill(unsigned long *map, unsigned nbits);
unsigned bitmap_weight(const unsigned long *map, unsigned nbits);
/* First set bit at or after `start`, or nbits if none. */
unsigned bitmap_find_next_set(const unsigned long *map, unsigned nbits, unsigned start);
unsigned bitmap_find_next_zero(const unsigned long *map, unsigned nbits, unsigned start);
bool bitmap_empty(const unsigned long *map, unsigned nbits);
bool bitmap_equal(const unsigned long *a, const unsigned long *b, unsigned nbits);
void bitmap_and(unsigned long *dst, const unsigned long *a, const unsigned long *b, unsigned nbits);
void bitmap_or(unsigned long *dst, const unsigned long *a, const unsigned long *b, unsigned nbits);
void bitmap_andnot(unsigned long *dst, const unsigned long *a, const unsigned long *b, unsigned nbits);
