/*
 * tests/test_tlb_stale.c - no CPU reads through a stale translation once
 * the change that made it stale has returned.
 *
 * The other TLB suites count what the flush code does (test_tlb_counters.c)
 * or model what each CPU may have cached (test_tlbcheck.c).  This one only
 * looks at what a reader SEES: under QEMU TCG every vCPU keeps its own
 * software TLB, filled by page walks and emptied only by CR3 writes, INVLPG
 * and INVPCID, so a flush that never reached a CPU leaves it reading the old
 * frame - which this suite keeps allocated, with its old contents, until
 * every reader has looked at the new one.  (Bochs flushes its TLB on every
 * CR3 write, so there a missed flush shows only while the CPU stays on one
 * CR3: the busy readers.)
 *
 * One mm, three regions, each word 0 of each page holding the region's
 * generation (see gen_word):
 *   P  P_PAGES pages in a page table that stays (a pin page shares it):
 *      remapped to new frames (the INVLPG path, one per page), and made
 *      read-only (mprotect) - several pages, so that a flush whose range
 *      stops short of the last one shows;
 *   R  STALE_RANGE_PAGES pages, more than the flush ceiling (33), in a page
 *      table that stays: remapped (the full-flush path);
 *   F  one page alone in its 1 GiB: remapping it frees its page table and
 *      page directory (freed_tables: lazy CPUs are flushed too).
 * The flusher (a thread of the mm on CPU 0) changes one region per round,
 * round kind = round % 4, and after the change has returned publishes the
 * region's new generation, then the round number.  Readers (threads of the
 * mm, one per other CPU) read every page of every region through
 * copy_from_user and check: a value from an older generation than the one
 * published before the read began is a stale read.  A read-only round also
 * checks that a write (copy_to_user; the readers write word 1+cpu of P on
 * every pass, so the CPU had a writable, dirty entry cached) now fails.
 * The flusher waits for every reader to acknowledge each round (one full
 * pass begun after it was published) before it frees the old frames and
 * starts the next.
 *
 * How a reader's CPU spends the rounds (one case each, and one mixed):
 *   busy    - reads in a loop, the mm loaded and not lazy: needs the IPI;
 *   lazy    - after each acknowledged pass sleeps until the next round is
 *             published, so its CPU's idle task borrows the mm lazily: the
 *             flush happens while the CPU is lazy (skipped, or leave_mm on
 *             freed tables) and the CPU must catch up when it returns;
 *   switch  - after each acknowledged pass wakes a thread of ANOTHER mm on
 *             its CPU and sleeps; that partner loads its mm and acknowledges
 *             for the reader, then sleeps too: the flush happens while the
 *             mm is not loaded there (its ASID slot, with PCID, must be
 *             found stale when it comes back).
 * Sleeping (not spinning) readers let their vCPUs halt: with more vCPUs
 * than host cores, spinning ones would starve the flusher.
 *
 * The checks can fail: with flush_tlb_mm_range's IPIs skipped (its
 * smp_call_mask() call removed from arch/x86_64/mm/tlb.c, a temporary
 * break never committed), -smp 4 under TCG fails test_stale_busy at once
 * ("cpu3 (busy): 496502 stale read(s), 6 write(s) through a read-only
 * page", from the first rounds on; the kernel then panics at teardown,
 * stale writes having gone to freed page tables), and test_stale_user
 * (run first) fails with remap_stale's "thread 0 read 0xdec0 at word 0":
 * the decoy now living in the old frame.  Merged with the TLB work
 * (precise flushes, lazy catch-up), tlb_inject=skip_ipi fails
 * test_stale_busy and tlb_inject=skip_catchup fails test_stale_lazy and
 * test_stale_mixed (stale reads from round 1 on).  A missed flush that only
 * a PCID-tagged TLB or a paging-structure cache would keep (noflush_stale,
 * skip_lazy_freed) is invisible to the emulators: the shadow-TLB checker's
 * business (test_tlbcheck.c).
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include "user_test_util.h"
#include <kernel/kmalloc.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <arch/paging.h>
#include <arch/uaccess.h>
#include <uapi/shootdown.h>

#define RW      (SD_PROT_READ | SD_PROT_WRITE)

#define P_ADDR          0x400000ul      /* P and its pin share one page table */
#define P_PAGES         4               /* within the flush ceiling: INVLPG each */
#define P_MARK_PAGE     (P_ADDR + (P_PAGES - 1) * PAGE_SIZE)    /* the readers' writes: P's last page */
#define P_PIN           0x5ff000ul
#define R_ADDR          0x600000ul      /* R and its pin share another */
#define R_PIN           0x7ff000ul
#define F_ADDR          0x40000000ul    /* alone in its 1 GiB (PDPT entry 1) */
#define STALE_RANGE_PAGES 40            /* > the flush ceiling (33) */
#define STALE_ROUNDS    24              /* per case: 6 of each kind */

