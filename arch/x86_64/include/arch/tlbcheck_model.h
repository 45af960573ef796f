/*
 * arch/tlbcheck_model.h - the shadow-TLB checker's model (docs/tlbcheck.md).
 *
 * The hooks of kernel/tlbcheck.h and arch/tlbcheck.h drive ONE live model
 * (arch/x86_64/mm/tlbcheck_hooks.c).  The model itself is plain data plus
 * the functions below, so a test can build a private instance (a few
 * struct tc_cpu and struct tc_mm of its own) and feed it synthetic
 * operations - PCID switches, INVPCID, ... that no emulator here can run
 * with a real tagged TLB (tests/test_tlbcheck.c).
 *
 * What is modeled (Intel SDM vol. 3, 4.10):
 *   per CPU: what CR3 holds (mm, PCID), the lazy flag, the mm its kernel
 *     thread borrows, and one slot per PCID saying what that PCID may still
 *     cache: which mm (ctx_id), "clean up to" a change sequence number,
 *     single-page flushes done since, and up to which change its
 *     paging-structure caches were flushed.
 *   per mm: the checker's own change sequence (every user-PTE change that
 *     needs a flush, every unhooking of page tables), a ring of the recent
 *     leaf changes (va, seq), and done_seq, the highest flush token whose
 *     flush_tlb_mm_range() returned.
 *
 * "Slot clean up to S" means: for every leaf change with seq <= S, this PCID
 * holds no translation older than that change.
 *
 * Locking: each struct tc_cpu and each struct tc_mm has its own spinlock
 * (irqsave); order: cpu lock, then mm lock.  tc_mm's seq, done_seq and
 * freed_seq are written under the mm lock with atomic stores and may be
 * read without it (atomic loads: the hot paths of every CPU of the mm).  The tc_* functions below expect
 * the caller to hold what they say; the tests' private instances are used
 * by one thread only and take the same locks anyway.
 */
#pragma once
#include <arch/tlbcheck_frames.h>
#include <arch/tlbcheck_owed.h>
#include <kernel/spinlock.h>
#include <kernel/config.h>
#include <stdbool.h>
#include <stdint.h>

struct mm;

#define TC_NR_PCIDS     16      /* PCIDs modeled: 0..15 (the kernel uses 0..TLB_NR_ASIDS) */
#define TC_FLUSH_SLOTS  40      /* single-page flushes remembered per PCID (ceiling 33 + slack) */
#define TC_RING         240     /* recent leaf changes remembered per mm */

/* The checker's record of one user mm. */
struct tc_mm {
    struct spinlock lock;
    struct mm *mm;              /* NULL for a synthetic (test) mm */
    uint64_t ctx_id;            /* the mm's never-reused id (never 0: that is init_mm) */
    uintptr_t pgd;              /* physical address of its PML4 */
    uint64_t seq;               /* last change sequence number handed out */
    uint64_t lost_seq;          /* highest seq of a leaf change pushed out of the ring */
    uint64_t unlink_seq;        /* seq of the last unhooking of page tables */
    uintptr_t unlink_va;        /* the page whose unmapping emptied them (for reports) */
    uint64_t freed_seq;         /* unlink_seq at the last free of tables */
    uint64_t done_seq;          /* highest token whose flush returned */
    uint64_t nchanges;          /* leaf changes recorded in total (ring index) */
    struct { uintptr_t va; uint64_t seq; } ring[TC_RING];
    struct tc_mm_frames frames; /* frames unmapped, flush pending (tlbcheck_frames.h) */
    struct tc_mm_owed owed;     /* who made the latest change (tlbcheck_owed.h) */
    struct tc_mm *hnext;        /* the live registry's hash chain */
};

