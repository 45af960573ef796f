/*
 * kernel/demo_tlb.h - the boot demo's TLB scene (kernel/demo/tlb_scene.c) and
 * its narrator (kernel/demo/tlb_narrator.c); docs/demo.md.
 *
 * The scene runs the user program tlbscene (one thread per CPU, unmapping
 * and remapping while a kernel thread borrows its mm) and tells, in plain
 * words, what the TLB machinery did.  Everything it tells comes from the
 * TLB trace (kernel/debug/tlb_trace.h) and the event counters, read as the
 * events happened - never from what the scene meant to happen.  The same
 * numbers come back in struct tlb_scene_result, which the scene's test
 * (tests/test_demo_tlb.c) asserts on.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <uapi/tlbscene.h>

/* What the narrator saw in one act, counted from the trace (the scene's
 * mm only). */
struct tlb_scene_act {
    unsigned flushes;           /* flush_tlb_mm_range calls */
    unsigned flushes_freed;     /* ... of them with page tables freed */
    unsigned ipis;              /* flush IPIs sent (one per target CPU) */
    unsigned ipis_to_lazy;      /* ... to a CPU lazy on the mm at the time */
    unsigned skipped_lazy;      /* CPUs a flush left out as lazy (the trace's ipi_send) */
    unsigned skipped_not_lazy;  /* ... of them not lazy by the events (must be 0) */
    unsigned recv_pages, recv_full, recv_lazy, recv_leave_mm, recv_other;
    unsigned lazy_enters;       /* a CPU switched from the program to a kernel thread */
    unsigned catchups;          /* a CPU came back from lazy and found it missed changes: a full flush */
    unsigned catchups_clean;    /* ... and found nothing missed */
    unsigned frees;             /* the mm was freed */
};

struct tlb_scene_result {
    bool ran;                   /* the program ran (else: why not was printed) */
    int status;                 /* its wait status */
    unsigned cpus;
    unsigned borrower_cpu;      /* where the kernel thread borrowed the mm (cpus > 1) */
    uint64_t ctx;               /* the program's mm (its ctx_id) */
    uint64_t borrowed_ctx;      /* the borrower's active_mm as it saw it (act 2) */
    uint64_t lost;              /* trace events overwritten before they were read */
    struct tlb_scene_act act[TLBSCENE_NR_ACTS];
    /* Counter deltas over the scene (all CPUs). */
    uint64_t ipi_sent, ipi_skipped_lazy, lazy_catchup, leave_mm, borrow_start;
};

/* Play the scene (with its narration on the console unless `quiet`) and
 * fill *r.  Thread context; needs the user program tlbscene among the boot
 * modules.  Leaves the CPUs as the scene left them: CPUs that ran the
 * program may still borrow its mm (lazy_mm=refcount keeps it until they
 * let go). */
void tlb_scene_run(struct tlb_scene_result *r, bool quiet);

/* ---- the narrator (kernel/demo/tlb_narrator.c) ---- */
struct tlb_narrator;
/* Follow the trace from now on for the mm ctx of process pid. */
struct tlb_narrator *tlb_narrator_start(uint64_t ctx, int pid, unsigned borrower_cpu, bool quiet);
/* Tell (and count into r->act[act]) every event recorded since the last
 * call; returns false if the trace rings overran the narrator. */
void tlb_narrator_tell(struct tlb_narrator *n, enum tlbscene_act act, struct tlb_scene_result *r);
/* The CPUs still lazy on the mm, as the trace says (bit per CPU 0..63). */
uint64_t tlb_narrator_lazy_cpus(const struct tlb_narrator *n);
/* Whether the trace showed the mm freed. */
bool tlb_narrator_saw_free(const struct tlb_narrator *n);
void tlb_narrator_stop(struct tlb_narrator *n);
