/*
 * arch/x86_64/mm/tlb.c - flush_tlb_mm_range(): making a change to a user
 * address space's page tables visible on every CPU (kernel/mm.h,
 * docs/tlb.md).  The switching side is in tlb_switch.c; read its header
 * comment first (the per-CPU states and the ordering rule S1-S3).
 *
 * GENERATIONS.  mm->tlb_gen counts the changes made to mm's page tables
 * that need a flush; each flush request carries the generation it made
 * (new_gen).  Each CPU records, per ASID slot, the generation its cached
 * translations of that mm are known to be no older than (ctxs[a].tlb_gen).
 * Invariant G: a slot's tlb_gen is only ever set to a generation whose
 * changes were all flushed from that PCID (or were made before the
 * flushing CR3 load that filled it).
 *
 * THE PROTOCOL (initiator: thread context, usually holding mm->lock -
 * for writing, or for reading in a copy-on-write fault, so requests of one
 * mm overlap and reach a CPU out of order - after changing the page
 * tables):
 *   1. token = tlb_ev_flush_begin(mm)             (the checker's bracket)
 *   2. F1: new_gen = ++mm->tlb_gen   seq_cst RMW: a full barrier that
 *      orders the page-table stores before it and the reads of step 3
 *      after it.  Pairs with S2 in switch_mm / lazy_catch_up (tlb_switch.c).
 *   3. F2: targets = CPUs in mm->cpumask but us, minus those whose is_lazy
 *      is set - unless page tables are being freed (then lazy CPUs must
 *      stop using them at once: a lazy CPU's page walks can still reach
 *      them) - and minus those that are parked (on init_mm, keeping their
 *      bit only for a borrow: nothing of any user mm to flush, no table of
 *      it to leave; see PARK in tlb_switch.c).  The CPUs left out are
 *      noted by reason (lazy - parked ones with them -, not running mm,
 *      offline) for the trace's record of the batch.
 *   4. One batch of cross-CPU calls to the targets plus ourselves
 *      (smp_call_mask queues the remote calls first, runs ours, then
 *      waits): our local flush overlaps the IPIs in flight.  When no
 *      other CPU is in the cpumask at all (a single-threaded process),
 *      steps 3 and 4 shrink to running the handler here
 *      (flush_this_cpu_only).
 *   5. When the calls have returned, every target has run the handler
 *      (the call completion is store-release R2 -> load-acquire A2 in
 *      kernel/smp/smp_call.c: their flushes happen-before our return, and so
 *      before the caller frees frames and tables).
 *   6. tlb_ev_flush_end(mm, token): the checker's bracket closes.
 *
 * THE HANDLER (on each target and on the initiator, interrupts off):
 *   - mm not loaded here: nothing to flush (our slot for it, if any, is
 *     caught up by generation when we load it again).  If our current task
 *     borrows mm (it left mm's tables for init_mm's on an earlier
 *     freed_tables flush), the bit must stay: park (see F2), so that the
 *     next flushes of mm stop calling us for nothing.  If our current task
 *     does not borrow mm either, clear our bit in mm->cpumask (the lazy
 *     clearing: only the CPU itself clears its bit, so the invariant "every
 *     CPU whose loaded_mm is M or whose current task borrows M has its
 *     bit" holds: a CPU sets its bit before it loads M (switch_mm) and
 *     before it can borrow M (borrowing starts from a CPU with M loaded).
 *     current_task()->active_mm is only compared, never dereferenced: a
 *     borrowed mm may be on its way out.
 *   - lazy on mm: with freed_tables, leave_mm() at once (the kernel thread
 *     keeps its borrow; CR3 moves to init_mm) and park; otherwise nothing -
 *     it catches up when it leaves lazy mode (lazy_catch_up).
 *   - loaded, not lazy: compare generations (local = our slot's, mm's):
 *       local >= new_gen          caught up: nothing (a later flush, or
 *                                 our own CR3 load, covered it)
 *       new_gen == local + 1 and  INVLPG each page (drops the current
 *       pages <= ceiling          PCID's paging-structure caches too, so
 *                                 this is enough for freed tables); local
 *                                 = new_gen.  Only from exactly one behind:
 *                                 requests can arrive out of order, and a
 *                                 partial flush says nothing about the
 *                                 generations it skipped.
 *       otherwise                 full flush of our ASID (flushing CR3
 *                                 load of the same PCID); local = mm's
 *                                 generation read BEFORE the flush.
 *   - then, for lazy_mm=mmput's teardown flush only (the last mmput's, with
 *     freed_tables): end the current task's borrow of mm, if it has one
 *     (lazy_mm_flush_end_borrow, kernel/mm/lazy_mm.c).
 */