enum region { REG_P, REG_R, REG_F, NR_REGIONS };
enum kind { KIND_REMAP_P, KIND_REMAP_R, KIND_REMAP_F, KIND_PROTECT_P, NR_KINDS };
enum mode { MODE_BUSY, MODE_LAZY, MODE_SWITCH, NR_MODES };
static const char *const mode_names[NR_MODES] = { "busy", "lazy", "switch" };

static const uintptr_t reg_addr[NR_REGIONS] = { P_ADDR, R_ADDR, F_ADDR };
static const unsigned reg_pages[NR_REGIONS] = { P_PAGES, STALE_RANGE_PAGES, 1 };

/*
 * What word 0 of page i of a region holds at generation gen (both < 256):
 * bytes 0-1 the page index and its complement, bytes 2-3 the generation
 * and its complement, bytes 4-7 a magic.  A reader may copy a word while
 * the flusher's mm_write is storing it into a fresh zero page (both are
 * byte copies), and then sees some bytes still zero.  Such a torn word
 * never passes word_whole() - a byte and its complement cannot both be
 * right unless both were written - and is not a stale read: the old frame,
 * held unchanged, only ever yields whole words.
 */
#define GEN_MAGIC 0x5ea1c0deull
static uint64_t gen_word(uint64_t gen, unsigned i)
{
    uint64_t g = gen & 0xff, x = i & 0xff;
    return GEN_MAGIC << 32 | (g ^ 0xff) << 24 | g << 16 | (x ^ 0xff) << 8 | x;
}

static bool word_whole(uint64_t v)
{
    return v >> 32 == GEN_MAGIC && ((v >> 16 ^ v >> 24) & 0xff) == 0xff &&
           ((v ^ v >> 8) & 0xff) == 0xff;
}

static uint64_t word_gen(uint64_t v)
{
    return (v >> 16) & 0xff;
}

static unsigned word_index(uint64_t v)
{
    return v & 0xff;
}

static enum kind round_kind(uint64_t round)
{
    return (enum kind)(round % NR_KINDS);
}

struct stale_run;

struct reader {
    struct stale_run *run;
    unsigned cpu;
    enum mode mode;
    struct mm *other;           /* MODE_SWITCH: the partner's mm */
    _Atomic uint64_t acked;     /* the last round a full pass began after */
    _Atomic uint64_t pending;   /* MODE_SWITCH: the round the partner acks next */
    _Atomic uint64_t handovers; /* MODE_SWITCH: times the reader woke the partner */
    _Atomic bool ready;         /* the first pass is done (switch: and the partner ran) */
    struct wait_queue partner_wq;
    _Atomic bool finished;
    uint64_t passes;
    /* Failures, with the first one's details for the log. */
    _Atomic unsigned stale, bad_writes, garbage;
    uintptr_t first_va;
    uint64_t first_seen, first_want, first_round;
};

