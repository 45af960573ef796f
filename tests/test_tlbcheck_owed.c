/*
 * tests/test_tlbcheck_owed.c - the shadow-TLB checker's frame-lifetime and
 * flush-owed rules (docs/tlbcheck.md, arch/tlbcheck/frames.h,
 * arch/tlbcheck/owed.h).
 *
 * Part 1, the rules on a private model (two CPUs, two synthetic mms, 16
 * frames): each fires when it must (with the right operation, CPU and
 * address) and stays silent when it must.  Nothing here touches the live
 * checker.
 *
 * Part 2, scenarios on the live system: each drives the code path that a
 * tlb_inject= fault of these rules breaks (inject-free_before_flush,
 * inject-skip_flush: the runner boots this suite with the fault and expects
 * the checker's report).  Without a fault they pass in every configuration.
 */
#include "ktest_suite.h"
#include "tlbcheck_test_util.h"
#include "user_test_util.h"
#include <arch/tlbcheck/model.h>
#include <arch/paging.h>
#include <arch/uaccess.h>
#include <kernel/kmalloc.h>
#include <kernel/page_alloc.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/time.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

DECLARE_COUNTER(tlbcheck, holes);

/* ==== part 1: the rules on a private model ================================== */

#define VA(n)       (0x400000ul + (n) * PAGE_SIZE)
#define FRAME(n)    ((uint64_t)(n) * PAGE_SIZE)
#define PTE(pa, f)  ((uint64_t)(pa) | PTE_P | PTE_U | (f))
#define NFRAMES     16
#define TASK_A      ((const void *)0x1000)  /* two "threads", opaque to the model */
#define TASK_B      ((const void *)0x2000)

struct owed_env {
    struct tc_model md;
    struct tc_cpu *cpu;         /* [2] */
    struct tc_mm *a, *b;        /* ctx 2001, 2002 */
    struct tc_frames *f;        /* NFRAMES frames */
};

static void env_free(struct owed_env *e)
{
    kfree(e->cpu);
    kfree(e->a);
    kfree(e->b);
    if (e->f)
        kfree(e->f->chunk[0]);
    kfree(e->f);
}

static bool env_init(struct owed_env *e)
{
    memset(e, 0, sizeof(*e));
    e->cpu = kmalloc(2 * sizeof(struct tc_cpu));
    e->a = kmalloc(sizeof(struct tc_mm));
    e->b = kmalloc(sizeof(struct tc_mm));
    e->f = kzalloc(sizeof(struct tc_frames));
    if (!e->cpu || !e->a || !e->b || !e->f)
        return false;
    e->f->chunk[0] = kzalloc(NFRAMES * sizeof(struct tc_frame));
    if (!e->f->chunk[0])
        return false;
    tc_frames_init(e->f, NFRAMES);
    tc_cpu_init(&e->cpu[0], 0);
    tc_cpu_init(&e->cpu[1], 1);
    tc_mm_init(e->a, NULL, 2001, 0x1000);
    tc_mm_init(e->b, NULL, 2002, 0x2000);
    e->md = (struct tc_model){ .cpus = e->cpu, .ncpus = 2, .live = false };
    return true;
}

#define ENV(t, e)                                                              \
    struct owed_env e;                                                         \
    if (!env_init(&e)) {                                                       \
        env_free(&e);                                                          \
        ASSERT_TRUE(t, false);                                                 \
    }

/* What the tlbcheck_pte_change hook does: count the entries mapping each
 * frame, number the change with its author, and record the frame it took
 * out of the mapping. */
static const void *last_author;

static uint64_t change(struct owed_env *e, struct tc_mm *m, const void *task, uintptr_t va,
                       uint64_t old, uint64_t new)
{
    tc_frame_map_change(e->f, old, new);
    uint64_t seq = tc_pte_change_by(m, va, old, new, task);
    if (seq)
        last_author = task;
    if (seq && tc_pte_change_removes_frame(old, new))
        tc_frame_unmapped_by(e->f, m, va, old & PTE_ADDR, seq, task);
    return seq;
}

/* flush_tlb_mm_range() of m, from tlbcheck_flush_begin to
 * tlbcheck_flush_end: both CPUs flush PCID 0 (the one the tests load), or
 * only CPU `only` when it is 0 or 1 (the other one being lazy or away).
 * Made by the author of m's open changes (each test's changes of one mm
 * between two flushes are one "thread"'s), as the kernel's flushes are. */
static void flush(struct owed_env *e, struct tc_mm *m, int only)
{
    uint64_t tok = tc_flush_begin(m);
    for (unsigned c = 0; c < 2; c++)
        if (only < 0 || (unsigned)only == c)
            tc_invpcid(&e->md, &e->cpu[c], 1, 0, 0);
    const void *author = m->open.n ? m->open.e[0].task : last_author;
    tc_check_flush_end_by(&e->md, m, tok, author);
    tc_frames_flushed(e->f, m, tok);
}

/* page_free of frame n on CPU 0; returns the violations it caused. */
static unsigned frame_free(struct owed_env *e, unsigned n)
{
    unsigned before = e->md.violations;
    tc_check_frame_free(&e->md, e->f, &e->cpu[0], FRAME(n), 0);
    return e->md.violations - before;
}

static unsigned mm_unlock_check(struct owed_env *e, struct tc_mm *m)
{
    unsigned before = e->md.violations;
    tc_check_mm_unlock(&e->md, &e->cpu[0], m);
    return e->md.violations - before;
}

static unsigned user_return(struct owed_env *e, unsigned c, const void *task)
{
    unsigned before = e->md.violations;
    tc_check_user_return(&e->md, &e->cpu[c], task);
    return e->md.violations - before;
}

