/*
 * tests/test_tlb_gen_window.c - the generation a full flush records is the
 * one read BEFORE the flush (invariant G, arch/x86_64/mm/tlb.c; docs/tlb.md,
 * "Generations under concurrent flushes").
 *
 * Three places flush a user mm's ASID in full and then record, in the
 * CPU's slot, the tlb_gen the flush covers: the flush handler (a request
 * too large for INVLPG, or one that skipped a generation), the lazy
 * catch-up (switch_mm back onto the mm a kernel thread borrowed), and
 * switch_mm loading an mm whose slot is missing or stale.  Each must read
 * tlb_gen before its CR3 write.  Read after it, a change whose bump lands
 * between the write and the read is claimed as flushed: its own request,
 * when it reaches this CPU, finds the slot "caught up", and the CPU keeps
 * the old translation.
 *
 * That window is a few instructions, and with flushes of one mm running
 * concurrently (page faults under the read side of mm->lock) it is really
 * there - but no boot hits it by chance.  So each case holds the CPU in it
 * on purpose: the test hook after a flushing CR3 write of the mm
 * (tlb_cr3_flushed_test_hook, tlb_events.h) waits, interrupts off, until
 * the mm's tlb_gen moves; the test thread, on another CPU, then changes a
 * page (mprotect to read-only: one page, one generation) and flushes.  Its
 * IPI reaches the held CPU right after the hook lets it go.
 *
 * A correct kernel serves that request by INVLPG (the slot is exactly one
 * generation behind it: tlb.flush_partial).  A kernel that read the
 * generation after its CR3 write finds the request caught up
 * (tlb.flush_caught_up) and keeps the stale entry: the checker stops the
 * boot at the request's flush_end (tlbcheck=on rows), and the counts of the
 * held CPU fail the test everywhere else.  The counts are exact: during a
 * case nothing else flushes anything on that CPU.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <uapi/shootdown.h>

DECLARE_COUNTER(tlb, flush_partial);
DECLARE_COUNTER(tlb, flush_caught_up);

#define BASE            0x30000000ul
#define PAGES           4
#define HELD_CPU        1

/* The window: which mm, on which CPU, and what the hook saw. */
static struct {
    struct mm *mm;
    _Atomic bool armed;
    _Atomic bool held;                  /* the hook has taken the CPU */
    _Atomic uint64_t held_gen;          /* tlb_gen then */
    _Atomic bool released;              /* the hook saw tlb_gen move and let go */
    _Atomic bool give_up;               /* the test's own step failed: let go at once */
} win;

/* Interrupts off: the changer's IPI waits until we return. */
static void hold_after_flush(struct mm *mm)
{
    if (mm != win.mm || this_cpu_id() != HELD_CPU || !atomic_load(&win.armed))
        return;
    atomic_store(&win.armed, false);    /* once per case */
    uint64_t gen = atomic_load(&mm->tlb_gen);
    atomic_store(&win.held_gen, gen);
    atomic_store(&win.held, true);
    SPIN_UNTIL(atomic_load(&mm->tlb_gen) > gen || atomic_load(&win.give_up));
    atomic_store(&win.released, atomic_load(&mm->tlb_gen) > gen);
}

static void arm(struct mm *mm)
{
    win.mm = mm;
    atomic_store(&win.held, false);
    atomic_store(&win.released, false);
    atomic_store(&win.give_up, false);
    atomic_store(&win.armed, true);
    tlb_cr3_flushed_test_hook = hold_after_flush;
}

static void disarm(void)
{
    tlb_cr3_flushed_test_hook = NULL;
    atomic_store(&win.armed, false);
    win.mm = NULL;
}

