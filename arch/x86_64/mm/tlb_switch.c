/*
 * arch/x86_64/mm/tlb_switch.c - the address-space step of a context switch:
 * switch_mm(), enter_lazy_tlb(), leave_mm(), the per-CPU ASID cache, and
 * the boot-time PCID set-up (docs/tlb.md has the state machine).
 *
 * Per-CPU states (arch/x86/tlbstate.h), all changed by the CPU itself with
 * interrupts off:
 *
 *   LOADED      loaded_mm = M (a user mm), is_lazy = false: a thread of M
 *               runs here.  Flushes of M reach this CPU.
 *   LAZY        loaded_mm = M, is_lazy = true: a kernel thread runs on M's
 *               page tables (it borrows M).  Flushes of M skip this CPU,
 *               unless they free page tables; it catches up when it leaves
 *               lazy mode.
 *   KERNEL      loaded_mm = &init_mm (PCID 0): idle, or a kernel thread
 *               after leave_mm().  PARKED is KERNEL with parked = true:
 *               the kernel thread still borrows the user mm it left, so
 *               that mm's cpumask keeps our bit, and flushers skip us.
 *   SWITCHING   loaded_mm = LOADED_MM_SWITCHING while switch_mm() changes
 *               CR3: equal to no mm.
 *
 * Transitions: switch_mm() LOADED/LAZY/KERNEL/PARKED -> SWITCHING ->
 * LOADED (or -> KERNEL for init_mm); switch_mm() to the loaded mm: LAZY ->
 * LOADED (with the catch-up below); enter_lazy_tlb(): LOADED -> LAZY;
 * leave_mm(): LOADED/LAZY -> KERNEL; the flush handler (tlb.c), finding
 * our kernel thread borrowing an mm it no longer has loaded: KERNEL ->
 * PARKED.
 *
 * THE ORDERING RULE (pairs with the tlb_gen increment in
 * flush_tlb_mm_range(), arch/x86_64/mm/tlb.c).  A CPU that starts using M
 * non-lazily does, in this order:
 *     (S1) is_lazy = false            (if it was lazy)
 *     (S2) set its bit in M->cpumask  (locked RMW = full barrier), or a
 *          full barrier if it was lazy and the bit was set already
 *     (S3) read M->tlb_gen and compare with its ASID slot
 * and a flusher does
 *     (F1) page-table stores; tlb_gen++  (seq_cst RMW = full barrier)
 *     (F2) read M->cpumask and each target's is_lazy
 * With a full barrier between store and load on both sides, at least one
 * side sees the other: either the flusher sees our bit set and is_lazy
 * false (and sends us an IPI, which we serve once interrupts are back on -
 * before we return to user mode), or we read the new tlb_gen at S3 and
 * flush ourselves.  When the bit was set before and we were not lazy, the
 * flusher saw both already, so no barrier is needed there: the bit was set
 * by our own earlier locked RMW (only we clear it), and every store of
 * is_lazy = false is followed by a full barrier before we can get here (S2
 * or the fence in lazy_catch_up, the fence in leave_mm, and in
 * switch_mm(&init_mm) the CR3 write: a serializing instruction drains the
 * store buffer).  When the bit was clear, we hold no entry of M at all (the
 * handler that cleared it dropped M's PCID, drop_cached_asid in tlb.c) and
 * can fill none before the CR3 write that loads M - which is serializing,
 * so the bit is visible before any entry of M exists here: the RMW is there
 * for atomicity (other CPUs' bits share the word), the CR3 write orders it.
 *
 * PARK.  A parked CPU is skipped by F2 whatever it reads of is_lazy, so
 * switch_mm() from PARKED is like a switch from LAZY: (S1') parked = false,
 * then the full barrier of S2 (the RMW if the bit was clear, else a fence),
 * then S3.  Either the flusher's F2 sees parked false (and the bit: sends
 * the IPI) or our S3 sees its generation.  Without the fence, S3 could
 * read an old tlb_gen while a flusher still sees parked (the store in our
 * store buffer) - the model's NO_PARK_FENCE.  Parking itself needs no
 * order: it is set while CR3 holds init_mm, and a flusher that skips us
 * early (the store visible) finds us on init_mm all the same.
 *
 * tests/models/switch_flush.pml checks all of this under x86-TSO store
 * buffers, with a variant per barrier that must fail (docs/models.md).
 */