static void model_removes_frame(struct ktest *t)
{
    EXPECT_TRUE(t, tc_pte_change_removes_frame(PTE(FRAME(1), PTE_W), 0));          /* unmapped */
    EXPECT_TRUE(t, tc_pte_change_removes_frame(PTE(FRAME(1), 0), PTE(FRAME(2), PTE_W))); /* COW copy */
    EXPECT_FALSE(t, tc_pte_change_removes_frame(PTE(FRAME(1), PTE_W), PTE(FRAME(1), 0))); /* W removed */
    EXPECT_FALSE(t, tc_pte_change_removes_frame(PTE(FRAME(1), 0), PTE(FRAME(1), PTE_NX)));
    EXPECT_FALSE(t, tc_pte_change_removes_frame(0, PTE(FRAME(1), PTE_W)));         /* new mapping */
}

/* free_before_flush's model: a frame unmapped by a running mm goes back to
 * the allocator before (caught) and after (fine) the flush. */
static void model_frame_freed_before_flush(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[1], e.a, 2001, 0, false, false);
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(3), PTE_W), 0);
    EXPECT_EQ(t, frame_free(&e, 3), 1u);
    EXPECT_STREQ(t, e.md.last_op, "frame_free");
    EXPECT_EQ(t, e.md.last_addr, VA(1));        /* the page whose unmapping is pending */
    EXPECT_EQ(t, e.md.last_cpu, 0u);            /* the CPU that frees */
    /* The right order: flush, then free. */
    change(&e, e.a, TASK_A, VA(2), PTE(FRAME(4), PTE_W), 0);
    flush(&e, e.a, -1);
    EXPECT_EQ(t, e.a->frames.npending, 0u);     /* dropped by the flush's end */
    EXPECT_EQ(t, frame_free(&e, 4), 0u);
    /* Frames nobody unmapped (kernel memory, page tables) are not looked at. */
    EXPECT_EQ(t, frame_free(&e, 5), 0u);
    /* A rights-only change (fork's write-protect) keeps the frame mapped:
     * no record, only a flush owed. */
    change(&e, e.a, TASK_A, VA(6), PTE(FRAME(6), PTE_W), PTE(FRAME(6), 0));
    EXPECT_EQ(t, e.a->frames.npending, 0u);
    flush(&e, e.a, -1);
    EXPECT_EQ(t, e.md.violations, 1u);
    env_free(&e);
}

/* A frame shared by two mms after fork: each unmapping needs its own mm's
 * flush; the frame is free only when both returned.  A record whose flush
 * returned but whose end hook has not run yet (done_seq >= seq) is fine. */
static void model_shared_frame(struct ktest *t)
{
    ENV(t, e);
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(7), 0), 0);
    change(&e, e.b, TASK_B, VA(1), PTE(FRAME(7), 0), 0);
    flush(&e, e.b, -1);
    EXPECT_EQ(t, frame_free(&e, 7), 1u);        /* a's unmapping is not flushed */
    EXPECT_EQ(t, e.md.last_addr, VA(1));
    change(&e, e.a, TASK_A, VA(2), PTE(FRAME(8), 0), 0);
    change(&e, e.b, TASK_B, VA(2), PTE(FRAME(8), 0), 0);
    flush(&e, e.a, -1);
    flush(&e, e.b, -1);
    EXPECT_EQ(t, frame_free(&e, 8), 0u);
    /* done_seq already covers it (the flush returned on another CPU and is
     * between its done_seq store and tc_frames_flushed). */
    uint64_t seq = change(&e, e.a, TASK_A, VA(3), PTE(FRAME(9), 0), 0);
    __atomic_store_n(&e.a->done_seq, seq, __ATOMIC_SEQ_CST);
    EXPECT_EQ(t, frame_free(&e, 9), 0u);
    tc_frames_flushed(e.f, e.a, seq);           /* finds nothing left: fine */
    EXPECT_EQ(t, e.md.violations, 1u);
    env_free(&e);
}

/* frame_mapped: a frame mapped by two mms (a shared page, at two
 * addresses) is freed after one of them unmapped and flushed: caught, the
 * other still maps it - a use after free no TLB record shows.  A change of
 * rights keeps the count; a copy-on-write replacement moves it from the
 * old frame to the new; after the last unmap and flush the free is fine. */
static void model_frame_still_mapped(struct ktest *t)
{
    ENV(t, e);
    change(&e, e.a, TASK_A, VA(1), 0, PTE(FRAME(5), PTE_W));
    change(&e, e.b, TASK_B, VA(4), 0, PTE(FRAME(5), PTE_W));
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(5), PTE_W), 0);
    flush(&e, e.a, -1);
    EXPECT_EQ(t, frame_free(&e, 5), 1u);
    EXPECT_STREQ(t, e.md.last_op, "frame_mapped");
    EXPECT_EQ(t, e.md.last_addr, FRAME(5));
    change(&e, e.b, TASK_B, VA(4), PTE(FRAME(5), PTE_W), PTE(FRAME(5), 0));
    flush(&e, e.b, -1);
    EXPECT_EQ(t, frame_free(&e, 5), 1u);        /* read-only, still mapped */
    change(&e, e.b, TASK_B, VA(4), PTE(FRAME(5), 0), 0);
    flush(&e, e.b, -1);
    EXPECT_EQ(t, frame_free(&e, 5), 0u);
    change(&e, e.a, TASK_A, VA(2), 0, PTE(FRAME(6), 0));
    change(&e, e.a, TASK_A, VA(2), PTE(FRAME(6), 0), PTE(FRAME(11), PTE_W));
    flush(&e, e.a, -1);
    EXPECT_EQ(t, frame_free(&e, 6), 0u);        /* the copy replaced it */
    EXPECT_EQ(t, frame_free(&e, 11), 1u);       /* the copy is mapped */
    EXPECT_EQ(t, e.md.violations, 3u);
    env_free(&e);
}

/* The documented bounds: a third pending unmapping of one frame forgets
 * the oldest record; a full per-mm list records nothing.  Both can only
 * hide a violation, never make one up.  A record never outlives its mm. */