static struct mm *make_mm(struct ktest *t)
{
    struct mm *mm = mm_create();
    if (!mm)
        return NULL;
    EXPECT_EQ(t, mm_map_anon(mm, BASE, PAGES * PAGE_SIZE, SD_PROT_READ | SD_PROT_WRITE), 0);
    for (unsigned p = 0; p < PAGES; p++) {
        uint64_t v = p + 1;
        EXPECT_EQ(t, mm_write(mm, BASE + p * PAGE_SIZE, &v, sizeof(v)), 0);
    }
    return mm;
}

/* One page made read-only: a change that needs a one-page flush. */
static void change_page(struct ktest *t, struct mm *mm, unsigned page)
{
    EXPECT_EQ(t, mm_protect(mm, BASE + page * PAGE_SIZE, PAGE_SIZE, SD_PROT_READ), 0);
}

struct held_counts {
    uint64_t partial, caught_up;
};

static struct held_counts held_counts(void)
{
    return (struct held_counts){
        .partial = counter_read_cpu(COUNTER(tlb, flush_partial), HELD_CPU),
        .caught_up = counter_read_cpu(COUNTER(tlb, flush_caught_up), HELD_CPU),
    };
}

/*
 * The test thread's side of every case, once the held CPU's flushing CR3
 * write is under way: wait until the hook holds it, change a page (bump
 * and IPI), check what the held CPU then did with that request.
 * *went_past is the held CPU's flag for "past the flush".
 */
static void change_in_window(struct ktest *t, struct mm *mm, struct held_counts before,
                             _Atomic bool *went_past)
{
    /* The held CPU cannot go past its flush while the hook holds it: if it
     * did, it never made the flushing CR3 write (a kernel that skips that
     * flush - a lab's starting tree - fails here at once). */
    SPIN_UNTIL(atomic_load(&win.held) || atomic_load(went_past));
    bool held = atomic_load(&win.held);
    EXPECT_TRUE(t, held);
    if (!held) {
        ktest_log("CPU %u made no flushing CR3 write of the mm", HELD_CPU);
        atomic_store(&win.give_up, true);
        return;
    }
    uint64_t gen = atomic_load(&win.held_gen);
    change_page(t, mm, 0);              /* returns once the held CPU served it */
    EXPECT_TRUE(t, atomic_load(&win.released));
    EXPECT_EQ(t, atomic_load(&mm->tlb_gen), gen + 1);
    struct held_counts after = held_counts();
    ktest_log("held at generation %llu; the change's request (%llu) was served by: "
              "%llu partial, %llu caught up", (unsigned long long)gen,
              (unsigned long long)gen + 1, (unsigned long long)(after.partial - before.partial),
              (unsigned long long)(after.caught_up - before.caught_up));
    /* Exactly one generation behind it: INVLPG.  "Caught up" means the
     * slot claims a generation whose change it never flushed. */
    EXPECT_EQ(t, after.caught_up - before.caught_up, 0ull);
    EXPECT_EQ(t, after.partial - before.partial, 1ull);
}

/* ---- the flush handler's full flush ---------------------------------------- */

struct flusher {
    struct mm *mm;
    _Atomic bool loaded, go, done, leave;
};

static void flusher_fn(void *arg)
{
    struct flusher *f = arg;
    atomic_store(&f->loaded, true);
    SPIN_UNTIL(atomic_load(&f->go));
    /* The whole mm: past the INVLPG ceiling, so our own handler flushes
     * the ASID in full - and is held right after its CR3 write. */
    flush_tlb_mm_range(f->mm, 0, 0, false, TLB_CAUSE_TEST);
    atomic_store(&f->done, true);
    /* Stay on the mm until the change's request was served here: leave
     * before its IPI arrives (Bochs delivers it late) and it finds the mm
     * not loaded - nothing to check. */
    SPIN_UNTIL(atomic_load(&f->leave));
    unuse_mm(f->mm);
}

