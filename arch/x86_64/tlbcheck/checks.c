/*
 * arch/x86_64/tlbcheck/checks.c - the shadow-TLB checker's assertions
 * and its report (arch/tlbcheck/model.h, docs/tlbcheck.md).
 *
 * Each check states below why it cannot fire on a correct kernel although
 * it runs concurrently with switches and flushes on other CPUs.  Two facts
 * are used throughout:
 *   (a) every model update of a TLB instruction happens on the CPU that
 *       executed it, right after it, with interrupts off (arch/tlbcheck/insn.h);
 *       so a CPU handling a flush IPI, or running its own code, has a model
 *       that already shows every instruction it executed before;
 *   (b) a change is recorded (tc_pte_change) right after the PTE store and
 *       before flush_tlb_mm_range() takes its token and bumps tlb_gen, so a
 *       CPU that sees the bumped tlb_gen and flushes records a flush whose
 *       sequence number covers the change (the bump is a seq_cst RMW; the
 *       model's locks order the rest);
 *   (c) the model never lags behind what other CPUs can observe: a
 *       transition that lets others skip or free more (becoming lazy,
 *       ending a borrow, clearing a hazard slot or a cpumask bit, leaving
 *       an mm) is in the model before anything that announces it is
 *       stored; one that makes a CPU stricter (leaving lazy mode, loading
 *       an mm, starting a borrow) reaches the model only after its work
 *       (the catch-up flush, the flushing CR3 load).  A model that lags
 *       the second way only checks less for a moment; the first way would
 *       report a CPU that was legitimately skipped.  Where each hook stands
 *       is in docs/tlbcheck.md, "The model never lags".
 */
#include <arch/tlbcheck/model.h>
#include <kernel/printk.h>
#include <kernel/panic.h>
#include <kernel/debug/tlb_trace.h>

/* ---- the report ------------------------------------------------------------ */

static void dump_cpu(struct tc_cpu *c)
{
    printk("tlbcheck:   cpu %u: CR3 mm ctx %llu pcid %u%s, borrows ctx %llu, globals all flushed at "
           "kernel change %llu\n", c->id, (unsigned long long)c->cur_ctx, c->cur_pcid,
           c->lazy ? " (lazy)" : "", (unsigned long long)c->borrowed_ctx,
           (unsigned long long)c->kfull_seq);
    for (unsigned p = 0; p < TC_NR_PCIDS; p++) {
        struct tc_slot *s = &c->slot[p];
        if (!s->ctx_id)
            continue;
        printk("tlbcheck:     pcid %u: ctx %llu%s clean to %llu, psc clean to %llu, %u page flushes after, "
               "%u holes%s\n", p, (unsigned long long)s->ctx_id, s->mm ? "" : " (freed: poisoned)",
               (unsigned long long)s->clean_seq, (unsigned long long)s->psc_clean_seq, s->nflush,
               s->nholes, s->blind ? " (blind)" : "");
        for (unsigned h = 0; h < s->nholes; h++)
            printk("tlbcheck:       hole: change seq %llu at 0x%lx\n",
                   (unsigned long long)s->hole[h].seq, s->hole[h].va);
    }
}

static void dump_mm(struct tc_mm *m)
{
    printk("tlbcheck:   mm ctx %llu (%s, the kernel's ctx_id %llu, PML4 %#lx): change seq %llu, "
           "flushes done to %llu, last unlink %llu, lost to %llu\n", (unsigned long long)m->ctx_id,
           m->kernel ? "init_mm" : "user", (unsigned long long)m->kernel_ctx, m->pgd,
           (unsigned long long)m->seq,
           (unsigned long long)m->done_seq, (unsigned long long)m->unlink_seq,
           (unsigned long long)m->lost_seq);
    uint64_t n = m->nchanges < 8 ? m->nchanges : 8;
    for (uint64_t i = m->nchanges - n; i < m->nchanges; i++)
        printk("tlbcheck:     change seq %llu at 0x%lx\n",
               (unsigned long long)m->ring[i % TC_RING].seq, m->ring[i % TC_RING].va);
}