#include <arch/mmu_context.h>
#include <arch/x86/tlbstate.h>
#include <arch/tlbflush.h>
#include <arch/x86/cpufeatures.h>
#include <arch/paging.h>
#include <arch/x86/x86.h>
#include <kernel/boot_options.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/debug/tlb_events.h>
#include <lib/string.h>
#include <stdatomic.h>

DEFINE_PER_CPU(struct cpu_tlbstate, cpu_tlbstate);
DEFINE_PER_CPU(struct cpu_tlbstate_shared, cpu_tlbstate_shared);

bool tlb_use_pcid;
bool tlb_use_invpcid;
static bool opt_pcid = true, opt_invpcid = true;
CMDLINE_BOOL(pcid, opt_pcid, "use PCID-tagged TLBs if the CPU has them (off: flush at every CR3 write)");
CMDLINE_BOOL(invpcid, opt_invpcid, "use INVPCID if the CPU has it (off: CR4.PGE toggles, CR3 reloads)");

bool arch_tlb_pcid_enabled(void)
{
    return tlb_use_pcid;
}

/* ---- boot ------------------------------------------------------------------ */

static const char *why_off(bool cpu_has, bool opt)
{
    if (!cpu_has)
        return " (the CPU lacks it)";
    if (!opt)
        return " (turned off on the command line)";
    return "";
}

void tlb_init(void)
{
    /* PCID needs global kernel mappings: without PGE every kernel
     * translation would be tagged with the PCID it was used under, and a
     * kernel-range flush (INVLPG in the current PCID) would miss the
     * others. */
    bool pcid_hw = cpu_features.pcid && cpu_features.pge;
    tlb_use_pcid = pcid_hw && opt_pcid;
    tlb_use_invpcid = cpu_features.invpcid && opt_invpcid;
    printk("tlb: pcid %s%s, invpcid %s%s, flush ceiling %u, %u ASIDs per CPU\n",
           tlb_use_pcid ? "on" : "off", why_off(pcid_hw, opt_pcid),
           tlb_use_invpcid ? "on" : "off", why_off(cpu_features.invpcid, opt_invpcid),
           tlb_flush_ceiling, tlb_use_pcid ? TLB_NR_ASIDS : 1);
    tlb_init_this_cpu();
}

/* Each CPU on itself, once, before it runs anything but boot code.  CR3
 * holds the kernel's page tables (init_mm) with CR3[11:0] = 0. */
void tlb_init_this_cpu(void)
{
    uint64_t flags = arch_irq_save();
    struct cpu_tlbstate *ts = this_tlbstate();
    memset(ts, 0, sizeof(*ts));
    ts->loaded_mm = &init_mm;
    WRITE_ONCE(tlbstate_shared(this_cpu_id())->is_lazy, false);
    WRITE_ONCE(tlbstate_shared(this_cpu_id())->parked, false);
    if (tlb_use_pcid) {
        /* Setting PCIDE with CR3[11:0] != 0 is a #GP. */
        BUG_ON(read_cr3() & 0xfff);
        write_cr4(read_cr4() | CR4_PCIDE);
    }
    /* Start from a state the checker can model exactly: init_mm in CR3
     * (PCID 0), nothing cached anywhere. */
    tlb_write_cr3(&init_mm, 0, false);
    local_flush_tlb_all();
    arch_irq_restore(flags);
}

/* ---- the ASID cache ---------------------------------------------------------- */

/*
 * The slot for mm on this CPU, and whether loading it must flush.  A hit
 * whose generation is current can keep its translations (NOFLUSH); a
 * stale hit, or a slot newly taken from another mm, must flush.  Without
 * PCID there is one slot, always flushed.
 */