#include <arch/x86/tlbstate.h>
#include <arch/tlbflush.h>
#include <arch/paging.h>
#include <arch/mmu_context.h>
#include <arch/x86/x86.h>
#include <kernel/boot_options.h>
#include <kernel/lazy_mm.h>
#include <kernel/lock_order.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/preempt.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/debug/tlb_events.h>
#include <uapi/shootdown.h>
#include <stdatomic.h>

/* INVLPG each page up to this many; past it one full flush is cheaper.
 * Linux's default; every INVLPG is a serializing few hundred cycles. */
unsigned tlb_flush_ceiling = 33;
CMDLINE_UINT(tlb_flush_ceiling, tlb_flush_ceiling, 1, TLB_FLUSH_CEILING_MAX,
             "pages flushed one by one (INVLPG) before a full flush instead");

/* A full flush because the request was not exactly one generation ahead of
 * the slot: it arrived before an earlier request (concurrent flushes of one
 * mm, out of order), or the slot missed one.  Partial flushes and requests
 * found caught up are counted by tlb_ev_flush_work (tlb.flush_partial,
 * tlb.flush_caught_up); tests/test_mm_concurrent.c makes all three happen. */
DEFINE_COUNTER(tlb, flush_full_gen_skip,
               "full flushes taken because a request skipped a generation (arrived out of order)");

struct flush_request {
    struct mm *mm;
    uintptr_t start, end;       /* page aligned; end > start */
    uint64_t new_gen;           /* the generation this request made */
    bool freed_tables;
    bool ends_borrows;          /* lazy_mm=mmput's teardown flush: end the borrows too */
    unsigned from;              /* the initiating CPU */
    enum tlb_flush_cause cause; /* why (for the trace) */
};

/*
 * mm is not loaded here and we stop receiving its flushes: a slot that
 * still caches it would be flushed on our next switch to it anyway (its
 * generation will be stale), but with INVPCID we can drop the PCID's
 * entries now and keep the slot valid at the current generation (a return
 * without further changes is then a NOFLUSH load); without INVPCID the
 * slot is marked invalid (ctx_id 0), so a return is a miss and a flushing
 * load.  Either way the slot never claims more than invariant G allows.
 */
static void drop_cached_asid(struct cpu_tlbstate *ts, struct mm *mm)
{
    if (!tlb_use_pcid)
        return;
    for (unsigned a = 0; a < TLB_NR_ASIDS; a++) {
        if (ts->ctxs[a].ctx_id != mm->ctx_id)
            continue;
        if (tlb_use_invpcid) {
            /* Read before the flush (invariant G). */
            uint64_t gen = atomic_load_explicit(&mm->tlb_gen, memory_order_relaxed);
            tlb_invpcid(INVPCID_SINGLE, asid_to_pcid(a), 0);
            ts->ctxs[a].tlb_gen = gen;
        } else {
            ts->ctxs[a].ctx_id = 0;
            ts->ctxs[a].tlb_gen = 0;
        }
    }
}

/* The handler's work (see the top).  Interrupts off.  Returns what it did
 * (enum tlb_trace_work). */