void tc_violation(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uintptr_t addr,
                  const char *op, const char *what)
{
    md->violations++;
    md->last_op = op;
    md->last_cpu = c ? c->id : 0;
    md->last_addr = addr;
    if (!md->live)
        return;
    /* The trace stops here, as it was when the checker saw the violation;
     * panic() prints it once every other CPU is stopped, before its report
     * (tlb_trace_dump_frozen: no lock, so the locks we hold do not matter). */
    tlb_trace_freeze();
    /* The one line the runner's inject-* rows look for. */
    printk("tlbcheck: VIOLATION cpu %u mm ctx %llu addr 0x%lx op %s: %s\n", c ? c->id : 0,
           (unsigned long long)(m ? m->ctx_id : c ? c->cur_ctx : 0), addr, op, what);
    if (c)
        dump_cpu(c);
    if (m)
        dump_mm(m);
    panic("tlbcheck: %s: %s", op, what);
}

/* ---- the checks ------------------------------------------------------------ */

static void stale_report(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uintptr_t va,
                         uint64_t seq, uint64_t target, const char *op)
{
    (void)target;
    if (md->live)
        printk("tlbcheck: stale: change seq %llu (flush token %llu) not flushed on cpu %u pcid %u\n",
               (unsigned long long)seq, (unsigned long long)target, c->id, c->cur_pcid);
    tc_violation(md, c, m, va, op, va ? "a translation older than a flushed change may still be used"
                 : "changes whose addresses fell out of the ring were never fully flushed");
}

/*
 * flush_tlb_mm_range() returned for token: every CPU whose CR3 holds m and
 * that is not lazy must be clean up to token.
 *
 * No false positive:
 *   - a CPU that had m loaded non-lazily when the flusher read the cpumask
 *     got the IPI and the flusher waited for its handler: by (a) its flush
 *     is in the model now;
 *   - a CPU that loaded m after that read saw the bumped tlb_gen (its
 *     cpumask set, a full barrier, pairs with the bump) and loaded with a
 *     flush, or is still between the CR3 write and its hook: then the model
 *     does not show m yet and there is nothing to check;
 *   - a CPU leaving lazy mode is marked non-lazy only at the END of the
 *     switch, after its catch-up flush (tlbcheck_set_lazy(false)); before
 *     that it counts as lazy and is not checked;
 *   - a CPU switching away is either still shown on m (then it was a
 *     target or caught up, as above) or already elsewhere.
 * The model fields read (c): cur moves at the CR3 hook, before anything
 * that CPU publishes afterwards; lazy is set BEFORE is_lazy is stored
 * (publish_lazy in tlb_switch.c: a flusher that skips a lazy CPU finds it
 * lazy here too) and cleared only at the end of the switch
 * (model_switch_done); the slot's flushes are recorded on the target before
 * its IPI handler returns (a).  The flake of issue 9 was this check
 * reading a model that learned "lazy" after the flusher had skipped the
 * CPU.
 */
void tc_check_flush_end(struct tc_model *md, struct tc_mm *m, uint64_t token)
{
    tc_check_flush_end_by(md, m, token, NULL);
}

/*
 * Concurrent flushes (page faults under the read side of mm->lock,
 * arch/tlbcheck/open.h): a flush answers for its author's changes, and
 * for every change already closed - not for another author's change that
 * is still open.  That author may be between its change and its own flush
 * (its F1 comes after ours): a CPU that served our request with INVLPG of
 * our page (exactly one generation behind) rightly still holds the other
 * page's old translation.  The other's own flush_end asks for it.
 */