struct stale_run {
    struct mm *mm;
    _Atomic uint64_t round;     /* published after pub_gen; 0 before the first */
    _Atomic uint64_t pub_gen[NR_REGIONS];
    _Atomic bool stop;
    struct wait_queue wq;       /* sleeping readers wait here for a round */
    unsigned nreaders;
    struct reader readers[MAX_CPUS];
};

static void note_failure(struct reader *rd, _Atomic unsigned *counter, uintptr_t va,
                         uint64_t seen, uint64_t want, uint64_t round)
{
    if (atomic_load(&rd->stale) + atomic_load(&rd->bad_writes) + atomic_load(&rd->garbage) == 0) {
        rd->first_va = va;
        rd->first_seen = seen;
        rd->first_want = want;
        rd->first_round = round;
    }
    atomic_fetch_add(counter, 1);
}

/*
 * One pass over every page of every region.  want is loaded before each
 * read: the generation published then is one whose change (and flush)
 * returned before the read began, so the read must see it or a newer one.
 * A read may also fault (the flusher is between munmap and map: -EFAULT) or
 * find a fresh zero page (demand-zero before the flusher wrote it): both
 * are new mappings, not stale ones - as is a torn word (gen_word).
 */
static void read_pass(struct reader *rd, uint64_t round)
{
    struct stale_run *run = rd->run;
    for (unsigned r = 0; r < NR_REGIONS; r++) {
        uint64_t want = atomic_load_explicit(&run->pub_gen[r], memory_order_acquire);
        for (unsigned i = 0; i < reg_pages[r]; i++) {
            uintptr_t va = reg_addr[r] + (uintptr_t)i * PAGE_SIZE;
            uint64_t v;
            if (copy_from_user(&v, (const void *)va, sizeof(v)) != 0 || !word_whole(v))
                continue;
            if (word_index(v) != i)
                note_failure(rd, &rd->garbage, va, v, gen_word(want, i), round);
            else if (word_gen(v) < want)
                note_failure(rd, &rd->stale, va, v, gen_word(want, i), round);
        }
    }
    /* Keep a writable, dirty translation of P's last page cached (word
     * 1+cpu: the generation word is the flusher's).  Its outcome is judged only in
     * the acknowledging pass of a read-only round (below). */
    uint64_t mark = rd->passes;
    (void)copy_to_user((void *)(P_MARK_PAGE + 8 * (1 + rd->cpu)), &mark, sizeof(mark));
}

static void reader_fn(void *arg)
{
    struct reader *rd = arg;
    struct stale_run *run = rd->run;
    for (;;) {
        uint64_t round = atomic_load_explicit(&run->round, memory_order_acquire);
        if (atomic_load(&run->stop))
            break;
        read_pass(rd, round);
        rd->passes++;
        /* The first pass, too, so that round 1 already finds a switch
         * reader's CPU on the other mm. */
        if (round > atomic_load(&rd->acked) || rd->passes == 1) {
            /*
             * The first pass begun after the round was published.  A
             * read-only round: mprotect returned before the round was
             * published and the flusher waits for this acknowledgement
             * before it maps P writable again, so the write must fail.
             */
            if (round_kind(round) == KIND_PROTECT_P) {
                uint64_t mark = ~0ull;
                if (copy_to_user((void *)(P_MARK_PAGE + 8 * (1 + rd->cpu)), &mark, sizeof(mark)) == 0)
                    note_failure(rd, &rd->bad_writes, P_MARK_PAGE, 0, 0, round);
            }
            if (rd->mode == MODE_SWITCH) {
                /* The partner acknowledges once its mm is loaded here. */
                atomic_store(&rd->pending, round);
                atomic_fetch_add(&rd->handovers, 1);
                wake_up_all(&rd->partner_wq);
            } else {
                atomic_store_explicit(&rd->acked, round, memory_order_release);
                atomic_store(&rd->ready, true);
            }
        }
        if (rd->mode == MODE_BUSY)
            arch_cpu_relax();
        else
            wait_event(&run->wq, atomic_load(&run->round) > round || atomic_load(&run->stop));
    }
    unuse_mm(run->mm);
    atomic_store(&rd->finished, true);
    wake_up_all(&rd->partner_wq);
}