static int flush_on_this_cpu(const struct flush_request *f)
{
    struct cpu_tlbstate *ts = this_tlbstate();
    struct mm *mm = f->mm;
    unsigned cpu = this_cpu_id();

    if (ts->loaded_mm != mm) {
        /* Clearing the bit lets later flushers skip us: the checker's model
         * must show us off mm already (docs/tlbcheck.md, "The model never
         * lags").  It does: loaded_mm != mm only after a CR3 write and its
         * hook, and the current task stopped borrowing mm only after
         * borrow_release told the checker.  The ASID slot still caches mm
         * until drop_cached_asid below, but it is not loaded, and only our
         * own CR3 hook (interrupts off here) looks at an unloaded slot. */
        if (READ_ONCE(current_task()->active_mm) != mm) {
            if (bitmap_test_bit_atomic(mm->cpumask.bits, cpu)) {
                cpumask_test_and_clear_cpu_atomic(&mm->cpumask, cpu);
                tlb_ev_cpumask_cleared();       /* its race window right after the store */
                drop_cached_asid(ts, mm);
            }
        } else {
            /* Borrowed, not loaded: only after leave_mm, so CR3 holds
             * init_mm (interrupts are off in switch_mm: not SWITCHING). */
            tlb_park_this_cpu();
        }
        return TLBT_WORK_NOT_LOADED;
    }
    if (READ_ONCE(tlbstate_shared(cpu)->is_lazy)) {
        if (!f->freed_tables)
            return TLBT_WORK_LAZY;
        leave_mm();
        tlb_park_this_cpu();        /* the kernel thread goes on borrowing mm */
        return TLBT_WORK_LEAVE_MM;
    }

    /* LAB(generations) BEGIN: loaded, not lazy - nothing if caught up; INVLPG each page if exactly one generation behind and within the ceiling; else a full flush of our ASID. Update our slot's generation (invariant G) and return what you did */
    struct tlb_ctx *slot = &ts->ctxs[ts->loaded_asid];
    uint64_t local = slot->tlb_gen;
    if (local >= f->new_gen)
        return TLBT_WORK_CAUGHT_UP;
    uint64_t pages = (f->end - f->start) / PAGE_SIZE;
    if (f->new_gen == local + 1 && pages <= tlb_flush_ceiling) {
        for (uintptr_t va = f->start; va < f->end; va += PAGE_SIZE)
            tlb_invlpg(va);
        slot->tlb_gen = f->new_gen;
        return TLBT_WORK_PAGES;
    }
    if (f->new_gen != local + 1)
        count_event(tlb, flush_full_gen_skip);
    uint64_t gen = atomic_load_explicit(&mm->tlb_gen, memory_order_relaxed);
    slot->tlb_gen = gen;
    tlb_write_cr3(mm, tlb_use_pcid ? asid_to_pcid(ts->loaded_asid) : 0, false);
    return TLBT_WORK_FULL;
    /* LAB(generations) ELSE
    // Nothing is flushed yet: this CPU keeps its translations of mm.
    return TLBT_WORK_CAUGHT_UP;
    LAB(generations) END */
}

/* The cross-CPU call's function: on each target, and on the initiator. */
static void flush_handler(void *arg)
{
    const struct flush_request *f = arg;
    int work = flush_on_this_cpu(f);
    tlb_ev_flush_work(f->mm, f->from, work);
    /* lazy_mm=mmput: the last mmput's flush also ends this CPU's borrow of
     * the mm (after the work above: a lazy CPU has left the mm already).
     * That this reaches every borrower, and that none starts later, is
     * kernel/mm/lazy_mm.c's ORDERING (mmput): it pairs F2's cpumask read
     * below with the bit set in switch_mm, and our caller's wait (A2) with
     * this call's completion (R2). */
    if (f->ends_borrows)
        lazy_mm_flush_end_borrow(f->mm, f->from);
}