static unsigned choose_asid(struct cpu_tlbstate *ts, struct mm *mm, uint64_t gen, bool *need_flush)
{
    if (!tlb_use_pcid) {
        *need_flush = true;
        return 0;
    }
    /* LAB(asid) BEGIN: look mm up in the slots (hit: NOFLUSH only if current), else evict round-robin */
    for (unsigned a = 0; a < TLB_NR_ASIDS; a++) {
        if (ts->ctxs[a].ctx_id != mm->ctx_id)
            continue;
        tlb_ev_asid_hit();
        /* noflush_stale: keep the stale PCID's translations. */
        *need_flush = ts->ctxs[a].tlb_gen < gen && !tlb_inject(TLB_INJECT_NOFLUSH_STALE);
        return a;
    }
    unsigned a = ts->next_asid;
    ts->next_asid = (a + 1) % TLB_NR_ASIDS;
    tlb_ev_asid_miss(ts->ctxs[a].ctx_id != 0);
    *need_flush = true;
    return a;
    /* LAB(asid) ELSE
    (void)ts;
    (void)mm;
    (void)gen;
    *need_flush = true;
    return 0;
    LAB(asid) END */
}

/* ---- switching ----------------------------------------------------------------- */

/*
 * is_lazy is read by flushers on other CPUs (flush_tlb_mm_range, F2): a
 * CPU they see lazy gets no IPI.  These two functions are its only writers
 * after boot, and each keeps the shadow-TLB checker's copy (tc_cpu.lazy)
 * from lagging behind what flushers can see - the checker skips a CPU it
 * models as lazy (tc_check_flush_end), so its model must never be LESS
 * lazy than the flag (docs/tlbcheck.md, "The model never lags"):
 *
 *   publish_lazy()    more permissive - flushers may skip us from the
 *                     store on: the model is told FIRST.  Pairs with the
 *                     lazy test in tc_check_flush_end (tlbcheck/checks.c).
 *   publish_unlazy()  stricter - flushers target us again from the store
 *                     on (S1), but a flush that skipped us may still be
 *                     owed (the catch-up, or the flushing CR3 load of the
 *                     next mm): the model is told only by model_switch_done()
 *                     at the end of the switch, after that flush.
 * The model hears of it through the events of kernel/debug/tlb_events.h,
 * each called exactly where the order above needs it: the checker's
 * tlb_ev_lazy_publish_begin() before the store, tlb_ev_switch_done() from
 * model_switch_done().  The events right after each store
 * (tlb_ev_lazy_published, tlb_ev_unlazy_published) are race windows: with
 * tlb_race_delay=N (kernel/debug/race_window.h) they pause there, so that a
 * wrong order here fails the runner's race-* rows.  The checker's hook
 * asserts the order: it is told "lazy" only while the flag is still clear,
 * and "not lazy" only once the flag is clear.
 */
static void publish_lazy(void)
{
    tlb_ev_lazy_publish_begin();        /* the model first (lazy_model_late: not yet) */
    WRITE_ONCE(tlbstate_shared(this_cpu_id())->is_lazy, true);
    tlb_ev_lazy_published();            /* the race window (lazy_model_late: the model now) */
}

static void publish_unlazy(void)
{
    WRITE_ONCE(tlbstate_shared(this_cpu_id())->is_lazy, false);
    tlb_ev_unlazy_published();
}

/* The end of every transition that can leave lazy mode: CR3 and the slot
 * are final, any catch-up flush is done and recorded (tlb_write_cr3's
 * hook).  Only now may the checker hold this CPU to every flush again. */
static void model_switch_done(void)
{
    tlb_ev_switch_done();
}

/* KERNEL -> PARKED (the flush handler, interrupts off; see PARK above). */
void tlb_park_this_cpu(void)
{
    BUG_ON(this_tlbstate()->loaded_mm != &init_mm);
    WRITE_ONCE(tlbstate_shared(this_cpu_id())->parked, true);
}

