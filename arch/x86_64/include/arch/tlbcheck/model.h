/*
 * arch/tlbcheck/model.h - the shadow-TLB checker's model (docs/tlbcheck.md).
 *
 * The hooks of kernel/debug/tlbcheck.h and arch/tlbcheck/insn.h drive ONE live model
 * (arch/x86_64/tlbcheck/hooks.c).  The model itself is plain data plus
 * the functions below, so a test can build a private instance (a few
 * struct tc_cpu and struct tc_mm of its own) and feed it synthetic
 * operations - PCID switches, INVPCID, ... that no emulator here can run
 * with a real tagged TLB (tests/test_tlbcheck.c).
 *
 * What is modeled (Intel SDM vol. 3, 4.10):
 *   per CPU: what CR3 holds (the owner of the PML4 found there, the PCID),
 *     the lazy flag, the mm its kernel thread borrows, one slot per PCID
 *     saying what that PCID may still cache: which mm (the checker's own
 *     id for it), "clean up to" a change sequence number, single-page
 *     flushes done since, the changes up to it it has NOT covered (holes:
 *     open changes the folding passed), and up to which change its paging-structure
 *     caches were flushed (the mm's and the kernel half's); and when the
 *     kernel half's global entries were last all dropped.
 *   per mm: the checker's own id and change sequence (every user-PTE
 *     change that needs a flush, every unhooking of page tables), a ring of
 *     the recent leaf changes (va, seq), and done_seq, the highest flush
 *     token whose flush_tlb_mm_range() returned.
 *   the kernel half (struct tc_kernel): its changes, each with the CPUs
 *     whose flush covered it.
 *
 * "Slot clean up to S" means: for every leaf change with seq <= S but its
 * holes, this PCID holds no translation older than that change.
 *
 * Locking: each struct tc_cpu, each struct tc_mm and the tc_kernel have
 * their own spinlock (irqsave), taken cpu lock first, then mm or kernel
 * lock (docs/locking.md).  tc_mm's seq, done_seq and
 * freed_seq are written under the mm lock with atomic stores and may be
 * read without it (atomic loads: the hot paths of every CPU of the mm).  The tc_* functions below expect
 * the caller to hold what they say; the tests' private instances are used
 * by one thread only and take the same locks anyway.
 */
#pragma once
#include <arch/tlbcheck/frames.h>
#include <arch/tlbcheck/owed.h>
#include <arch/tlbcheck/open.h>
#include <kernel/spinlock.h>
#include <kernel/config.h>
#include <kernel/cpumask.h>
#include <stdbool.h>
#include <stdint.h>

struct mm;
struct tc_kernel;

#define TC_NR_PCIDS     16      /* PCIDs modeled: 0..15 (the kernel uses 0..TLB_NR_ASIDS) */
#define TC_FLUSH_SLOTS  40      /* single-page flushes remembered per PCID (ceiling 33 + slack) */
#define TC_RING         240     /* recent leaf changes remembered per mm */
#define TC_HOLES        TC_OPEN /* changes passed uncovered per PCID: one open change per author */

/*
 * The checker's record of one address space: a user mm, or the kernel's
 * own tree (init_mm: the kernel half, shared by every address space, and
 * init_mm's user half) - the one record with `kernel` set.
 */
struct tc_mm {
    struct spinlock lock;
    struct mm *mm;              /* NULL for a synthetic (test) mm */
    uint64_t ctx_id;            /* the CHECKER's id for it: its own counter, never reused, never 0
                                 * (not the kernel's mm->ctx_id, which the checker must not trust) */
    uint64_t kernel_ctx;        /* the kernel's mm->ctx_id, for reports only */
    uintptr_t pgd;              /* physical address of its PML4 */
    bool kernel;                /* the kernel tree (init_mm) */
    uint64_t seq;               /* last change sequence number handed out */
    uint64_t lost_seq;          /* highest seq of a leaf change pushed out of the ring */
    uint64_t unlink_seq;        /* seq of the last unhooking of page tables */
    uintptr_t unlink_va;        /* the page whose unmapping emptied them (for reports) */
    uint64_t freed_seq;         /* unlink_seq at the last free of tables */
    uint64_t done_seq;          /* every change up to it is covered by a returned flush (open.h) */
    uint64_t nchanges;          /* leaf changes recorded in total (ring index) */
    struct { uintptr_t va; uint64_t seq; const void *author; } ring[TC_RING];
    struct tc_open_set open;    /* changes whose author's flush has not returned (open.h) */
    struct tc_mm_frames frames; /* frames unmapped, flush pending (arch/tlbcheck/frames.h) */
    struct tc_mm *reg_next, *reg_prev;  /* the live registry (lookups by PML4, slow paths only) */
};