/*
 * F2's first look: is this CPU the only one in mm's cpumask?  The common
 * case of a single-threaded process (its copy-on-write faults, fork's
 * write-protect, its exit).  Read after F1 like F2 (it is part of F2): a CPU
 * whose bit is set later does S2 and S3 after F1 and so finds the new
 * generation itself.  When other bits are set, F2 below reads the words
 * again (each of its reads after F1 as well).
 */
static bool only_this_cpu(struct mm *mm, unsigned me)
{
    unsigned long others = 0;
    for (unsigned i = 0; i < sizeof(mm->cpumask.bits) / sizeof(mm->cpumask.bits[0]); i++) {
        unsigned long w = __atomic_load_n(&mm->cpumask.bits[i], __ATOMIC_RELAXED);
        if (i == me / BITS_PER_LONG)
            w &= ~(1ul << (me % BITS_PER_LONG));
        others |= w;
    }
    return others == 0;
}

/*
 * The batch with no other CPU in it: what F2 and smp_call_mask do for an
 * empty set of targets, without walking the masks and the call slots.  The
 * trace and counters record the same batch (no target, every other CPU not
 * running mm), the handler runs here with interrupts off as smp_call_mask
 * runs the initiator's part, and there is nobody to wait for.  A flush that
 * ends borrows (lazy_mm=mmput) has no lazy CPU to add: none is in the
 * cpumask.
 */
static void flush_this_cpu_only(struct flush_request *f, struct flush_skipped *skipped)
{
    struct cpumask none;
    cpumask_clear(&none);
    for (unsigned i = 0; i < sizeof(skipped->not_running.bits) / sizeof(skipped->not_running.bits[0]); i++)
        skipped->not_running.bits[i] = ~0ul;
    cpumask_clear_cpu(&skipped->not_running, f->from);
    tlb_ev_flush_targets(f->mm, &none, skipped);
    if (f->freed_tables && f->cause == TLB_CAUSE_TEARDOWN)
        tlb_ev_teardown_targets(&none);
    /* As smp_call_mask(..., wait): its caller may hold no spinlock, here
     * too, so that a missing flush of a lock holder shows on one CPU as on
     * many (docs/locking.md, rule 3). */
    lock_order_assert_none_held("making a cross-CPU call that waits");
    uint64_t flags = arch_irq_save();
    flush_handler(f);
    arch_irq_restore(flags);
}

void flush_tlb_mm_range(struct mm *mm, uintptr_t start, uintptr_t end, bool freed_tables,
                        enum tlb_flush_cause cause)
{
    if (mm == &init_mm) {
        /* init_mm's user half (tests map there) is the kernel's tree:
         * every CPU may use it, lazy or not, under PCID 0. */
        flush_tlb_kernel_range_freed(start, end, freed_tables);
        return;
    }
    struct flush_request f = { .mm = mm, .freed_tables = freed_tables, .cause = cause,
                               .ends_borrows = lazy_mm_flush_ends_borrows(freed_tables,
                                                                         cause == TLB_CAUSE_TEARDOWN) };
    f.start = ALIGN_DOWN(start, PAGE_SIZE);
    f.end = ALIGN_UP(end, PAGE_SIZE);
    if (f.end <= f.start) {     /* the whole mm (teardown) */
        f.start = 0;
        f.end = SD_USER_TOP;
    }

    uint64_t token = tlb_ev_flush_begin(mm);
    preempt_disable();          /* "this CPU" stays this CPU */
    unsigned me = this_cpu_id();
    f.from = me;
    /* F1: full barrier; pairs with S2 in switch_mm and lazy_catch_up,
     * the fence in leave_mm and the CR3 write of switch_mm(&init_mm)
     * (tlb_switch.c; tests/models/switch_flush.pml, docs/models.md). */
    f.new_gen = atomic_fetch_add_explicit(&mm->tlb_gen, 1, memory_order_seq_cst) + 1;
    tlb_ev_flush_made(mm, f.start, f.end, f.new_gen, freed_tables, cause);