static bool is_lazy(void)
{
    return READ_ONCE(tlbstate_shared(this_cpu_id())->is_lazy);
}

/* Leaving lazy mode on the mm we kept loaded: flush only if a flush of it
 * skipped us meanwhile (its tlb_gen moved past our slot's). */
static void lazy_catch_up(struct cpu_tlbstate *ts, struct mm *mm)
{
    publish_unlazy();                                       /* S1 */
    /* S2: pairs with F1 (the tlb_gen RMW in flush_tlb_mm_range): either
     * the flusher sees is_lazy false and sends us its IPI, or we see its
     * generation below.  (docs/models.md: NO_CATCHUP_FENCE) */
    atomic_thread_fence(memory_order_seq_cst);
    struct tlb_ctx *slot = &ts->ctxs[ts->loaded_asid];
    uint64_t gen = atomic_load_explicit(&mm->tlb_gen, memory_order_relaxed);   /* S3 */
    /* LAB(generations) BEGIN: the catch-up - decide whether a flush skipped us while lazy, tell tlb_ev_lazy_catchup, and if so flush our ASID in full and update our slot's generation */
    bool flush = slot->tlb_gen < gen && !tlb_inject(TLB_INJECT_SKIP_CATCHUP);
    tlb_ev_lazy_catchup(mm, slot->tlb_gen, gen, flush);
    if (!flush)
        return;
    /* The generation read before the flush: the flush covers it (and
     * maybe more, which a later request will find harmlessly redone). */
    slot->tlb_gen = gen;
    tlb_write_cr3(mm, tlb_use_pcid ? asid_to_pcid(ts->loaded_asid) : 0, false);
    /* LAB(generations) ELSE
    // Never flushes: a CPU back from lazy mode keeps what it cached.
    tlb_ev_lazy_catchup(mm, slot->tlb_gen, gen, false);
    LAB(generations) END */
}

void switch_mm(struct mm *prev, struct mm *next, struct task *tsk)
{
    (void)prev;         /* the scheduler's idea; loaded_mm is the truth */
    (void)tsk;
    BUG_ON(arch_irqs_enabled());
    struct cpu_tlbstate *ts = this_tlbstate();
    struct mm *loaded = ts->loaded_mm;
    unsigned cpu = this_cpu_id();
    BUG_ON(loaded == LOADED_MM_SWITCHING);

    if (loaded == next) {
        /* Same mm: nothing, unless we were lazy on it. */
        if (is_lazy())
            lazy_catch_up(ts, next);
        model_switch_done();
        return;
    }

    bool was_lazy = is_lazy();
    struct cpu_tlbstate_shared *sh = tlbstate_shared(cpu);
    bool was_parked = READ_ONCE(sh->parked);
    ts->loaded_mm = LOADED_MM_SWITCHING;
    barrier();
    if (was_lazy)
        publish_unlazy();                                   /* S1 */
    if (was_parked && next != &init_mm)
        WRITE_ONCE(sh->parked, false);                      /* S1' (PARK) */

    if (next == &init_mm) {
        /* PCID 0 holds only init_mm's translations, and every change to
         * init_mm's mappings is flushed on every CPU in every PCID
         * (flush_tlb_kernel_range), so it is never stale: NOFLUSH. */
        /* The CR3 write is serializing: it is also the full barrier
         * after S1 above, which the header's "bit already set, not lazy"
         * case relies on when we later switch to a user mm.  Pairs with F1
         * in tlb.c (docs/models.md: CR3_NO_DRAIN). */
        tlb_write_cr3(&init_mm, 0, tlb_use_pcid);
        tlb_ev_cr3_load(0, 0, tlb_use_pcid, TLBT_CR3_INIT_MM);
        ts->loaded_mm = &init_mm;
        model_switch_done();
        return;
    }

    /* S2: test before set - the bit is usually set already, and a locked
     * write to a line that every flusher of the mm reads would bounce it
     * for nothing.  A bit we find set was set by our own earlier RMW (only
     * we clear it), so flushers see it already.  The bit also outlives a
     * borrow of next that starts after this CPU ran it: the lazy-mm
     * shootdown (exit_shootdown) and lazy_mm=mmput's teardown flush (F2)
     * find borrowers by it (kernel/mm/lazy_mm.c, ORDERING). */
    bool late_bit = tlb_inject(TLB_INJECT_CPUMASK_LATE);    /* cpumask_late: after the CR3 write */
    if (!bitmap_test_bit_atomic(next->cpumask.bits, cpu) && !late_bit)
        cpumask_test_and_set_cpu_atomic(&next->cpumask, cpu);  /* full barrier */
    else if (was_lazy || was_parked || late_bit)
        atomic_thread_fence(memory_order_seq_cst);          /* orders S1/S1' before S3; pairs with F1 */
    tlb_ev_cpumask_set();

    /* S3 - read BEFORE the CR3 write: the write makes the slot hold at
     * least this generation. */
    uint64_t gen = atomic_load_explicit(&next->tlb_gen, memory_order_relaxed);
    bool flush;
    unsigned asid = choose_asid(ts, next, gen, &flush);
    ts->ctxs[asid].ctx_id = next->ctx_id;
    ts->ctxs[asid].tlb_gen = gen;
    ts->loaded_asid = asid;
    unsigned pcid = tlb_use_pcid ? asid_to_pcid(asid) : 0;
    tlb_write_cr3(next, pcid, !flush);
    if (late_bit)
        cpumask_test_and_set_cpu_atomic(&next->cpumask, cpu);
    tlb_ev_cr3_load(next->ctx_id, pcid, !flush, flush ? TLBT_CR3_FLUSH : TLBT_CR3_NOFLUSH);
    barrier();
    ts->loaded_mm = next;
    model_switch_done();
}

