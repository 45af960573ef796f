/*
 * kernel/debug/counters.h - per-CPU event counters, summed on demand.
 *
 * A counter is defined next to the code that counts:
 *
 *     DEFINE_COUNTER(tlb, invlpg, "INVLPG instructions executed");
 *     ...
 *     count_event(tlb, invlpg);
 *
 * and, when another file counts it too, declared in a header with
 * DECLARE_COUNTER(tlb, invlpg).
 *
 * Each counter is a 64-bit per-CPU variable; count_event() is one
 * %gs-relative add on this CPU's copy.  A single instruction cannot be split
 * by a preemption and a migration, so counting needs neither atomics nor
 * preempt_disable(); it is not atomic against other CPUs and need not be:
 * each CPU writes only its own copy.  An interrupt handler's count on the
 * same CPU cannot be lost either: the add is one instruction.
 *
 * Readers sum the copies of the online CPUs (counter_sum) whenever they
 * like; a sum read while other CPUs count is some value between the sums
 * before and after, which is what statistics need.  Tests take a snapshot of
 * every counter before an action and read deltas afterwards.
 *
 * Registration: each DEFINE_COUNTER also places a descriptor in the linker
 * section .counters (bounded by __counters_start/__counters_end in
 * linker.ld), so counters_print() finds every counter without a list to keep
 * up to date.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <kernel/compiler.h>
#include <kernel/percpu.h>

struct counter_desc {
    const char *group;
    const char *name;
    const char *help;
    uint64_t *pcpu;             /* the per-CPU variable (CPU 0's address) */
};

/* Every counter, gathered by the linker from section .counters (linker.ld). */
extern const struct counter_desc __counters_start[], __counters_end[];

#define __COUNTER_VAR(group, name) counter__##group##__##name

#define DECLARE_COUNTER(group, name) \
    DECLARE_PER_CPU(uint64_t, __COUNTER_VAR(group, name));      \
    extern const struct counter_desc counter_desc__##group##__##name

#define DEFINE_COUNTER(group, name, helptext)                                   \
    DEFINE_PER_CPU(uint64_t, __COUNTER_VAR(group, name));                       \
    const struct counter_desc counter_desc__##group##__##name                   \
        __used __section(".counters") __aligned(8) =                           \
        { #group, #name, helptext, &__COUNTER_VAR(group, name) }

/* One %gs-relative add: safe against preemption, no atomics (see above). */
#define count_event_n(group, name, n) \
    arch_this_cpu_add_u64(__percpu_offset(&__COUNTER_VAR(group, name)), (n))
#define count_event(group, name) count_event_n(group, name, 1)

/* The descriptor of a counter, for the functions below. */
#define COUNTER(group, name) (&counter_desc__##group##__##name)

/* Sum over the online CPUs. */
uint64_t counter_sum(const struct counter_desc *c);
/* One CPU's copy. */
uint64_t counter_read_cpu(const struct counter_desc *c, unsigned cpu);

/* Every registered counter's value at one moment: summed over all CPUs
 * (counters_snapshot), or one CPU's copy (counters_snapshot_cpu).  Each
 * counter is read separately: not an atomic picture of the machine, but
 * exact when nothing else counts meanwhile - which a test arranges by
 * binding its threads to a CPU where nothing else runs and snapshotting
 * that CPU alone. */
#define COUNTERS_MAX 64
#define COUNTERS_ALL_CPUS (~0u)
struct counter_snapshot {
    unsigned cpu;               /* COUNTERS_ALL_CPUS, or the one CPU read */
    uint64_t val[COUNTERS_MAX];
};
void counters_snapshot(struct counter_snapshot *s);
void counters_snapshot_cpu(struct counter_snapshot *s, unsigned cpu);
/* How much `c` grew since the snapshot (on the snapshot's CPU or CPUs). */
uint64_t counter_delta(const struct counter_snapshot *s, const struct counter_desc *c);

/* Print every counter's sum (and the per-CPU split), grouped by group. */
void counters_print(void);