static void model_frame_bounds(struct ktest *t)
{
    ENV(t, e);
    uint64_t forgotten = e.f->forgotten;
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(10), 0), 0);   /* the oldest */
    change(&e, e.b, TASK_B, VA(1), PTE(FRAME(10), 0), 0);
    change(&e, e.b, TASK_B, VA(2), PTE(FRAME(10), 0), 0);
    EXPECT_EQ(t, e.f->forgotten, forgotten + 1);
    flush(&e, e.b, -1);
    EXPECT_EQ(t, frame_free(&e, 10), 0u);       /* a's record was the one forgotten */
    flush(&e, e.a, -1);                          /* its list still names the frame: harmless */
    EXPECT_EQ(t, e.a->frames.npending, 0u);
    /* A full list: the next unmapping is not recorded. */
    for (unsigned i = 0; i < TC_MM_PENDING; i++)
        change(&e, e.a, TASK_A, VA(i), PTE(FRAME(11), 0), 0);
    uint64_t untracked = e.f->untracked;
    change(&e, e.a, TASK_A, VA(0), PTE(FRAME(12), 0), 0);
    EXPECT_EQ(t, e.f->untracked, untracked + 1);
    EXPECT_EQ(t, frame_free(&e, 12), 0u);
    /* The mm is freed: its records go with it (teardown flushed them in a
     * real kernel); a later free of the frame finds none. */
    tc_frames_mm_free(e.f, e.a);
    EXPECT_EQ(t, e.a->frames.npending, 0u);
    EXPECT_EQ(t, frame_free(&e, 11), 0u);
    /* Frames beyond the model are not checked. */
    tc_frame_unmapped(e.f, e.b, VA(3), FRAME(NFRAMES + 1), 99);
    EXPECT_EQ(t, frame_free(&e, NFRAMES + 1), 0u);
    EXPECT_EQ(t, e.md.violations, 0u);
    env_free(&e);
}

/* A frame freed, reallocated, mapped and unmapped again: only the new
 * unmapping counts. */
static void model_frame_reused(struct ktest *t)
{
    ENV(t, e);
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(13), 0), 0);
    EXPECT_EQ(t, frame_free(&e, 13), 1u);       /* too early: reported, then forgotten */
    EXPECT_EQ(t, frame_free(&e, 13), 0u);
    flush(&e, e.a, -1);
    change(&e, e.b, TASK_B, VA(4), PTE(FRAME(13), PTE_W), 0);
    flush(&e, e.b, -1);
    EXPECT_EQ(t, frame_free(&e, 13), 0u);
    /* A block of order 2 is checked frame by frame. */
    change(&e, e.b, TASK_B, VA(5), PTE(FRAME(14), PTE_W), 0);
    unsigned before = e.md.violations;
    tc_check_frame_free(&e.md, e.f, &e.cpu[0], FRAME(12), 2);
    EXPECT_EQ(t, e.md.violations - before, 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(5));
    env_free(&e);
}

/* skip_flush's model: a change released under the lock without a flush. */
static void model_flush_owed_at_unlock(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[1], e.a, 2001, 0, false, false);
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 0u);                 /* nothing changed */
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(1), PTE_W), PTE(FRAME(1), 0));  /* mprotect */
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 1u);
    EXPECT_STREQ(t, e.md.last_op, "mm_unlock");
    EXPECT_EQ(t, e.md.last_addr, VA(1));
    flush(&e, e.a, -1);
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 0u);
    /* Rights raised (COW reuse, mprotect to more): nothing owed. */
    change(&e, e.a, TASK_A, VA(2), PTE(FRAME(2), 0), PTE(FRAME(2), PTE_W));
    change(&e, e.a, TASK_A, VA(3), 0, PTE(FRAME(3), PTE_W));
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 0u);
    /* The case the flush checks miss: a change never flushed, then a later
     * flush of another change that happens to cover the same page.  Each
     * unlock in between is where it shows. */
    change(&e, e.a, TASK_A, VA(4), PTE(FRAME(4), PTE_W), PTE(FRAME(4), 0));
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(4));
    /* Page tables unhooked and never flushed. */
    flush(&e, e.a, -1);
    tc_tables_unlinked(e.a);
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 1u);
    /* A lazy CPU needs no flush before the unlock (it catches up later). */
    flush(&e, e.a, -1);
    e.cpu[1].lazy = true;
    change(&e, e.a, TASK_A, VA(5), PTE(FRAME(5), PTE_W), 0);
    flush(&e, e.a, 0);                          /* cpu 1 skipped */
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 0u);
    EXPECT_EQ(t, e.md.violations, 3u);
    env_free(&e);
}

/*
 * Two threads change one mm at once (copy-on-write faults under the read
 * side, docs/tlbcheck.md "Concurrent changes"): A's change is numbered
 * first, B bumps tlb_gen first.  CPU 1 serves B's request by INVLPG of B's
 * page only - rightly: A's request has not reached it.  B's flush_end must
 * not ask for A's open change, done_seq must stay below it, A's frame must
 * stay pending, and each thread's read-side release answers for its own
 * change only.  Then A's flush, with CPU 1 flushing A's page, closes it;
 * and A's flush that forgets CPU 1 is caught.
 */