/*
 * A switch-mode reader's partner: a thread of another mm on its CPU.  Woken
 * after each of the reader's acknowledging passes, it runs - its CPU loads
 * the other mm - acknowledges the round for the reader and sleeps; the
 * CPU then idles lazily on the other mm until the flusher's next change.
 */
static void partner_fn(void *arg)
{
    struct reader *rd = arg;
    uint64_t seen = 0;
    for (;;) {
        wait_event(&rd->partner_wq, atomic_load(&rd->handovers) > seen || atomic_load(&rd->finished));
        if (atomic_load(&rd->handovers) > seen) {
            seen = atomic_load(&rd->handovers);
            atomic_store_explicit(&rd->acked, atomic_load(&rd->pending), memory_order_release);
            atomic_store(&rd->ready, true);
        }
        if (atomic_load(&rd->finished))
            break;
    }
    unuse_mm(rd->other);
}

/* Write generation gen into every page of region r (allocating the new
 * frames of a fresh mapping). */
static int region_fill(struct mm *mm, enum region r, uint64_t gen)
{
    for (unsigned i = 0; i < reg_pages[r]; i++) {
        uint64_t v = gen_word(gen, i);
        int err = mm_write(mm, reg_addr[r] + (uintptr_t)i * PAGE_SIZE, &v, sizeof(v));
        if (err)
            return err;
    }
    return 0;
}

/* Keep region r's frames (with their contents) after the unmap, so that a
 * stale translation still reads the old generation; given back with
 * frames_release once every reader has seen the new one. */
static unsigned frames_hold(struct mm *mm, enum region r, phys_addr_t *held)
{
    unsigned n = 0;
    for (unsigned i = 0; i < reg_pages[r]; i++) {
        phys_addr_t pa;
        if (paging_lookup(mm->pml4, reg_addr[r] + (uintptr_t)i * PAGE_SIZE, &pa, NULL, NULL)) {
            pa &= PTE_ADDR;
            atomic_fetch_add(&pa_to_page(pa)->refcount, 1);
            held[n++] = pa;
        }
    }
    return n;
}

static void frames_release(phys_addr_t *held, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        page_free(held[i], 0);
}

/* munmap + mmap + new contents: the region's pages are new frames. */
static int region_remap(struct mm *mm, enum region r, uint64_t gen)
{
    size_t len = (size_t)reg_pages[r] * PAGE_SIZE;
    int err = mm_unmap(mm, reg_addr[r], len);
    if (!err)
        err = mm_map_anon(mm, reg_addr[r], len, RW);
    if (!err)
        err = region_fill(mm, r, gen);
    return err;
}

struct flusher_args {
    struct ktest *t;
    struct stale_run *run;
    uint64_t local_stale;       /* the flusher's own reads after each change */
    uint64_t rounds_done;
};