static void handler_full_flush_body(void *arg)
{
    struct ktest *t = arg;
    unsigned mms = mm_live_count();
    struct mm *mm = make_mm(t);
    ASSERT_TRUE(t, mm != NULL);
    static struct flusher f;
    f = (struct flusher){ .mm = mm };
    struct task *th = mm_thread_start(flusher_fn, &f, "gen-flusher", mm, HELD_CPU);
    ASSERT_TRUE(t, th != NULL);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&f.loaded)));

    struct held_counts before = held_counts();
    arm(mm);
    atomic_store(&f.go, true);
    change_in_window(t, mm, before, &f.done);
    disarm();
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&f.done)));
    atomic_store(&f.leave, true);
    EXPECT_EQ(t, kthread_join(th), 0);
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* ---- switch_mm onto an mm the CPU has no current slot for ------------------ */

static void loader_fn(void *arg)
{
    struct holder *h = arg;
    /* Running: switch_mm loaded the mm for us (the hook held us in it). */
    atomic_store(&h->loaded, true);
    SPIN_UNTIL(atomic_load(&h->leave));
    unuse_mm(h->mm);
}

static void switch_mm_load_body(void *arg)
{
    struct ktest *t = arg;
    unsigned mms = mm_live_count();
    struct mm *mm = make_mm(t);
    ASSERT_TRUE(t, mm != NULL);
    /* A new mm: no slot of the held CPU has it, so the load flushes (with
     * PCID, an ASID miss; without, every load does). */
    static struct holder h;
    h = (struct holder){ .mm = mm };
    struct held_counts before = held_counts();
    arm(mm);
    struct task *th = mm_thread_start(loader_fn, &h, "gen-loader", mm, HELD_CPU);
    EXPECT_TRUE(t, th != NULL);
    if (th) {
        change_in_window(t, mm, before, &h.loaded);
        disarm();
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.loaded)));
        atomic_store(&h.leave, true);
        EXPECT_EQ(t, kthread_join(th), 0);
    }
    disarm();
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* ---- the lazy catch-up ----------------------------------------------------- */

static void lazy_catch_up_body(void *arg)
{
    struct ktest *t = arg;
    unsigned mms = mm_live_count();
    struct mm *mm = make_mm(t);
    ASSERT_TRUE(t, mm != NULL);
    static struct lazy_holder h;
    struct task *th = lazy_holder_start(&h, mm, HELD_CPU);
    ASSERT_TRUE(t, th != NULL);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.loaded)));
    atomic_store(&h.go_lazy, true);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.lazy)));   /* a kernel thread borrows mm there */

    /* A flush that skips the lazy CPU: its slot falls one behind, so
     * leaving lazy mode flushes (the catch-up). */
    change_page(t, mm, 1);
    struct held_counts before = held_counts();
    arm(mm);
    atomic_store(&h.back, true);        /* the holder runs again: switch_mm's catch-up */
    change_in_window(t, mm, before, &h.returned);
    disarm();
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&h.returned)));
    atomic_store(&h.leave, true);
    EXPECT_EQ(t, kthread_join(th), 0);
    lazy_mm_drop_borrowers(NULL);
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* The test thread's side runs on CPU 0, the held CPU is CPU 1. */
static void run_on_cpu0(struct ktest *t, void (*body)(void *))
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    struct task *b = kthread_create(body, t, "gen-window");
    ASSERT_TRUE(t, b != NULL);
    kthread_bind(b, 0);
    kthread_start(b);
    EXPECT_EQ(t, kthread_join(b), 0);
}

static void test_handler_full_flush(struct ktest *t) { run_on_cpu0(t, handler_full_flush_body); }
static void test_switch_mm_load(struct ktest *t) { run_on_cpu0(t, switch_mm_load_body); }
static void test_lazy_catch_up(struct ktest *t) { run_on_cpu0(t, lazy_catch_up_body); }

static const struct ktest_case tlb_gen_window_cases[] = {
    KTEST_CASE(test_handler_full_flush),
    KTEST_CASE(test_switch_mm_load),
    KTEST_CASE(test_lazy_catch_up),
    {0},
};
KTEST_SUITE(tlb_gen_window, tlb_gen_window_cases);