/* What one PCID of one CPU may still cache. */
struct tc_slot {
    uint64_t ctx_id;            /* 0: no translation cached at all */
    struct tc_mm *mm;           /* NULL when ctx_id is 0 or the mm was freed (POISONED:
                                 * ctx_id != 0, mm NULL - entries of a dead mm) */
    uint64_t clean_seq;
    uint64_t psc_clean_seq;     /* paging-structure caches flushed up to this change */
    uint64_t kpsc_clean_seq;    /* ... and of the kernel half: up to this tc_kernel change */
    unsigned nflush;
    struct { uintptr_t va; uint64_t seq; } flush[TC_FLUSH_SLOTS];
    /* HOLES: changes numbered <= clean_seq that this PCID has NOT covered -
     * open changes (open.h) the folding passed instead of stopping there.
     * A hole goes at an INVLPG of its page in this PCID or a full flush. */
    unsigned nholes;
    struct { uintptr_t va; uint64_t seq; const void *author; } hole[TC_HOLES];
    /* More open changes to pass than there is room for holes (more than
     * TC_OPEN authors: open.h's overflow): what the slot covers is not
     * known exactly any more, so it is not checked until its next full
     * flush (a blind spot, never a false report). */
    bool blind;
};

struct tc_cpu {
    struct spinlock lock;
    unsigned id;
    bool online;                /* has executed a TLB instruction (kernel flushes check it) */
    bool pge;                   /* CR4.PGE: kernel-half entries are global */
    struct tc_kernel *k;        /* the kernel half's record (NULL: not modeled) */
    struct tc_mm *cur;          /* modeled CR3: the owner of the PML4 found in CR3; NULL = untracked */
    uint64_t cur_ctx;
    unsigned cur_pcid;
    bool lazy;
    struct tc_mm *borrowed;     /* the mm this CPU's kernel thread borrows, or NULL */
    uint64_t borrowed_ctx;
    struct tc_slot slot[TC_NR_PCIDS];
    /* The kernel half's GLOBAL entries (PTE_G with CR4.PGE), one set for
     * every PCID: all dropped at tc_kernel change kfull_seq (INVPCID type
     * 2, a CR4.PGE toggle; without PGE also a CR3 write with PCIDE clear
     * and INVPCID 3).  Single pages: INVLPG marks the ring's changes. */
    uint64_t kfull_seq;
    /* The newest kernel-flush token deferred for this CPU (kctx.c): the
     * CPU owes a drop of all global entries (kfull_seq >= it) by the time
     * it passes its next entry flush point. */
    uint64_t kdefer_seq;
};

/*
 * The kernel half (every address at or above USER_TOP): one tree shared by
 * every address space, its entries global.  Its changes are numbered in
 * their own sequence; each remembers on which CPUs a flush covered it
 * (there is no lock that orders kernel changes with each other's flushes,
 * so each flush checks only its own range - tc_check_kernel_flush_end).
 */
#define TC_KRING        256     /* recent kernel-half changes remembered */
#define TC_KCPU_WORDS   ((MAX_CPUS + 63) / 64)
struct tc_kernel {
    struct spinlock lock;
    struct tc_mm *m;            /* init_mm's record (its id names it in reports) */
    uint64_t seq;               /* last kernel change / unhooking number */
    uint64_t nchanges;
    uint64_t unlink_seq;        /* the last unhooking of kernel page tables */
    uintptr_t unlink_va;
    struct {
        uintptr_t va;
        uint64_t seq;
        uint64_t flushed[TC_KCPU_WORDS];    /* CPUs whose INVLPG covered it */
    } ring[TC_KRING];
};