static void flusher_fn(void *arg)
{
    struct flusher_args *a = arg;
    struct ktest *t = a->t;
    struct stale_run *run = a->run;
    struct mm *mm = run->mm;
    static phys_addr_t held[STALE_RANGE_PAGES];
    uint64_t gen[NR_REGIONS] = { 1, 1, 1 };

    /* Every reader has the regions cached (and every switch reader's CPU
     * is on the other mm) before the first change. */
    for (unsigned i = 0; i < run->nreaders; i++)
        if (!SPIN_UNTIL(atomic_load(&run->readers[i].ready)))
            ktest_fail_at(t, __FILE__, __LINE__, "reader on cpu%u never started",
                          run->readers[i].cpu);

    for (uint64_t round = 1; round <= STALE_ROUNDS; round++) {
        enum kind k = round_kind(round);
        enum region r = k == KIND_REMAP_R ? REG_R : k == KIND_REMAP_F ? REG_F : REG_P;
        unsigned nheld = 0;
        int err = 0;
        if (k == KIND_PROTECT_P) {
            err = mm_protect(mm, P_ADDR, P_PAGES * PAGE_SIZE, SD_PROT_READ);
        } else {
            nheld = frames_hold(mm, r, held);
            gen[r]++;
            err = region_remap(mm, r, gen[r]);
        }
        EXPECT_EQ(t, err, 0);
        /* The change has returned: publish (pairs with the acquire loads
         * in read_pass and reader_fn). */
        atomic_store_explicit(&run->pub_gen[r], gen[r], memory_order_release);
        atomic_store_explicit(&run->round, round, memory_order_release);
        wake_up_all(&run->wq);

        /* This CPU runs the mm too: the local flush. */
        for (unsigned i = 0; i < reg_pages[r]; i++) {
            uint64_t v;
            if (copy_from_user(&v, (const void *)(reg_addr[r] + (uintptr_t)i * PAGE_SIZE),
                               sizeof(v)) != 0 || v != gen_word(gen[r], i))
                a->local_stale++;
        }

        for (unsigned i = 0; i < run->nreaders; i++) {
            struct reader *rd = &run->readers[i];
            if (!SPIN_UNTIL(atomic_load(&rd->acked) >= round)) {
                ktest_fail_at(t, __FILE__, __LINE__, "reader on cpu%u never saw round %llu",
                              rd->cpu, (unsigned long long)round);
                round = STALE_ROUNDS;   /* give up, but release what we hold */
            }
        }
        frames_release(held, nheld);
        a->rounds_done++;
    }
    atomic_store(&run->stop, true);
    wake_up_all(&run->wq);
    unuse_mm(mm);
}

static struct task *start_mm_thread(void (*fn)(void *), void *arg, struct mm *mm, unsigned cpu,
                                    const char *name)
{
    struct task *th = kthread_create(fn, arg, name);
    if (!th)
        return NULL;
    if (mm) {
        mmget(mm);              /* the reference a user thread owns */
        th->mm = th->active_mm = mm;
    }
    kthread_bind(th, cpu);
    kthread_start(th);
    return th;
}

/* mode_of(cpu) for CPUs 1..n-1 (no readers when NULL); CPU 0 is the
 * flusher's. */