void enter_lazy_tlb(struct mm *mm, struct task *tsk)
{
    (void)mm;           /* the borrowed mm; we keep whatever is loaded */
    (void)tsk;
    struct mm *loaded = this_tlbstate()->loaded_mm;
    if (loaded == &init_mm || is_lazy())
        return;
    /* No CR3 write, no cpumask change: the kernel thread runs on the user
     * mm's page tables (kernel half) and flushers leave us alone - and
     * the checker knows before they can (publish_lazy). */
    publish_lazy();
}

void leave_mm(void)
{
    uint64_t flags = arch_irq_save();
    struct cpu_tlbstate *ts = this_tlbstate();
    struct mm *loaded = ts->loaded_mm;
    BUG_ON(loaded == LOADED_MM_SWITCHING);
    if (loaded != &init_mm) {
        tlb_ev_leave_mm(loaded);
        /*
         * Our bit in loaded->cpumask stays: the current kernel thread may
         * still borrow loaded (active_mm), and the lazy-mm shootdown needs
         * the bit of every borrower.  It goes when a flush finds us
         * neither running nor borrowing it (tlb.c, flush_on_this_cpu).
         */
        ts->loaded_mm = LOADED_MM_SWITCHING;
        barrier();
        tlb_write_cr3(&init_mm, 0, tlb_use_pcid);   /* PCID 0: see switch_mm */
        publish_unlazy();
        /*
         * Make is_lazy == false visible before anything we read later: when
         * the kernel thread goes back to a user task of `loaded`, switch_mm
         * finds our bit set and us not lazy and takes no barrier of its own
         * before S3 - which is right only if every flusher can already see
         * is_lazy false (else it would skip us while S3 reads an old
         * generation).  Pairs with F1 in tlb.c (docs/models.md:
         * NO_LEAVE_FENCE).
         */
        atomic_thread_fence(memory_order_seq_cst);
        ts->loaded_mm = &init_mm;
        model_switch_done();
    }
    /* On init_mm already (the borrow that parked us may end here, lazy_mm.c
     * end_borrow_here): we stay parked until switch_mm loads a user mm.
     * Unparking here would need its own fence before any later S3 that
     * finds parked clear (switch_flush.pml found that): not worth it. */
    arch_irq_restore(flags);
}
