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
    TLBT_FLUSH,         /* flush_tlb_mm_range:           a0 ctx, [a1, a2), a3 gen << 1 | freed_tables,
                         *                               a4 cause (enum tlb_flush_cause, kernel/mm.h) */
    TLBT_IPI_SEND,      /* the flush's IPI batch:        a0 ctx, a1 mask of the CPUs called; the CPUs
                         *                               skipped: a2 lazy, a3 not running the mm, a4 offline
                         *                               (masks of CPUs 0..63; recorded even when none is called) */
    TLBT_IPI_RECV,      /* flush IPI handled:            a0 ctx, a1 sender, a2 what it did (enum tlb_trace_work) */
    TLBT_KERNEL_FLUSH,  /* flush_tlb_kernel_range:       [a0, a1), a2 mask of the CPUs called (not
                         *                               this one); deferred to their next kernel entry
                         *                               (kflush_defer): a3 in user mode, a4 idle */
    TLBT_MM_FREE,       /* last mmdrop frees an mm:      a0 ctx */
    TLBT_CR3_LOAD,      /* switch_mm wrote CR3:          a0 ctx, a1 pcid, a2 noflush, a3 enum tlb_trace_cr3 */
    TLBT_LAZY_CATCHUP,  /* lazy -> non-lazy on same mm:  a0 ctx, a1 slot gen, a2 mm gen, a3 flushed */
    TLBT_LEAVE_MM,      /* leave_mm: user mm -> init_mm: a0 ctx left */
    TLBT_LAZY_DROP,     /* a borrow dropped (kernel/mm/lazy_mm.c): a0 ctx, a1 why (0 asked, 1 shootdown, 2 hazard, 3 mmput teardown) */
    TLBT_LAZY_FREE,     /* before the last mmdrop frees: a0 ctx, a1 lazy_mm mode, a2 remote CPUs called, a3 mask of CPUs 0..63 */
    TLBT_FLUSH_LOCAL,   /* the initiator's own part of its flush: a0 ctx, a1 what it did (enum tlb_trace_work) */
    TLBT_KFLUSH_ENTRY,  /* a deferred kernel flush done at this CPU's kernel entry (arch/x86_64/kctx.c) */
    TLBT_NR_EVENTS
};

/* What a CPU did for one flush request (a2 of TLBT_IPI_RECV, a1 of
 * TLBT_FLUSH_LOCAL). */
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
#define TLB_TRACE_ARGS 5

struct tlb_trace_entry {
    uint64_t tsc;               /* arch_cycles() when recorded */
    uint64_t seq;               /* this CPU's event number + 1; 0 while being written */
    uint16_t event;
    uint16_t cpu;
    uint64_t a[TLB_TRACE_ARGS];
};

/* Record one event on this CPU (any context, interrupts on or off). */
void tlb_trace(enum tlb_trace_event ev, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
               uint64_t a4);

/* The owner of address space `ctx`, for the dump's "ctx 5 (pid 3 hello)":
 * a process (pid > 0) or, with pid 0, the kernel thread that made it.  A
 * copy, kept after the mm is freed (the last TLB_TRACE_OWNERS ctx ids). */
#define TLB_TRACE_OWNERS 256
#define TLB_TRACE_NAME 24
void tlb_trace_set_owner(uint64_t ctx, int pid, const char *name);
/* The owner recorded for ctx; false if none (or it was overwritten). */
bool tlb_trace_owner(uint64_t ctx, int *pid, char name[TLB_TRACE_NAME]);

/* "munmap", "mprotect", ... for enum tlb_flush_cause (kernel/mm.h). */
const char *tlb_flush_cause_name(uint64_t cause);

/* How many events this CPU has recorded since boot. */
uint64_t tlb_trace_count(unsigned cpu);
/* Copy CPU cpu's n-th most recent event (n = 0: the latest); false if the
 * ring no longer (or never) held it.  For tests, on a quiet CPU. */
bool tlb_trace_recent(unsigned cpu, unsigned n, struct tlb_trace_entry *out);

/* Copy event number idx (0: CPU cpu's first since boot) if its ring still
 * holds it whole; false once it was overwritten (or not recorded yet).  For
 * a reader that follows the rings as they fill (the demo's narrator). */
bool tlb_trace_read(unsigned cpu, uint64_t idx, struct tlb_trace_entry *out);

/* Print the events still in the rings, all CPUs merged by time, from the
 * oldest time every CPU's ring still covers (see tlb_trace.c).  Takes no
 * lock: callable from a panic. */
void tlb_trace_dump(void);

/* Stop recording (a checker violation, before its panic): the panicking
 * CPU then dumps the rings as they were (tlb_trace_dump_frozen). */
void tlb_trace_freeze(void);
/* In panic, once the other CPUs are stopped: the dump, if the trace was
 * frozen. */
void tlb_trace_dump_frozen(void);

/* With tlbtrace=dump: print the event counters and the trace (the end of
 * the tests, tests/ktest.c, and of the boot demo, kernel/demo/demo.c). */
void tlb_trace_dump_if_asked(void);