static void model_concurrent_authors(struct ktest *t)
{
    ENV(t, e);
    for (unsigned c = 0; c < 2; c++)
        tc_cr3_write(&e.md, &e.cpu[c], e.a, 2001, 0, false, false);
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(1), PTE_W), PTE(FRAME(2), PTE_W));   /* A: COW copy */
    change(&e, e.a, TASK_B, VA(2), PTE(FRAME(3), PTE_W), PTE(FRAME(4), PTE_W));   /* B: COW copy */
    /* B's flush: both CPUs INVLPG B's page. */
    uint64_t tok = tc_flush_begin(e.a);
    for (unsigned c = 0; c < 2; c++)
        tc_invlpg(&e.md, &e.cpu[c], VA(2));
    tc_check_flush_end_by(&e.md, e.a, tok, TASK_B);
    tc_frames_flushed(e.f, e.a, tok);
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_EQ(t, e.a->done_seq, 0ul);                 /* below A's open change */
    EXPECT_EQ(t, frame_free(&e, 3), 0u);              /* B's old frame: flushed */
    EXPECT_EQ(t, frame_free(&e, 1), 1u);              /* A's: its flush is pending */
    EXPECT_STREQ(t, e.md.last_op, "frame_free");
    /* Releases of the read side: B owes nothing, A its own change. */
    tc_check_mm_read_unlock(&e.md, &e.cpu[0], e.a, TASK_B);
    EXPECT_EQ(t, e.md.violations, 1u);
    tc_check_mm_read_unlock(&e.md, &e.cpu[0], e.a, TASK_A);
    EXPECT_EQ(t, e.md.violations, 2u);
    EXPECT_STREQ(t, e.md.last_op, "mm_unlock");
    EXPECT_EQ(t, user_return(&e, 1, TASK_B), 0u);
    EXPECT_EQ(t, user_return(&e, 0, TASK_A), 1u);
    /* A's flush, both CPUs INVLPG A's page: everything closed and clean. */
    tok = tc_flush_begin(e.a);
    for (unsigned c = 0; c < 2; c++)
        tc_invlpg(&e.md, &e.cpu[c], VA(1));
    tc_check_flush_end_by(&e.md, e.a, tok, TASK_A);
    EXPECT_EQ(t, e.md.violations, 3u);
    EXPECT_EQ(t, e.a->done_seq, 2ul);
    tc_check_mm_read_unlock(&e.md, &e.cpu[0], e.a, TASK_A);
    EXPECT_EQ(t, mm_unlock_check(&e, e.a), 0u);
    tc_check_user_access(&e.md, &e.cpu[1], "user_access");
    EXPECT_EQ(t, e.md.violations, 3u);
    /* A's next change, whose flush forgets CPU 1: caught at its end,
     * although B's change of the same round is exempt. */
    change(&e, e.a, TASK_A, VA(5), PTE(FRAME(5), PTE_W), PTE(FRAME(6), PTE_W));
    change(&e, e.a, TASK_B, VA(7), PTE(FRAME(7), PTE_W), PTE(FRAME(8), PTE_W));
    tok = tc_flush_begin(e.a);
    tc_invlpg(&e.md, &e.cpu[0], VA(5));
    tc_check_flush_end_by(&e.md, e.a, tok, TASK_A);
    EXPECT_EQ(t, e.md.violations, 4u);
    EXPECT_STREQ(t, e.md.last_op, "flush_end");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(5));
    env_free(&e);
}

/*
 * Holes (docs/tlbcheck.md, "Concurrent changes"): the folding of a slot
 * passes another author's open change that this CPU has not flushed yet
 * as a hole, instead of stopping there.  A numbered change of one page
 * (the frame replaced, as a copy-on-write copy does), and `task`'s flush
 * of n pages from `first`: each CPU INVLPGs each page, except CPU
 * `skip_cpu` page `skip_va` (skip_cpu -1: none), then its flush_end.
 */
static uint64_t numbered(struct tc_mm *m, const void *task, uintptr_t va)
{
    return tc_pte_change_by(m, va, PTE(FRAME(1), PTE_W), PTE(FRAME(2), PTE_W), task);
}

static void flush_pages(struct owed_env *e, struct tc_mm *m, const void *task, uintptr_t first,
                        unsigned n, int skip_cpu, uintptr_t skip_va)
{
    uint64_t tok = tc_flush_begin(m);
    for (unsigned c = 0; c < 2; c++)
        for (unsigned i = 0; i < n; i++)
            if ((int)c != skip_cpu || first + i * PAGE_SIZE != skip_va)
                tc_invlpg(&e->md, &e->cpu[c], first + i * PAGE_SIZE);
    tc_check_flush_end_by(&e->md, m, tok, task);
}

static unsigned user_access(struct owed_env *e, unsigned c)
{
    unsigned before = e->md.violations;
    tc_check_user_access(&e->md, &e->cpu[c], "user_access");
    return e->md.violations - before;
}

#define NB  (TC_FLUSH_SLOTS + 5)        /* B's pages: more than the flush list holds */

/*
 * The page-flush list fills up (B's flush of NB pages) while A's change is
 * open and not flushed on either CPU.  Before holes the slots went blind
 * there.  (a) A's own flush then reaching both CPUs clears it, and nothing
 * is reported for the changes they did flush; (b) in a second round, a
 * page of B's flush that CPU 1 skips, and A's next change that its flush
 * never brings to CPU 1, are both reported.
 */
static void model_holes_page_flushes(struct ktest *t)
{
    ENV(t, e);
    for (unsigned c = 0; c < 2; c++)
        tc_cr3_write(&e.md, &e.cpu[c], e.a, 2001, 0, false, false);
    struct tc_slot *s1 = &e.cpu[1].slot[0];
    /* (a) */
    EXPECT_TRUE(t, numbered(e.a, TASK_A, VA(1)) != 0);
    for (unsigned i = 0; i < NB; i++)
        numbered(e.a, TASK_B, VA(16 + i));
    flush_pages(&e, e.a, TASK_B, VA(16), NB, -1, 0);
    EXPECT_EQ(t, e.md.violations, 0u);          /* A's change: open, another author's */
    EXPECT_FALSE(t, s1->blind);
    EXPECT_EQ(t, s1->nholes, 1u);
    EXPECT_EQ(t, s1->hole[0].va, VA(1));
    flush_pages(&e, e.a, TASK_A, VA(1), 1, -1, 0);
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_EQ(t, s1->nholes, 0u);
    EXPECT_EQ(t, user_access(&e, 0), 0u);
    EXPECT_EQ(t, user_access(&e, 1), 0u);
    /* (b) */
    numbered(e.a, TASK_A, VA(2));
    for (unsigned i = 0; i < NB; i++)
        numbered(e.a, TASK_B, VA(16 + i));
    flush_pages(&e, e.a, TASK_B, VA(16), NB, 1, VA(16 + NB - 1));
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "flush_end");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(16 + NB - 1));
    flush_pages(&e, e.a, TASK_A, VA(2), 1, 1, VA(2));   /* never reaches CPU 1 */
    EXPECT_EQ(t, e.md.violations, 2u);
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(2));
    EXPECT_EQ(t, user_access(&e, 0), 0u);
    EXPECT_EQ(t, user_access(&e, 1), 1u);       /* closed now: below done_seq */
    EXPECT_EQ(t, e.md.last_addr, VA(2));
    env_free(&e);
}