static void run_stale(struct ktest *t, enum mode (*mode_of)(unsigned cpu))
{
    size_t heap = kmalloc_bytes_in_use();
    unsigned mms = mm_live_count();
    struct stale_run *run = kzalloc(sizeof(*run));
    ASSERT_TRUE(t, run != NULL);
    wait_queue_init(&run->wq, "stale-round");
    struct mm *mm = run->mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    for (unsigned r = 0; r < NR_REGIONS; r++) {
        ASSERT_EQ(t, mm_map_anon(mm, reg_addr[r], (size_t)reg_pages[r] * PAGE_SIZE, RW), 0);
        ASSERT_EQ(t, region_fill(mm, r, 1), 0);
        atomic_store(&run->pub_gen[r], 1);
    }
    /* The pins keep P's and R's page tables in place across their remaps. */
    ASSERT_EQ(t, mm_map_anon(mm, P_PIN, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_map_anon(mm, R_PIN, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, P_PIN, true, false, false), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, R_PIN, true, false, false), 0);

    struct task *readers[MAX_CPUS], *partners[MAX_CPUS];
    unsigned n = 0;
    for (unsigned cpu = 1; mode_of && cpu < nr_cpus_online; cpu++, n++) {
        struct reader *rd = &run->readers[n];
        rd->run = run;
        rd->cpu = cpu;
        rd->mode = mode_of(cpu);
        wait_queue_init(&rd->partner_wq, "stale-partner");
        partners[n] = NULL;
        if (rd->mode == MODE_SWITCH) {
            rd->other = mm_create();
            ASSERT_TRUE(t, rd->other != NULL);
            partners[n] = start_mm_thread(partner_fn, rd, rd->other, cpu, "stale-partner");
            ASSERT_TRUE(t, partners[n] != NULL);
        }
        readers[n] = start_mm_thread(reader_fn, rd, mm, cpu, "stale-reader");
        ASSERT_TRUE(t, readers[n] != NULL);
        if (rd->other)
            mmput(rd->other);   /* the partner holds its own reference */
    }
    run->nreaders = n;

    struct flusher_args a = { .t = t, .run = run };
    struct task *fl = start_mm_thread(flusher_fn, &a, mm, 0, "stale-flusher");
    ASSERT_TRUE(t, fl != NULL);
    EXPECT_EQ(t, kthread_join(fl), 0);
    for (unsigned i = 0; i < n; i++) {
        EXPECT_EQ(t, kthread_join(readers[i]), 0);
        if (partners[i])
            EXPECT_EQ(t, kthread_join(partners[i]), 0);
    }

    EXPECT_EQ(t, a.rounds_done, (uint64_t)STALE_ROUNDS);
    EXPECT_EQ(t, a.local_stale, 0u);
    for (unsigned i = 0; i < n; i++) {
        struct reader *rd = &run->readers[i];
        unsigned bad = atomic_load(&rd->stale) + atomic_load(&rd->bad_writes) +
                       atomic_load(&rd->garbage);
        if (bad)
            ktest_log("cpu%u (%s): %u stale read(s), %u write(s) through a read-only page, "
                      "%u garbage; first at %#lx in round %llu: saw %#llx, want >= %#llx",
                      rd->cpu, mode_names[rd->mode], atomic_load(&rd->stale),
                      atomic_load(&rd->bad_writes), atomic_load(&rd->garbage),
                      (unsigned long)rd->first_va, (unsigned long long)rd->first_round,
                      (unsigned long long)rd->first_seen, (unsigned long long)rd->first_want);
        EXPECT_EQ(t, bad, 0u);
        EXPECT_EQ(t, atomic_load(&rd->acked), (uint64_t)STALE_ROUNDS);
        EXPECT_GE(t, rd->passes, (uint64_t)STALE_ROUNDS);
    }

    EXPECT_EQ(t, atomic_load(&mm->mm_users), 1);
    mmput(mm);
    kfree(run);
    lazy_mm_drop_borrowers(NULL);   /* CPUs that still borrow an mm let go */
    EXPECT_EQ(t, mm_live_count(), mms);
    EXPECT_EQ(t, kmalloc_bytes_in_use(), heap);
}

static enum mode all_busy(unsigned cpu) { (void)cpu; return MODE_BUSY; }
static enum mode all_lazy(unsigned cpu) { (void)cpu; return MODE_LAZY; }
static enum mode all_switch(unsigned cpu) { (void)cpu; return MODE_SWITCH; }
static enum mode mixed(unsigned cpu) { return (enum mode)((cpu - 1) % NR_MODES); }

static void test_stale_busy(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    run_stale(t, all_busy);
}

static void test_stale_lazy(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    run_stale(t, all_lazy);
}

static void test_stale_switch(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    run_stale(t, all_switch);
}

/* Every kind of reader at once (with 4+ CPUs). */
static void test_stale_mixed(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    run_stale(t, mixed);
}

/* One CPU: the flusher's own reads after each change (the local flush). */
static void test_stale_local(struct ktest *t)
{
    run_stale(t, NULL);
}

/* The same from ring 3: user/remap_stale.c (readers spin or sleep while the
 * page is replaced, then must read the new contents). */
static void test_stale_user(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    struct user_baseline b;
    user_baseline_take(&b);
    EXPECT_PROGRAM_OK(t, "remap_stale", "20");
    user_baseline_check(t, &b);
}

static const struct ktest_case tlb_stale_cases[] = {
    KTEST_CASE(test_stale_local),
    KTEST_CASE(test_stale_busy),
    KTEST_CASE(test_stale_lazy),
    KTEST_CASE(test_stale_switch),
    KTEST_CASE(test_stale_mixed),
    KTEST_CASE(test_stale_user),
    {0},
};
KTEST_SUITE(tlb_stale, tlb_stale_cases);
