/*
 * tests/host/test_bitmap.c - lib/bitmap.c and kernel/cpumask.h against a
 * plain bool-array model.  Bitmaps live in exactly-sized heap arrays, so a
 * read of the word after the last one is an AddressSanitizer report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "klib.h"
#include <lib/bitmap.h>
#include <kernel/cpumask.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned long *alloc_map(unsigned nbits)
{
    size_t words = BITS_TO_LONGS(nbits);
    return calloc(words ? words : 1, sizeof(unsigned long));
}

/* Bits past nbits in the last word must be zero. */
static bool tail_clear(const unsigned long *map, unsigned nbits)
{
    if (nbits % BITS_PER_LONG == 0)
        return true;
    return !(map[nbits / BITS_PER_LONG] >> (nbits % BITS_PER_LONG));
}

/* Fill map and model with a random pattern of the given density (0..8 of 8). */
static void random_fill(unsigned long *map, bool *model, unsigned nbits, unsigned density)
{
    bitmap_zero(map, nbits);
    for (unsigned i = 0; i < nbits; i++) {
        model[i] = (next_random() & 7) < density;
        if (model[i])
            bitmap_set_bit(map, i);
    }
}

static const unsigned sizes[] = { 1, 2, 63, 64, 65, 100, 127, 128, 129, 191, 192, 200, 256, 257 };

static void test_set_clear_test(void)
{
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        unsigned nbits = sizes[si];
        unsigned long *map = alloc_map(nbits);
        bool ok = true;
        for (unsigned i = 0; i < nbits; i++) {
            bitmap_set_bit(map, i);
            ok &= bitmap_test_bit(map, i) && bitmap_weight(map, nbits) == 1;
            ok &= bitmap_find_next_set(map, nbits, 0) == i;
            bitmap_clear_bit(map, i);
            ok &= !bitmap_test_bit(map, i) && bitmap_empty(map, nbits);
        }
        check_at(ok, __FILE__, __LINE__, "single bits in a %u-bit map", nbits);
        free(map);
    }
    unsigned long m[2] = { 0, 0 };
    CHECK(!bitmap_test_and_set_bit_atomic(m, 70));
    CHECK(bitmap_test_and_set_bit_atomic(m, 70));
    CHECK(bitmap_test_bit_atomic(m, 70) && m[1] == 1ul << 6);
    CHECK(bitmap_test_and_clear_bit_atomic(m, 70));
    CHECK(!bitmap_test_and_clear_bit_atomic(m, 70));
    CHECK(m[0] == 0 && m[1] == 0);
}

static void test_fill_zero_weight(void)
{
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        unsigned nbits = sizes[si];
        unsigned long *map = alloc_map(nbits);
        bitmap_fill(map, nbits);
        check_at(tail_clear(map, nbits), __FILE__, __LINE__, "fill(%u) sets bits past nbits", nbits);
        CHECK_EQ(bitmap_weight(map, nbits), nbits);
        CHECK_EQ(bitmap_find_next_zero(map, nbits, 0), nbits);
        CHECK(!bitmap_empty(map, nbits));
        bitmap_zero(map, nbits);
        CHECK_EQ(bitmap_weight(map, nbits), 0);
        CHECK(bitmap_empty(map, nbits));
        CHECK_EQ(bitmap_find_next_set(map, nbits, 0), nbits);
        free(map);
    }
    /* nbits == 0: no words touched, everything empty. */
    unsigned long *none = alloc_map(0);
    bitmap_fill(none, 0);
    CHECK_EQ(none[0], 0);
    CHECK_EQ(bitmap_weight(none, 0), 0);
    CHECK(bitmap_empty(none, 0));
    free(none);
    /* weight and equal ignore whatever sits past nbits. */
    unsigned long w[2] = { ~0ul, ~0ul }, v[2] = { ~0ul, 1 };
    CHECK_EQ(bitmap_weight(w, 65), 65);
    CHECK(bitmap_equal(w, v, 65));
    CHECK(!bitmap_equal(w, v, 66));
}