/* What one PCID of one CPU may still cache. */
struct tc_slot {
    uint64_t ctx_id;            /* 0: no user translation cached at all */
    struct tc_mm *mm;           /* NULL when ctx_id is 0 or the mm was freed */
    uint64_t clean_seq;
    uint64_t psc_clean_seq;     /* paging-structure caches flushed up to this change */
    unsigned nflush;
    struct { uintptr_t va; uint64_t seq; } flush[TC_FLUSH_SLOTS];
};

struct tc_cpu {
    struct spinlock lock;
    unsigned id;
    struct tc_mm *cur;          /* modeled CR3: NULL = init_mm (no user mappings) or untracked */
    uint64_t cur_ctx;
    unsigned cur_pcid;
    bool lazy;
    struct tc_mm *borrowed;     /* the mm this CPU's kernel thread borrows, or NULL */
    uint64_t borrowed_ctx;
    struct tc_slot slot[TC_NR_PCIDS];
};

/* A set of CPUs modeled together, and what to do with a violation. */
struct tc_model {
    struct tc_cpu *cpus;
    unsigned ncpus;
    bool live;                  /* report + panic; otherwise just record (tests) */
    /* The last violation (tests read these). */
    unsigned violations;
    const char *last_op;
    unsigned last_cpu;
    uintptr_t last_addr;
};

/* Initialize a private model / mm (tests; the live ones are static). */
void tc_cpu_init(struct tc_cpu *c, unsigned id);
void tc_mm_init(struct tc_mm *m, struct mm *mm, uint64_t ctx_id, uintptr_t pgd);

/*
 * A violation: one line `tlbcheck: VIOLATION cpu N mm ctx C addr 0x... op OP:
 * what`, then details (the CPU's model, the mm's recent changes).  Live
 * model: panic.  Test model: counted and remembered; returns.
 */
void tc_violation(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uintptr_t addr,
                  const char *op, const char *what);

/* ---- the instructions (caller holds c->lock) ---- */
/* m: the mm loaded (NULL for init_mm or an untracked one), ctx its ctx_id. */
void tc_cr3_write(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uint64_t ctx,
                  unsigned pcid, bool noflush, bool pcide);
void tc_invlpg(struct tc_model *md, struct tc_cpu *c, uintptr_t va);
void tc_invpcid(struct tc_model *md, struct tc_cpu *c, unsigned type, unsigned pcid, uintptr_t va);
void tc_flush_everything(struct tc_model *md, struct tc_cpu *c);

/* ---- page-table changes (caller holds nothing; takes m->lock) ---- */
/* Returns the change's number when it was recorded (it needs a flush), else 0. */
uint64_t tc_pte_change(struct tc_mm *m, uintptr_t va, uint64_t old, uint64_t new);
bool tc_pte_change_needs_flush(uint64_t old, uint64_t new);
uint64_t tc_tables_unlinked(struct tc_mm *m);     /* returns the change's number */
uint64_t tc_flush_begin(struct tc_mm *m);

/* ---- the checks (take the locks themselves) ---- */
/* Every CPU whose CR3 holds m and is not lazy: clean up to token.  Then
 * m->done_seq = max(done_seq, token). */
void tc_check_flush_end(struct tc_model *md, struct tc_mm *m, uint64_t token);
/* CPU c (caller holds c->lock): its current PCID is clean up to its mm's done_seq. */
void tc_check_user_access(struct tc_model *md, struct tc_cpu *c, const char *op);
/* Every CPU with m in CR3 (lazy or not): paging-structure caches flushed
 * since the last unhooking.  Records freed_seq. */
void tc_check_tables_free(struct tc_model *md, struct tc_mm *m);
/* No CPU has m in CR3 or borrows it; then forget m in every slot. */
void tc_check_mm_free(struct tc_model *md, struct tc_mm *m);

/* Is slot s clean up to target?  On false, *va = the first change not
 * covered (0 when unknown: it fell out of the ring).  Caller holds the cpu
 * lock; takes s->mm->lock. */
bool tc_slot_clean(struct tc_slot *s, uint64_t target, uintptr_t *va, uint64_t *seq);