/*
 * The INVLPG that finds the list full is the one of the open change that
 * stops the folding: B's flush of TC_FLUSH_SLOTS pages has filled both
 * CPUs' lists (its end has not come yet), and then A's own flush reaches
 * them.  The folding makes A's change a hole just before that INVLPG is
 * recorded - which covers it.  Neither end reports anything.
 */
static void model_holes_flush_fills_list(struct ktest *t)
{
    ENV(t, e);
    for (unsigned c = 0; c < 2; c++)
        tc_cr3_write(&e.md, &e.cpu[c], e.a, 2001, 0, false, false);
    numbered(e.a, TASK_A, VA(1));
    for (unsigned i = 0; i < TC_FLUSH_SLOTS; i++)
        numbered(e.a, TASK_B, VA(16 + i));
    uint64_t tok_b = tc_flush_begin(e.a);
    for (unsigned c = 0; c < 2; c++)
        for (unsigned i = 0; i < TC_FLUSH_SLOTS; i++)
            tc_invlpg(&e.md, &e.cpu[c], VA(16 + i));
    EXPECT_EQ(t, e.cpu[1].slot[0].nflush, (unsigned)TC_FLUSH_SLOTS);
    flush_pages(&e, e.a, TASK_A, VA(1), 1, -1, 0);
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_EQ(t, e.cpu[1].slot[0].nholes, 0u);
    tc_check_flush_end_by(&e.md, e.a, tok_b, TASK_B);
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_EQ(t, user_access(&e, 0), 0u);
    EXPECT_EQ(t, user_access(&e, 1), 0u);
    env_free(&e);
}

/*
 * One author's flush of more pages than the flush list and the holes hold
 * (a tlb_flush_ceiling above 40; under the write side of mm->lock): while
 * its INVLPGs run, its changes not flushed yet are open, and each time the
 * list fills, the folding stops at the next of them.  The records of the
 * pages before cover nothing above it any more and are dropped - no hole
 * is needed, the slot stays checked, and a page CPU 1 skips is reported.
 */
static void model_holes_one_author_long_flush(struct ktest *t)
{
    ENV(t, e);
    for (unsigned c = 0; c < 2; c++)
        tc_cr3_write(&e.md, &e.cpu[c], e.a, 2001, 0, false, false);
    unsigned n = TC_FLUSH_SLOTS + TC_HOLES + 8;
    for (unsigned i = 0; i < n; i++)
        numbered(e.a, TASK_A, VA(16 + i));
    flush_pages(&e, e.a, TASK_A, VA(16), n, 1, VA(16 + n - 1));
    EXPECT_FALSE(t, e.cpu[1].slot[0].blind);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "flush_end");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, VA(16 + n - 1));
    EXPECT_EQ(t, user_access(&e, 0), 0u);
    env_free(&e);
}

/*
 * More than TC_RING changes while A's change is open.  CPU 1 is lazy while
 * B changes page 3 and then page 4 again and again (its flushes skip CPU 1),
 * and comes back without the catch-up flush it owes; it then flushes page
 * 4 (one INVLPG covers every change of it so far), so the only change it
 * missed is page 3's - pushed out of the ring.  CPU 0 flushed everything:
 * its clean_seq went past A's open change (a hole), so it is not asked for
 * the changes that fell out of the ring.  At A's flush, CPU 1 is reported
 * (before holes, changes pushed out while A was open were never asked
 * for), CPU 0 is not.
 */
static void model_holes_ring(struct ktest *t)
{
    ENV(t, e);
    for (unsigned c = 0; c < 2; c++)
        tc_cr3_write(&e.md, &e.cpu[c], e.a, 2001, 0, false, false);
    numbered(e.a, TASK_A, VA(1));
    e.cpu[1].lazy = true;
    numbered(e.a, TASK_B, VA(3));
    flush_pages(&e, e.a, TASK_B, VA(3), 1, 1, VA(3));
    for (unsigned i = 0; i < TC_RING + 10; i++) {
        numbered(e.a, TASK_B, VA(4));
        flush_pages(&e, e.a, TASK_B, VA(4), 1, 1, VA(4));
    }
    EXPECT_EQ(t, e.md.violations, 0u);
    EXPECT_TRUE(t, e.a->lost_seq > 2);          /* page 3's change is out of the ring */
    e.cpu[1].lazy = false;                      /* no catch-up flush */
    tc_invlpg(&e.md, &e.cpu[1], VA(4));
    flush_pages(&e, e.a, TASK_A, VA(1), 1, -1, 0);
    EXPECT_EQ(t, e.md.violations, 1u);
    EXPECT_STREQ(t, e.md.last_op, "flush_end");
    EXPECT_EQ(t, e.md.last_cpu, 1u);
    EXPECT_EQ(t, e.md.last_addr, 0ul);          /* its address fell out of the ring */
    EXPECT_EQ(t, user_access(&e, 0), 0u);
    EXPECT_EQ(t, user_access(&e, 1), 1u);
    env_free(&e);
}

/* The return to user mode: only the thread that made the mm's latest
 * change owes its flush; another thread of the mm returning meanwhile
 * (the change's author is still between the change and its flush, on
 * another CPU) owes nothing. */