/* A set of CPUs modeled together, and what to do with a violation. */
struct tc_model {
    struct tc_cpu *cpus;
    unsigned ncpus;
    bool live;                  /* report + panic; otherwise just record (tests) */
    /* The kernel's online CPUs (kernel flushes reach those); NULL: every
     * CPU whose model is online (tests). */
    const struct cpumask *online;
    /* The last violation (tests read these). */
    unsigned violations;
    const char *last_op;
    unsigned last_cpu;
    uintptr_t last_addr;
};

/* Initialize a private model / mm (tests; the live ones are static). */
void tc_cpu_init(struct tc_cpu *c, unsigned id);
void tc_mm_init(struct tc_mm *m, struct mm *mm, uint64_t ctx_id, uintptr_t pgd);
/* A private kernel-half record, whose reports name the mm kmm. */
void tc_kernel_init(struct tc_kernel *k, struct tc_mm *kmm);
/* Model the kernel half k on c too: c is online and holds nothing stale
 * (as after its boot-time full flush); pge: CR4.PGE. */
void tc_cpu_set_kernel(struct tc_cpu *c, struct tc_kernel *k, bool pge);

/*
 * A violation: one line `tlbcheck: VIOLATION cpu N mm ctx C addr 0x... op OP:
 * what`, then details (the CPU's model, the mm's recent changes).  Live
 * model: panic.  Test model: counted and remembered; returns.
 */
void tc_violation(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uintptr_t addr,
                  const char *op, const char *what);
/* The same in the live model, on behalf of `cpu` (tlbcheck/hooks.c). */
void tc_live_report(unsigned cpu, uintptr_t addr, const char *op, const char *what);

/* What a MOV to CR3 loaded: the PML4 frame and PCID read back from CR3
 * (bits 11:0 are a PCID only with CR4.PCIDE; else cache-control bits),
 * NOFLUSH from bit 63 of the value written (the CPU does not keep it). */
struct tc_cr3 {
    uintptr_t pgd;
    unsigned pcid;
    bool noflush;
};
struct tc_cr3 tc_cr3_decode(uint64_t read_back, uint64_t written, bool pcide);

/* ---- the instructions (caller holds c->lock) ---- */
/* m: the owner of the PML4 that CR3 now holds (the kernel tree's record
 * for init_mm; NULL: an untracked mm), ctx its checker id; pcid and
 * noflush as the hardware took them (CR3 read back, bit 63 of the value
 * written).  A NOFLUSH load of a PCID that caches another mm - a live one,
 * or a freed one (poisoned) - is a violation at once. */
void tc_cr3_write(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uint64_t ctx,
                  unsigned pcid, bool noflush, bool pcide);
void tc_invlpg(struct tc_model *md, struct tc_cpu *c, uintptr_t va);
void tc_invpcid(struct tc_model *md, struct tc_cpu *c, unsigned type, unsigned pcid, uintptr_t va);
void tc_flush_everything(struct tc_model *md, struct tc_cpu *c);

/* ---- page-table changes (caller holds nothing; takes m->lock) ---- */
/* Returns the change's number when it was recorded (it needs a flush), else 0.
 * The _by forms name the change's author (the thread, opaque: open.h); the
 * plain forms are author NULL (the private models of the tests). */
uint64_t tc_pte_change(struct tc_mm *m, uintptr_t va, uint64_t old, uint64_t new);
uint64_t tc_pte_change_by(struct tc_mm *m, uintptr_t va, uint64_t old, uint64_t new,
                          const void *author);
