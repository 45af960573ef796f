/* lib/bitmap.c - see lib/bitmap.h.  Bits past nbits in the last word are
 * kept zero by every operation that writes whole words. */
#include <lib/bitmap.h>

static unsigned long last_word_mask(unsigned nbits)
{
    unsigned r = nbits % BITS_PER_LONG;
    return r ? (1ul << r) - 1 : ~0ul;
}

void bitmap_zero(unsigned long *map, unsigned nbits)
{
    for (unsigned i = 0; i < BITS_TO_LONGS(nbits); i++)
        map[i] = 0;
}

void bitmap_fill(unsigned long *map, unsigned nbits)
{
    unsigned n = BITS_TO_LONGS(nbits);
    for (unsigned i = 0; i < n; i++)
        map[i] = ~0ul;
    if (n)
        map[n - 1] &= last_word_mask(nbits);
}

unsigned bitmap_weight(const unsigned long *map, unsigned nbits)
{
    unsigned w = 0, n = BITS_TO_LONGS(nbits);
    for (unsigned i = 0; i < n; i++) {
        unsigned long v = map[i];
        if (i == n - 1)
            v &= last_word_mask(nbits);
        /* Count without popcnt: not every CPU (or emulator) has it. */
        while (v) {
            v &= v - 1;
            w++;
        }
    }
    return w;
}

static unsigned find_next(const unsigned long *map, unsigned nbits, unsigned start, unsigned long invert)
{
    while (start < nbits) {
        unsigned long v = (map[start / BITS_PER_LONG] ^ invert) >> (start % BITS_PER_LONG);
        if (v) {
            unsigned bit = start + (unsigned)__builtin_ctzl(v);
            return bit < nbits ? bit : nbits;
        }
        start = (start / BITS_PER_LONG + 1) * BITS_PER_LONG;
    }
    return nbits;
}

unsigned bitmap_find_next_set(const unsigned long *map, unsigned nbits, unsigned start)
{
    return find_next(map, nbits, start, 0);
}

unsigned bitmap_find_next_zero(const unsigned long *map, unsigned nbits, unsigned start)
{
    return find_next(map, nbits, start, ~0ul);
}

bool bitmap_empty(const unsigned long *map, unsigned nbits)
{
    return bitmap_find_next_set(map, nbits, 0) == nbits;
}

bool bitmap_equal(const unsigned long *a, const unsigned long *b, unsigned nbits)
{
    unsigned n = BITS_TO_LONGS(nbits);
    for (unsigned i = 0; i < n; i++) {
        unsigned long m = i == n - 1 ? last_word_mask(nbits) : ~0ul;
        if ((a[i] ^ b[i]) & m)
            return false;
    }
    return true;
}

void bitmap_and(unsigned long *dst, const unsigned long *a, const unsigned long *b, unsigned nbits)
{
    for (unsigned i = 0; i < BITS_TO_LONGS(nbits); i++)
        dst[i] = a[i] & b[i];
}

void bitmap_or(unsigned long *dst, const unsigned long *a, const unsigned long *b, unsigned nbits)
{
    for (unsigned i = 0; i < BITS_TO_LONGS(nbits); i++)
        dst[i] = a[i] | b[i];
}

void bitmap_andnot(unsigned long *dst, const unsigned long *a, const unsigned long *b, unsigned nbits)
{
    for (unsigned i = 0; i < BITS_TO_LONGS(nbits); i++)
        dst[i] = a[i] & ~b[i];
}