    /* F2: who needs an IPI, and why each other CPU gets none. */
    struct cpumask targets;
    struct flush_skipped skipped;
    cpumask_clear(&targets);
    flush_skipped_clear(&skipped);
    if (only_this_cpu(mm, me)) {
        flush_this_cpu_only(&f, &skipped);
        preempt_enable();
        tlb_ev_flush_end(mm, token);
        return;
    }
    /* LAB(shootdown) BEGIN: F2 - set in targets each other CPU that must flush now; note in skipped.lazy, .not_running or .offline each other CPU left out */
    /* Whole words of the cpumask at a time (each bit read once, after
     * F1): a loop over all MAX_CPUS CPUs cost more than the INVLPG of a
     * one-page flush.  Only the CPUs in the cpumask are looked at one by
     * one, in increasing order. */
    struct cpumask in_mm;
    for (unsigned i = 0; i < sizeof(in_mm.bits) / sizeof(in_mm.bits[0]); i++) {
        in_mm.bits[i] = __atomic_load_n(&mm->cpumask.bits[i], __ATOMIC_RELAXED);
        skipped.not_running.bits[i] = ~in_mm.bits[i];
    }
    cpumask_clear_cpu(&in_mm, me);
    cpumask_clear_cpu(&skipped.not_running, me);
    cpumask_andnot(&skipped.offline, &in_mm, &cpu_online_mask);
    cpumask_and(&in_mm, &in_mm, &cpu_online_mask);
    bool left_one_out = false;
    unsigned cpu;
    for_each_cpu(cpu, &in_mm) {
        bool lazy = READ_ONCE(tlbstate_shared(cpu)->is_lazy);
        if (lazy && (!freed_tables || tlb_inject(TLB_INJECT_SKIP_LAZY_FREED))) {
            cpumask_set_cpu(&skipped.lazy, cpu);
            continue;
        }
        if (!lazy && !left_one_out && tlb_inject(TLB_INJECT_SKIP_IPI)) {
            left_one_out = true;        /* skip_ipi: one target forgotten */
            continue;
        }
        cpumask_set_cpu(&targets, cpu);
    }
    /* LAB(shootdown) ELSE
    // Nobody is sent an IPI yet: every other CPU keeps its translations.
    LAB(shootdown) END */
    /* Parked targets (on init_mm, their bit kept only for a borrow) have
     * nothing to flush, freed tables or not: leave them out like lazy ones.
     * Read after F1, like the rest of F2: pairs with PARK in switch_mm
     * (tlb_switch.c) - a CPU that loads a user mm again clears the flag and
     * only then, after a full barrier, reads tlb_gen.  Outside the lab's
     * part: a student's F2 calls them, which is only slower. */
    unsigned t;
    for_each_cpu(t, &targets) {
        if (READ_ONCE(tlbstate_shared(t)->parked)) {
            cpumask_clear_cpu(&targets, t);
            cpumask_set_cpu(&skipped.lazy, t);
        }
    }
    /* lazy_mm=mmput: this flush ends the borrows, so it calls every lazy
     * CPU of the cpumask for that reason alone, whatever F2 decided for
     * the TLB's sake (today freed_tables already calls them; a flush that
     * frees tables without IPIs to lazy CPUs must not take the borrows'
     * safety with it - kernel/mm/lazy_mm.c, ORDERING mmput (b)). */
    if (f.ends_borrows) {
        cpumask_or(&targets, &targets, &skipped.lazy);
        cpumask_clear(&skipped.lazy);
    }
    tlb_ev_flush_targets(mm, &targets, &skipped);
    if (freed_tables && cause == TLB_CAUSE_TEARDOWN)
        tlb_ev_teardown_targets(&targets);
    /* One batch: the remote calls are queued (IPIs in flight) before our
     * own flush runs; then we wait for all of them (R2 -> A2). */
    cpumask_set_cpu(&targets, me);
    smp_call_mask(&targets, flush_handler, &f, true);
    preempt_enable();
    tlb_ev_flush_end(mm, token);
}
