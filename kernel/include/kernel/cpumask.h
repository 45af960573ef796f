/*
 * kernel/cpumask.h - sets of CPUs, sized for MAX_CPUS.
 *
 * cpumask_set_cpu/clear_cpu are plain read-modify-writes: use them on masks
 * only one CPU writes.  The *_atomic forms are for shared masks (an mm's
 * cpumask in the TLB code); they are full barriers.
 */
#pragma once
#include <kernel/config.h>
#include <lib/bitmap.h>

struct cpumask {
    unsigned long bits[BITS_TO_LONGS(MAX_CPUS)];
};

static inline void cpumask_clear(struct cpumask *m) { bitmap_zero(m->bits, MAX_CPUS); }
static inline void cpumask_set_cpu(struct cpumask *m, unsigned cpu) { bitmap_set_bit(m->bits, cpu); }
static inline void cpumask_clear_cpu(struct cpumask *m, unsigned cpu) { bitmap_clear_bit(m->bits, cpu); }
static inline bool cpumask_test_cpu(const struct cpumask *m, unsigned cpu) { return bitmap_test_bit(m->bits, cpu); }
static inline bool cpumask_test_and_set_cpu_atomic(struct cpumask *m, unsigned cpu)
{ return bitmap_test_and_set_bit_atomic(m->bits, cpu); }
static inline bool cpumask_test_and_clear_cpu_atomic(struct cpumask *m, unsigned cpu)
{ return bitmap_test_and_clear_bit_atomic(m->bits, cpu); }
static inline unsigned cpumask_weight(const struct cpumask *m) { return bitmap_weight(m->bits, MAX_CPUS); }
static inline bool cpumask_empty(const struct cpumask *m) { return bitmap_empty(m->bits, MAX_CPUS); }
static inline unsigned cpumask_next(const struct cpumask *m, unsigned start)
{ return bitmap_find_next_set(m->bits, MAX_CPUS, start); }
static inline void cpumask_and(struct cpumask *d, const struct cpumask *a, const struct cpumask *b)
{ bitmap_and(d->bits, a->bits, b->bits, MAX_CPUS); }
static inline void cpumask_or(struct cpumask *d, const struct cpumask *a, const struct cpumask *b)
{ bitmap_or(d->bits, a->bits, b->bits, MAX_CPUS); }
static inline void cpumask_andnot(struct cpumask *d, const struct cpumask *a, const struct cpumask *b)
{ bitmap_andnot(d->bits, a->bits, b->bits, MAX_CPUS); }
static inline bool cpumask_equal(const struct cpumask *a, const struct cpumask *b)
{ return bitmap_equal(a->bits, b->bits, MAX_CPUS); }

#define for_each_cpu(cpu, mask) \
    for ((cpu) = cpumask_next((mask), 0); (cpu) < MAX_CPUS; (cpu) = cpumask_next((mask), (cpu) + 1))

/* CPUs that have started and run kernel code (kernel/smp/cpu_online.c maintains it). */
extern struct cpumask cpu_online_mask;
extern unsigned int nr_cpus_online;
#define for_each_online_cpu(cpu) for_each_cpu(cpu, &cpu_online_mask)