void tc_check_flush_end_by(struct tc_model *md, struct tc_mm *m, uint64_t token, const void *author)
{
    for (unsigned i = 0; i < md->ncpus; i++) {
        struct tc_cpu *c = &md->cpus[i];
        /* A first look without the CPU's lock (it is that CPU's own, taken
         * by its every hook): a CPU not on m now is either elsewhere or
         * between its CR3 write and the hook - nothing to check, as
         * above.  One on m is looked at again under its lock. */
        if (__atomic_load_n(&c->cur, __ATOMIC_SEQ_CST) != m)
            continue;
        uint64_t flags = spin_lock_irqsave(&c->lock);
        if (c->cur == m && !c->lazy) {
            uintptr_t va = 0;
            uint64_t seq = 0;
            if (!tc_slot_clean_for(&c->slot[c->cur_pcid], token, author, &va, &seq))
                stale_report(md, c, m, va, seq, token, "flush_end");
        }
        spin_unlock_irqrestore(&c->lock, flags);
    }
    uint64_t flags = spin_lock_irqsave(&m->lock);
    tc_open_close(m, author, token);
    spin_unlock_irqrestore(&m->lock, flags);
}

/*
 * This CPU is about to use its loaded mm's user translations.  Every flush
 * that returned (done_seq) must cover it.
 *
 * No false positive: done_seq grows only in tc_check_flush_end, after the
 * flush returned.  If this CPU ran the mm non-lazily when that flush read
 * the cpumask, it was a target and its flush is in the model (a).  If it
 * was lazy, it caught up when it left lazy mode - before returning to user
 * mode or touching user memory.  If it loaded the mm later, it saw the
 * bumped tlb_gen and flushed at the load (or NOFLUSH-loaded a PCID whose
 * generation was current, i.e. flushed after the bump, so after the change
 * by (b)).  Runs with this CPU's lock held and interrupts off, so no flush
 * of its own is half-recorded.
 */
void tc_check_user_access(struct tc_model *md, struct tc_cpu *c, const char *op)
{
    struct tc_mm *m = c->cur;
    if (!m || m->kernel)
        return;                 /* init_mm: kernel flushes are checked when they return */
    /* Lock-free (see mm_seq in tlbcheck/model.c): every CPU of the mm
     * comes here at each system call and interrupt return. */
    uint64_t target = __atomic_load_n(&m->done_seq, __ATOMIC_SEQ_CST);
    uintptr_t va = 0;
    uint64_t seq = 0;
    if (!tc_slot_clean(&c->slot[c->cur_pcid], target, &va, &seq))
        stale_report(md, c, m, va, seq, target, op);
}

/*
 * Page tables of m unhooked at m->unlink_seq are about to be freed: no CPU
 * with m in CR3 - lazy or not, a lazy CPU's hardware may walk speculatively
 * - may still have paging-structure-cache entries from before the unhook.
 *
 * No false positive: the tables are freed only after a freed_tables flush
 * returned; it reached every CPU in the cpumask, lazy ones included, and
 * each either flushed (a full flush or INVLPG: both clear the current
 * PCID's paging-structure caches) or left m (leave_mm).  A CPU loading m
 * after the flusher's cpumask read starts walking from the current PML4,
 * where the tables are already unhooked, and its load flushes (its
 * generation is stale) - or NOFLUSH-loads a slot flushed after the bump.
 * The unhooking, the flush and the free all happen under the write side of
 * mm->lock (page faults, under the read side, never unhook or free a
 * table), so no newer unhooking sneaks in between.
 * The model fields read (c): cur (the CR3 hook runs right after the write,
 * interrupts off, before the CPU can serve the flush IPI or publish
 * anything) and the PCID's paging-structure state (recorded by the flush
 * hooks before the handler returns); the lazy flag is not read.
 */