static void test_find_next(void)
{
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        unsigned nbits = sizes[si];
        unsigned long *map = alloc_map(nbits);
        bool *model = calloc(nbits, 1);
        unsigned bad = 0;
        for (unsigned density = 0; density <= 8; density++) {
            random_fill(map, model, nbits, density);
            unsigned weight = 0;
            for (unsigned i = 0; i < nbits; i++)
                weight += model[i];
            bad += bitmap_weight(map, nbits) != weight;
            bad += bitmap_empty(map, nbits) != (weight == 0);
            /* Every start, including nbits and beyond. */
            for (unsigned start = 0; start <= nbits + 1; start++) {
                unsigned want_set = nbits, want_zero = nbits;
                for (unsigned i = start; i < nbits; i++)
                    if (model[i]) { want_set = i; break; }
                for (unsigned i = start; i < nbits; i++)
                    if (!model[i]) { want_zero = i; break; }
                bad += bitmap_find_next_set(map, nbits, start) != want_set;
                bad += bitmap_find_next_zero(map, nbits, start) != want_zero;
            }
        }
        check_at(bad == 0, __FILE__, __LINE__, "find_next/weight on %u bits: %u wrong answers", nbits, bad);
        free(map);
        free(model);
    }
    /* Across a word boundary: bit 63 set, 64 clear, 65 set. */
    unsigned long m[3] = { 1ul << 63, 2ul, 0 };
    CHECK_EQ(bitmap_find_next_set(m, 150, 0), 63);
    CHECK_EQ(bitmap_find_next_set(m, 150, 64), 65);
    CHECK_EQ(bitmap_find_next_set(m, 150, 66), 150);
    CHECK_EQ(bitmap_find_next_zero(m, 150, 63), 64);
    /* find_next_zero must not report the zero bits past nbits. */
    unsigned long full[2] = { ~0ul, (1ul << 6) - 1 };
    CHECK_EQ(bitmap_find_next_zero(full, 70, 0), 70);
}

static void test_logic(void)
{
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        unsigned nbits = sizes[si];
        unsigned long *a = alloc_map(nbits), *b = alloc_map(nbits), *d = alloc_map(nbits);
        bool *ma = calloc(nbits, 1), *mb = calloc(nbits, 1);
        unsigned bad = 0;
        for (int round = 0; round < 20; round++) {
            random_fill(a, ma, nbits, 4);
            random_fill(b, mb, nbits, round % 9);
            bitmap_and(d, a, b, nbits);
            for (unsigned i = 0; i < nbits; i++)
                bad += bitmap_test_bit(d, i) != (ma[i] && mb[i]);
            bad += !tail_clear(d, nbits);
            bitmap_or(d, a, b, nbits);
            for (unsigned i = 0; i < nbits; i++)
                bad += bitmap_test_bit(d, i) != (ma[i] || mb[i]);
            bad += !tail_clear(d, nbits);
            bitmap_andnot(d, a, b, nbits);
            for (unsigned i = 0; i < nbits; i++)
                bad += bitmap_test_bit(d, i) != (ma[i] && !mb[i]);
            bad += !tail_clear(d, nbits);
            /* equal: a copy is equal; flipping any one bit makes it differ. */
            bitmap_or(d, a, a, nbits);
            bad += !bitmap_equal(a, d, nbits);
            unsigned flip = (unsigned)(next_random() % nbits);
            if (bitmap_test_bit(d, flip))
                bitmap_clear_bit(d, flip);
            else
                bitmap_set_bit(d, flip);
            bad += bitmap_equal(a, d, nbits);
        }
        check_at(bad == 0, __FILE__, __LINE__, "and/or/andnot/equal on %u bits: %u wrong", nbits, bad);
        free(a), free(b), free(d), free(ma), free(mb);
    }
}

static void test_cpumask(void)
{
    struct cpumask a, b, d;
    cpumask_clear(&a);
    cpumask_clear(&b);
    CHECK(cpumask_empty(&a));
    CHECK_EQ(cpumask_next(&a, 0), MAX_CPUS);
    unsigned cpus[] = { 0, 1, 63, 64, 65, MAX_CPUS - 1 };
    for (size_t i = 0; i < 6; i++)
        cpumask_set_cpu(&a, cpus[i]);
    CHECK_EQ(cpumask_weight(&a), 6);
    unsigned cpu, n = 0;
    bool in_order = true;
    for_each_cpu(cpu, &a)
        in_order &= cpu == cpus[n++];
    CHECK(in_order && n == 6);
    cpumask_set_cpu(&b, 64);
    cpumask_set_cpu(&b, 100);
    cpumask_and(&d, &a, &b);
    CHECK(cpumask_weight(&d) == 1 && cpumask_test_cpu(&d, 64));
    cpumask_or(&d, &a, &b);
    CHECK(cpumask_weight(&d) == 7 && cpumask_test_cpu(&d, 100));
    cpumask_andnot(&d, &a, &b);
    CHECK(cpumask_weight(&d) == 5 && !cpumask_test_cpu(&d, 64));
    CHECK(!cpumask_equal(&a, &d));
    cpumask_set_cpu(&d, 64);
    CHECK(cpumask_equal(&a, &d));
    cpumask_clear_cpu(&d, MAX_CPUS - 1);
    CHECK(!cpumask_test_cpu(&d, MAX_CPUS - 1));
    CHECK(!cpumask_test_and_set_cpu_atomic(&d, MAX_CPUS - 1));
    CHECK(cpumask_test_and_clear_cpu_atomic(&d, MAX_CPUS - 1));
    CHECK_EQ(cpumask_next(&d, 66), MAX_CPUS);
}

int main(void)
{
    test_set_clear_test();
    test_fill_zero_weight();
    test_find_next();
    test_logic();
    test_cpumask();
    return check_summary("bitmap");
}