bool tc_pte_change_needs_flush(uint64_t old, uint64_t new);
uint64_t tc_tables_unlinked(struct tc_mm *m);     /* returns the change's number */
uint64_t tc_tables_unlinked_by(struct tc_mm *m, const void *author);
uint64_t tc_flush_begin(struct tc_mm *m);

/* ---- the kernel half (caller holds nothing; takes k->lock) ---- */
/* The kernel half's current change number (0 without k). */
uint64_t tc_kernel_seq(struct tc_kernel *k);
/* On CPU c (caller holds c->lock): INVLPG of kernel page va; all global
 * entries dropped. */
void tc_kernel_invlpg(struct tc_cpu *c, uintptr_t va);
void tc_kernel_flush_all(struct tc_cpu *c);
/* A kernel-half leaf entry changed (true: it needs a flush, recorded). */
bool tc_kernel_pte_change(struct tc_kernel *k, uintptr_t va, uint64_t old, uint64_t new);
/* Kernel page tables were unhooked: returns the unhooking's number. */
uint64_t tc_kernel_tables_unlinked(struct tc_kernel *k, uintptr_t va);
uint64_t tc_kernel_flush_begin(struct tc_kernel *k);
/* The kernel flush of token was deferred for CPU c (it owes a drop of
 * all global entries by its next entry flush point); c passed that point. */
void tc_kernel_defer(struct tc_cpu *c, uint64_t token);
void tc_check_kernel_entry(struct tc_model *md, struct tc_cpu *c);
/* flush_tlb_kernel_range(start, end) returned for token: every online CPU
 * is clean of every kernel change numbered <= token inside [start, end),
 * or owes it at its next entry (deferred). */
void tc_check_kernel_flush_end(struct tc_model *md, struct tc_kernel *k, uint64_t token,
                               uintptr_t start, uintptr_t end);
/* Kernel page tables unhooked at `unlinked` are about to be freed: no
 * online CPU has paging-structure caches, in any PCID, from before. */
void tc_check_kernel_tables_free(struct tc_model *md, struct tc_kernel *k, uint64_t unlinked);

/* ---- borrowing (caller holds c->lock) ---- */
/* CPU c's kernel thread starts borrowing m, or (m NULL) ends its borrow.
 * A borrow may end while CR3 still holds the mm only if the task now
 * running on c owns it (cur_owns: current_task()->mm is that mm). */
void tc_borrow(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, bool cur_owns);

/* ---- the checks (take the locks themselves) ---- */
/* author's flush of m with token returned: every CPU whose CR3 holds m and
 * is not lazy is clean of author's open changes up to token (open.h).
 * Then those changes are closed and m->done_seq moves (tc_open_close).
 * The plain form is author NULL. */
void tc_check_flush_end(struct tc_model *md, struct tc_mm *m, uint64_t token);
void tc_check_flush_end_by(struct tc_model *md, struct tc_mm *m, uint64_t token, const void *author);
/* CPU c (caller holds c->lock): its current PCID is clean up to its mm's done_seq. */
void tc_check_user_access(struct tc_model *md, struct tc_cpu *c, const char *op);
/* Every CPU with m in CR3 (lazy or not): paging-structure caches flushed
 * since the last unhooking.  Records freed_seq. */
void tc_check_tables_free(struct tc_model *md, struct tc_mm *m);
/* No CPU has m in CR3 or borrows it; then forget m in every slot. */
void tc_check_mm_free(struct tc_model *md, struct tc_mm *m);

/* Is slot s clean up to target?  On false, *va = the first change not
 * covered (0 when unknown: it fell out of the ring).  Caller holds the cpu
 * lock; takes s->mm->lock unless clean_seq >= target (then only the
 * slot's holes are looked at). */
bool tc_slot_clean(struct tc_slot *s, uint64_t target, uintptr_t *va, uint64_t *seq);
/* The same at the end of author's flush with token: other authors' changes
 * that are still open are not asked for (arch/tlbcheck/open.h); the fold
 * passes them as holes. */
bool tc_slot_clean_for(struct tc_slot *s, uint64_t token, const void *author, uintptr_t *va,
                       uint64_t *seq);