static void model_flush_owed_at_user_return(struct ktest *t)
{
    ENV(t, e);
    tc_cr3_write(&e.md, &e.cpu[0], e.a, 2001, 0, false, false);
    tc_cr3_write(&e.md, &e.cpu[1], e.a, 2001, 0, false, false);
    EXPECT_EQ(t, user_return(&e, 0, TASK_A), 0u);
    change(&e, e.a, TASK_A, VA(1), PTE(FRAME(1), PTE_W), 0);
    EXPECT_EQ(t, user_return(&e, 1, TASK_B), 0u);   /* not B's change */
    EXPECT_EQ(t, user_return(&e, 0, TASK_A), 1u);
    EXPECT_STREQ(t, e.md.last_op, "user_return");
    EXPECT_EQ(t, e.md.last_addr, VA(1));
    EXPECT_EQ(t, e.md.last_cpu, 0u);
    flush(&e, e.a, -1);
    EXPECT_EQ(t, user_return(&e, 0, TASK_A), 0u);
    /* B changes later: A's return does not look at it. */
    change(&e, e.a, TASK_B, VA(2), PTE(FRAME(2), PTE_W), 0);
    EXPECT_EQ(t, user_return(&e, 0, TASK_A), 0u);
    EXPECT_EQ(t, user_return(&e, 1, TASK_B), 1u);
    /* A CPU on no user mm (init_mm) has nothing to check. */
    tc_cr3_write(&e.md, &e.cpu[0], NULL, 0, 0, false, false);
    EXPECT_EQ(t, user_return(&e, 0, TASK_B), 0u);
    EXPECT_EQ(t, e.md.violations, 2u);
    env_free(&e);
}

/* ==== part 2: scenarios on the live system ================================== */

/* The pages (tests/tlbcheck_test_util.h): P1 is unmapped, or
 * write-protected. */

/* An mm with P0 and P1 mapped and filled. */
static struct mm *scenario_mm(void)
{
    return scenario_mm_filled(2, false, 0xb0);
}

/* A "user" thread on the other CPU reading `va` through uaccess (checked
 * by the checker each time) until told to stop: it keeps the mm loaded
 * and the page in its TLB. */
struct reader {
    struct mm *mm;
    uintptr_t va;
    _Atomic bool running, stop;
    int last;                   /* copy_from_user's result at the end */
};

static void reader_fn(void *arg)
{
    struct reader *r = arg;
    uint64_t v;
    copy_from_user(&v, (const void *)r->va, 8);
    atomic_store(&r->running, true);
    while (!atomic_load(&r->stop))
        copy_from_user(&v, (const void *)r->va, 8);
    r->last = copy_from_user(&v, (const void *)r->va, 8);
    unuse_mm(r->mm);
}

/* NULL with one CPU (the scenario then runs without a reader) or out of
 * memory. */
static struct task *reader_start(struct reader *r, struct mm *mm, uintptr_t va)
{
    *r = (struct reader){ .mm = mm, .va = va };
    if (nr_cpus_online < 2)
        return NULL;
    struct task *th = mm_thread_start(reader_fn, r, "tco-reader", mm, other_cpu());
    if (th)
        SPIN_UNTIL(atomic_load(&r->running));
    return th;
}

static int reader_stop(struct reader *r, struct task *th)
{
    if (!th)
        return 0;
    atomic_store(&r->stop, true);
    return kthread_join(th);
}

/*
 * free_before_flush: P1 is unmapped while a thread of the mm reads it on
 * the other CPU; its frame may go back to the allocator only after the
 * flush returned.  With the fault (the unmap releases its frames before
 * the flush) the checker reports at frame_free: the unmapping CPU (the
 * test's, cpu 0), address P1.
 */
static void scenario_unmap_frees_after_flush(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    struct mm *mm = scenario_mm();
    ASSERT_TRUE(t, mm != NULL);
    struct reader r;
    struct task *th = reader_start(&r, mm, P0);
    EXPECT_EQ(t, mm_unmap(mm, P1, PAGE_SIZE), 0);
    EXPECT_EQ(t, reader_stop(&r, th), 0);
    if (th)
        EXPECT_EQ(t, r.last, 0);
    uint64_t v = 0;
    EXPECT_EQ(t, mm_write(mm, P1, &v, 8), -SD_EFAULT);  /* gone */
    mmput(mm);
    user_baseline_check(t, &b);
}

/*
 * skip_flush: P1 is made read-only while a thread of the mm reads it on
 * the other CPU; the old writable translation must be flushed before
 * mprotect releases the mm's lock.  With the fault (mprotect forgets its
 * flush) the checker reports at mm_unlock: cpu 0, address P1 - although
 * the munmap that follows flushes P1 anyway (the flush checks alone would
 * see nothing).
 */
static void scenario_mprotect_flushes(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    struct mm *mm = scenario_mm();
    ASSERT_TRUE(t, mm != NULL);
    struct reader r;
    struct task *th = reader_start(&r, mm, P1);
    EXPECT_EQ(t, mm_protect(mm, P1, PAGE_SIZE, SD_PROT_READ), 0);
    EXPECT_EQ(t, reader_stop(&r, th), 0);
    if (th)
        EXPECT_EQ(t, r.last, 0);                /* still readable */
    EXPECT_EQ(t, mm_unmap(mm, P1, PAGE_SIZE), 0);
    mmput(mm);
    user_baseline_check(t, &b);
}

/*
 * Frames shared after fork, unmapped by both mms at once on two CPUs: the
 * parent unmaps all of them in one munmap; the child, on the other CPU,
 * starts unmapping the same pages one by one as soon as the parent's
 * reference to the first one is gone.  Whichever mm drops a frame's last
 * reference frees it, and by then the OTHER mm's unmapping of the frame
 * must have been flushed too - the frame-lifetime rule checks each free.
 * (When the unmap dropped its references before its flush, this failed
 * with frame_free at once: the child freed frames the parent had unmapped
 * but not yet flushed, while the parent's munmap was still running.)
 */
#define FORK_PAGES  256

struct child_unmapper {
    struct mm *mm;
    struct page *first;         /* the frame of the first page */
    _Atomic bool parent_done;
    _Atomic bool started;
    int err;
};

static void child_unmapper_fn(void *arg)
{
    struct child_unmapper *u = arg;
    atomic_store(&u->started, true);
    SPIN_UNTIL(atomic_load(&u->first->refcount) == 1 || atomic_load(&u->parent_done));
    for (unsigned i = 0; i < FORK_PAGES; i++) {
        int err = mm_unmap(u->mm, P0 + i * PAGE_SIZE, PAGE_SIZE);
        if (err)
            u->err = err;
    }
}