void tc_check_tables_free(struct tc_model *md, struct tc_mm *m)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    uint64_t unlink = m->unlink_seq;
    spin_unlock_irqrestore(&m->lock, flags);
    for (unsigned i = 0; i < md->ncpus; i++) {
        struct tc_cpu *c = &md->cpus[i];
        if (__atomic_load_n(&c->cur, __ATOMIC_SEQ_CST) != m)
            continue;           /* as in tc_check_flush_end */
        flags = spin_lock_irqsave(&c->lock);
        struct tc_slot *s = &c->slot[c->cur_pcid];
        if (c->cur == m && s->ctx_id == m->ctx_id && s->psc_clean_seq < unlink)
            tc_violation(md, c, m, m->unlink_va, "tables_free",
                         c->lazy ? "a lazy CPU can still walk freed page tables (no flush since the unhooking)"
                                 : "a CPU can still walk freed page tables (no flush since the unhooking)");
        spin_unlock_irqrestore(&c->lock, flags);
    }
    /* A PCID of m not loaded now must not be NOFLUSH-loaded again with
     * paging-structure caches from before (checked in tc_cr3_write). */
    flags = spin_lock_irqsave(&m->lock);
    __atomic_store_n(&m->freed_seq, unlink, __ATOMIC_SEQ_CST);
    spin_unlock_irqrestore(&m->lock, flags);
}

/*
 * m's PML4 and struct are about to be freed: no CPU may have it in CR3 or
 * borrow it.  Then no slot may keep a pointer to it.
 *
 * No false positive: in refcount mode a CPU drops its reference after its
 * CR3 write (finish_task_switch) and its borrow ends before; in shootdown
 * and hazard modes the freeing side waited for the IPIs that made every
 * borrower leave (leave_mm's CR3 hook, then tlbcheck_borrow(NULL)) - both
 * recorded on that CPU before the IPI completed (a).
 * The model fields read (c): cur, moved at the CR3 hook before the CPU
 * drops a reference, clears its hazard slot or completes a drop IPI; and
 * borrowed, cleared by borrow_release (kernel/mm/lazy_mm.c) BEFORE the
 * reference is dropped or the hazard slot cleared - the freeing side never
 * sees a borrow end that the model does not show yet.  In shootdown mode the
 * freeing side learns of an ended borrow from a cleared cpumask bit, which
 * a flush handler clears only when the current task no longer borrows the
 * mm: after finish_task_switch's borrow end (interrupts off until then) or
 * after a drop.  In mmput mode the borrowers let go in the handler of the
 * last mmput's teardown flush (leave_mm's CR3 hook, then
 * tlbcheck_borrow(NULL), before the call completes) and the free comes
 * after that flush returned; a borrow that ended earlier, at a switch,
 * was recorded there - and none starts after the teardown (I6,
 * kernel/mm/lazy_mm.c).
 */
void tc_check_mm_free(struct tc_model *md, struct tc_mm *m)
{
    for (unsigned i = 0; i < md->ncpus; i++) {
        struct tc_cpu *c = &md->cpus[i];
        if (!__atomic_load_n(&c->online, __ATOMIC_SEQ_CST))
            continue;           /* has executed nothing: caches nothing of m */
        uint64_t flags = spin_lock_irqsave(&c->lock);
        if (c->cur == m)
            tc_violation(md, c, m, m->pgd, "mm_free", "the mm is freed while this CPU's CR3 holds its PML4");
        else if (c->borrowed == m)
            tc_violation(md, c, m, m->pgd, "mm_free", "the mm is freed while this CPU's kernel thread borrows it");
        /* The slots that may still cache m's entries are POISONED from now
         * on: ctx_id stays (ids are never reused, so no NOFLUSH load can
         * ever match it - tc_cr3_write), the pointer goes. */
        for (unsigned p = 0; p < TC_NR_PCIDS; p++)
            if (c->slot[p].mm == m)
                c->slot[p].mm = NULL;
        if (c->cur == m)
            __atomic_store_n(&c->cur, NULL, __ATOMIC_SEQ_CST);
        if (c->borrowed == m)
            c->borrowed = NULL;
        spin_unlock_irqrestore(&c->lock, flags);
    }
}
