/*
 * kernel/debug/tlb_trace.h - a per-CPU ring buffer of TLB events, for tests and
 * for a developer reading a serial log (docs/tlb.md).
 *
 * Every CPU records its own events in its own ring of TLB_TRACE_ENTRIES
 * entries; the oldest are overwritten.  Recording is lock-free: only the
 * CPU that owns a ring writes it, with interrupts off for the few stores of
 * one entry, so an interrupt handler that records an event cannot interleave
 * with the entry being written.  tlb_trace_dump() merges the rings by TSC
 * and prints one line per event.
 *
 * Boot option tlbtrace=on|off|dump: record (the default), record nothing,
 * or record and dump the trace and the event counters after the tests or
 * at the end of the boot demo.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>

enum tlb_trace_event {
    TLBT_SWITCH_MM,     /* user -> user of another mm:   a0 prev ctx, a1 next ctx */
    TLBT_LAZY_ENTER,    /* user -> kernel thread:        a0 borrowed ctx */
    TLBT_LAZY_HANDOVER, /* kernel -> kernel thread:      a0 borrowed ctx */
    TLBT_LAZY_LEAVE,    /* kernel thread -> user:        a0 borrowed ctx, a1 next ctx */
    TLBT_FLUSH,         /* flush_tlb_mm_range:           a0 ctx, [a1, a2), a3 gen << 1 | freed_tables */
    TLBT_IPI_SEND,      /* flush IPIs sent:              a0 ctx, a1 targets, a2 mask of CPUs 0..63 */
    TLBT_IPI_RECV,      /* flush IPI handled:            a0 ctx, a1 sender, a2 what it did (enum tlb_trace_work) */
    TLBT_KERNEL_FLUSH,  /* flush_tlb_kernel_range:       [a0, a1) */
    TLBT_MM_FREE,       /* last mmdrop frees an mm:      a0 ctx */
    TLBT_CR3_LOAD,      /* switch_mm wrote CR3:          a0 ctx, a1 pcid, a2 noflush, a3 enum tlb_trace_cr3 */
    TLBT_LAZY_CATCHUP,  /* lazy -> non-lazy on same mm:  a0 ctx, a1 slot gen, a2 mm gen, a3 flushed */
    TLBT_LEAVE_MM,      /* leave_mm: user mm -> init_mm: a0 ctx left */
    TLBT_LAZY_DROP,     /* a borrow dropped (kernel/mm/lazy_mm.c): a0 ctx, a1 why (0 asked, 1 shootdown, 2 hazard) */
    TLBT_LAZY_FREE,     /* before the last mmdrop frees: a0 ctx, a1 lazy_mm mode, a2 remote CPUs called, a3 mask of CPUs 0..63 */
    TLBT_NR_EVENTS
};

/* What a CPU did for one flush request (a2 of TLBT_IPI_RECV). */
enum tlb_trace_work {
    TLBT_WORK_NONE, TLBT_WORK_PAGES, TLBT_WORK_FULL,
    TLBT_WORK_NOT_LOADED,   /* the mm is not loaded here */
    TLBT_WORK_LAZY,         /* lazy on it: catches up later */
    TLBT_WORK_LEAVE_MM,     /* lazy, tables freed: moved to init_mm */
    TLBT_WORK_CAUGHT_UP,    /* already flushed past this request */
    TLBT_WORK_NR
};

/* Why switch_mm loaded CR3 the way it did (a3 of TLBT_CR3_LOAD). */
enum tlb_trace_cr3 { TLBT_CR3_NOFLUSH, TLBT_CR3_FLUSH, TLBT_CR3_INIT_MM };

#define TLB_TRACE_ENTRIES 128   /* per CPU; a power of two */

struct tlb_trace_entry {
    uint64_t tsc;
    uint16_t event;
    uint16_t cpu;
    uint32_t seq;               /* this CPU's event number (low bits) */
    uint64_t a[4];
};

/* Record one event on this CPU (any context, interrupts on or off). */
void tlb_trace(enum tlb_trace_event ev, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

/* How many events this CPU has recorded since boot. */
uint64_t tlb_trace_count(unsigned cpu);
/* Copy CPU cpu's n-th most recent event (n = 0: the latest); false if the
 * ring no longer (or never) held it.  For tests, on a quiet CPU. */
bool tlb_trace_recent(unsigned cpu, unsigned n, struct tlb_trace_entry *out);

/* Copy event number idx (0: CPU cpu's first since boot) if its ring still
 * holds it; false once it was overwritten (or not recorded yet).  For a
 * reader that follows the rings as they fill (the demo's narrator). */
bool tlb_trace_read(unsigned cpu, uint64_t idx, struct tlb_trace_entry *out);

/* Print every event still in the rings, all CPUs merged by TSC.  Meant for
 * a quiet machine (see tlb_trace.c). */
void tlb_trace_dump(void);

/* With tlbtrace=dump: print the event counters and the trace (the end of
 * the tests, tests/ktest.c, and of the boot demo, kernel/demo/demo.c). */
void tlb_trace_dump_if_asked(void);