static void scenario_fork_unmap_both(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs a second CPU unmapping the child");
    struct user_baseline b;
    user_baseline_take(&b);
    struct mm *parent = mm_create();
    ASSERT_TRUE(t, parent != NULL);
    EXPECT_EQ(t, mm_map_anon(parent, P0, FORK_PAGES * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < FORK_PAGES; i++) {
        uint64_t v = i;
        EXPECT_EQ(t, mm_write(parent, P0 + i * PAGE_SIZE, &v, 8), 0);
    }
    struct mm *child = mm_fork(parent);
    if (!child) {
        mmput(parent);
        ASSERT_TRUE(t, child != NULL);
    }
    pte_t *pte = paging_walk(child->pml4, P0, false);
    struct child_unmapper u = { .mm = child };
    struct task *th = pte && (*pte & PTE_P) ? kthread_create(child_unmapper_fn, &u, "tco-child") : NULL;
    if (!th) {
        mmput(child);
        mmput(parent);
        ASSERT_TRUE(t, th != NULL);
    }
    u.first = pa_to_page(*pte & PTE_ADDR);
    EXPECT_EQ(t, (unsigned)atomic_load(&u.first->refcount), 2u);  /* parent and child */
    kthread_bind(th, other_cpu());
    kthread_start(th);
    SPIN_UNTIL(atomic_load(&u.started));
    EXPECT_EQ(t, mm_unmap(parent, P0, FORK_PAGES * PAGE_SIZE), 0);
    atomic_store(&u.parent_done, true);
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_EQ(t, u.err, 0);
    mmput(child);
    mmput(parent);
    user_baseline_check(t, &b);                 /* the suite's leak check counts the frames */
}

/*
 * Holes on the live checker (docs/tlbcheck.md, "Concurrent changes"): a
 * writer thread per CPU (up to 8) of one mm breaks copy-on-write of its own
 * pages after each fork, one page each per step.  A hole needs one
 * interleaving: the other writers' changes recorded (open), their tlb_gen
 * bumps not made, while the leader (writer 0) makes its change and bumps,
 * so that its flush reaches CPUs exactly one generation behind, which
 * INVLPG only its page - its flush_end then passes the others' open
 * changes as holes.
 *
 * The interleaving is forced, never waited for with a clock: each
 * follower's flush is held in tlb_flush_begin_test_hook (after its checker
 * token, before F1) until the leader's flush of the step returned, and the
 * leader writes only once every follower is held there.  Both waits end on
 * the other side's progress.  (A fixed pause instead - udelay(200) on the
 * odd CPUs, as this test had - is a race against the host: when the even
 * CPU's vCPU lost its host core for longer than the pause, the odd CPU
 * bumped first, and the even CPU's request found CPUs two generations
 * behind and flushed them in full - no hole, in all 40 rounds of some
 * smp2 boots on a loaded 2-core host.)
 *
 * Every step then makes holes, whatever the host does: at the leader's F1
 * no other flush of the mm is under way (the last step's returned before
 * the barrier; this step's followers are held before F1, the fork's
 * returned before the round), so the leader's own CPU - running the leader,
 * the mm loaded and not lazy - is at the generation just below the
 * leader's and INVLPGs only its page, while each follower's change is
 * numbered below the leader's token and stays open until the leader's
 * flush_end has passed it.  Each step counts the holes its leader's flush
 * made; the checker judges every flush, so the boot passes only if no hole
 * led to a report.  Last in the suite: the inject rows stop at the
 * scenarios above.
 */
#define LIVE_BASE       0x40000000ul
#define LIVE_PAGES      8               /* pages per writer: the steps of a round */
#define LIVE_WRITERS    8
#define LIVE_ROUNDS     3

struct live_writer {
    struct task *task;                  /* set before the hook is */
    unsigned index;                     /* 0: the leader */
    uint64_t step;                      /* the step of its write (its own) */
    uint64_t held_step;                 /* the step its flush was held in (its own) */
};

struct live_ctl {
    struct mm *mm;
    unsigned nthreads;
    _Atomic int round;                  /* the round the writers may run; -1: leave */
    _Atomic uint64_t done;              /* writers that wrote their pages, all rounds */
    _Atomic uint64_t arrived;           /* arrivals at the per-page barrier, all rounds */
    _Atomic uint64_t held;              /* followers' flushes held before F1, all steps */
    _Atomic uint64_t leader_step;       /* the last step whose leader's write returned */
    _Atomic uint64_t progress;
    _Atomic unsigned errors;            /* writes that failed */
    _Atomic unsigned unforced;          /* steps whose interleaving a wait gave up on */
    _Atomic unsigned no_hole;           /* steps whose leader's flush made no hole */
    struct live_writer w[LIVE_WRITERS];
};

static struct live_ctl live;

/* The follower running here, or NULL: the leader, and everybody else (the
 * test's own thread flushes for its fork and its mmput). */
static struct live_writer *live_follower(void)
{
    struct task *me = current_task();
    for (unsigned i = 1; i < live.nthreads; i++)
        if (live.w[i].task == me)
            return &live.w[i];
    return NULL;
}

/*
 * tlb_flush_begin_test_hook: a follower's copy-on-write flush - its change
 * recorded, its token taken, F1 not made - waits here until the leader's
 * write of the same step returned (its flush_end ran).  Once per step: the
 * fault makes one flush.  Interrupts are on (a fault may sleep on
 * mm->lock), so this CPU serves the leader's flush IPI meanwhile, as a CPU
 * held in this window must; with them off the leader would wait for us.
 */
static void hold_followers_before_bump(void)
{
    struct live_writer *w = live_follower();
    if (!w || w->held_step == w->step)
        return;
    w->held_step = w->step;
    bool irqs = arch_irqs_enabled();
    atomic_fetch_add(&live.held, 1);
    if (!irqs || !WAIT_UNTIL_PROGRESS(atomic_load(&live.leader_step) >= w->step ||
                                          atomic_load(&live.round) < 0,
                                      atomic_load(&live.held), arch_cpu_relax()))
        atomic_fetch_add(&live.unforced, 1);
}

static uintptr_t live_va(unsigned writer, unsigned p)
{
    return LIVE_BASE + (uintptr_t)(writer * LIVE_PAGES + p) * PAGE_SIZE;
}

static void live_writer_fn(void *arg)
{
    struct live_writer *w = arg;
    struct live_ctl *c = &live;
    bool leader = w->index == 0;
    uint64_t step = 0;
    for (int r = 1;; r++) {
        WAIT_UNTIL_PROGRESS(atomic_load(&c->round) >= r || atomic_load(&c->round) < 0,
                            atomic_load(&c->progress), yield());
        if (atomic_load(&c->round) < 0)
            break;
        for (unsigned p = 0; p < LIVE_PAGES; p++) {
            meet_all(&c->arrived, &step, c->nthreads, &c->round);
            w->step = step;
            uint64_t holes0 = 0;
            if (leader) {
                /* Every follower's change made, its bump held. */
                if (!WAIT_UNTIL_PROGRESS(atomic_load(&c->held) >= step * (c->nthreads - 1) ||
                                             atomic_load(&c->round) < 0,
                                         atomic_load(&c->held), arch_cpu_relax()))
                    atomic_fetch_add(&c->unforced, 1);
                holes0 = counter_sum(COUNTER(tlbcheck, holes));
            }
            uint64_t v = (uint64_t)r;
            if (copy_to_user((void *)live_va(w->index, p), &v, sizeof(v)) != 0)
                atomic_fetch_add(&c->errors, 1);
            if (leader) {
                /* Our flush_end made them: the followers' flushes are
                 * still held before theirs. */
                if (counter_sum(COUNTER(tlbcheck, holes)) == holes0)
                    atomic_fetch_add(&c->no_hole, 1);
                atomic_store(&c->leader_step, step);
            }
            atomic_fetch_add(&c->progress, 1);
        }
        atomic_fetch_add(&c->done, 1);
    }
    unuse_mm(c->mm);
}

static void scenario_holes_live(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    if (!tlbcheck_on())
        KTEST_SKIP(t, "needs tlbcheck=on");
    unsigned mms = mm_live_count();
    static struct task *th[LIVE_WRITERS];
    struct live_ctl *c = &live;
    memset(c, 0, sizeof(*c));
    c->nthreads = nr_cpus_online < LIVE_WRITERS ? nr_cpus_online : LIVE_WRITERS;
    c->mm = mm_create();
    ASSERT_TRUE(t, c->mm != NULL);
    ASSERT_EQ(t, mm_map_anon(c->mm, LIVE_BASE, (size_t)c->nthreads * LIVE_PAGES * PAGE_SIZE, RW), 0);
    for (unsigned i = 0; i < c->nthreads; i++)
        for (unsigned p = 0; p < LIVE_PAGES; p++) {
            uint64_t v = 0;
            ASSERT_EQ(t, mm_write(c->mm, live_va(i, p), &v, sizeof(v)), 0);
        }
    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        if (n == c->nthreads)
            break;
        c->w[n] = (struct live_writer){ .index = n };
        th[n] = mm_thread_start(live_writer_fn, &c->w[n], "holes-live", c->mm, cpu);
        ASSERT_TRUE(t, th[n] != NULL);
        c->w[n].task = th[n];           /* it waits for round 1 before any fault */
        n++;
    }
    ASSERT_EQ(t, n, c->nthreads);
    uint64_t holes0 = counter_sum(COUNTER(tlbcheck, holes));
    int r;
    tlb_flush_begin_test_hook = hold_followers_before_bump;
    for (r = 1; r <= LIVE_ROUNDS; r++) {
        /* Every page becomes copy-on-write (the writers wait between rounds). */
        struct mm *child = mm_fork(c->mm);
        EXPECT_TRUE(t, child != NULL);
        if (!child)
            break;
        atomic_store(&c->round, r);
        bool done = WAIT_UNTIL_PROGRESS(atomic_load(&c->done) >= (uint64_t)r * n,
                                        atomic_load(&c->progress), msleep(1));
        mmput(child);
        if (!done) {
            ktest_log("round %d: the writers made no progress", r);
            break;
        }
    }
    tlb_flush_begin_test_hook = NULL;
    atomic_store(&c->round, -1);
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    uint64_t holes = counter_sum(COUNTER(tlbcheck, holes)) - holes0;
    unsigned errors = atomic_load(&c->errors), unforced = atomic_load(&c->unforced);
    unsigned no_hole = atomic_load(&c->no_hole);
    int rounds = r - 1;
    ktest_log("%u writers, %d rounds of %u steps: %llu holes made; steps without a hole %u, "
              "not forced %u", n, rounds, LIVE_PAGES, (unsigned long long)holes, no_hole, unforced);
    EXPECT_EQ(t, rounds, LIVE_ROUNDS);
    EXPECT_EQ(t, errors, 0u);
    EXPECT_EQ(t, unforced, 0u);
    EXPECT_EQ(t, no_hole, 0u);
    EXPECT_GT(t, holes, 0ull);
    mmput(c->mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static const struct ktest_case tlbcheck_owed_cases[] = {
    KTEST_CASE(model_removes_frame),
    KTEST_CASE(model_frame_freed_before_flush),
    KTEST_CASE(model_shared_frame),
    KTEST_CASE(model_frame_still_mapped),
    KTEST_CASE(model_frame_bounds),
    KTEST_CASE(model_frame_reused),
    KTEST_CASE(model_flush_owed_at_unlock),
    KTEST_CASE(model_flush_owed_at_user_return),
    KTEST_CASE(model_concurrent_authors),
    KTEST_CASE(model_holes_page_flushes),
    KTEST_CASE(model_holes_flush_fills_list),
    KTEST_CASE(model_holes_one_author_long_flush),
    KTEST_CASE(model_holes_ring),
    KTEST_CASE(scenario_unmap_frees_after_flush),
    KTEST_CASE(scenario_mprotect_flushes),
    KTEST_CASE(scenario_fork_unmap_both),
    KTEST_CASE(scenario_holes_live),
    {0},
};
KTEST_SUITE(tlbcheck_owed, tlbcheck_owed_cases);
