/*
 * arch/x86_64/tlbcheck/owed.c - the "flush owed" checks of the
 * shadow-TLB checker: a change that lowered rights and is never flushed
 * (arch/tlbcheck/owed.h, docs/tlbcheck.md "Flush owed").
 *
 * done_seq (arch/tlbcheck/model.h) is the highest token whose
 * flush_tlb_mm_range() returned: every change numbered up to it was
 * flushed on every CPU that needed it (checked at flush_end; lazy CPUs
 * catch up before they use user translations, checked at user_access).
 * So "change seq is covered by a completed flush" is done_seq >= seq.
 */
#include <arch/tlbcheck/owed.h>
#include <arch/tlbcheck/model.h>
#include <kernel/printk.h>

void tc_owed_note(struct tc_mm *m, const void *task, uint64_t seq)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    __atomic_store_n(&m->owed.task, task, __ATOMIC_RELAXED);     /* read without the lock too */
    __atomic_store_n(&m->owed.seq, seq, __ATOMIC_RELAXED);
    spin_unlock_irqrestore(&m->lock, flags);
}

/* The page of the first change of m after `done`, for the report (0: not
 * known - out of the ring, or page tables unhooked). */
static uintptr_t first_unflushed(struct tc_mm *m, uint64_t done, uint64_t *seq)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    uintptr_t va = 0;
    *seq = m->seq;
    uint64_t n = m->nchanges < TC_RING ? m->nchanges : TC_RING;
    for (uint64_t i = m->nchanges - n; i < m->nchanges; i++)
        if (m->ring[i % TC_RING].seq > done) {
            va = m->ring[i % TC_RING].va;
            *seq = m->ring[i % TC_RING].seq;
            break;
        }
    if (m->unlink_seq > done && m->unlink_seq < *seq) {
        va = m->unlink_va;
        *seq = m->unlink_seq;
    }
    spin_unlock_irqrestore(&m->lock, flags);
    return va;
}

static void owed_report(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uint64_t done,
                        const char *op, const char *what)
{
    uint64_t seq;
    uintptr_t va = first_unflushed(m, done, &seq);
    if (md->live)
        printk("tlbcheck: owed: change seq %llu of mm ctx %llu never flushed (flushes done to %llu)\n",
               (unsigned long long)seq, (unsigned long long)m->ctx_id, (unsigned long long)done);
    tc_violation(md, c, m, va, op, what);
}

/*
 * No false positive: every change of an mm is made under its lock (kernel/
 * mm), so while this CPU's thread holds
 * the lock, m->seq counts only changes this thread made - the ones made
 * before it took the lock were checked at the previous mm_unlock.  Each of
 * them is followed, before the unlock, by a flush_tlb_mm_range() whose
 * token (read after the change: fact (b) of tlbcheck/checks.c) covers it;
 * that flush raised done_seq before it returned, on this thread.  Other
 * CPUs can only raise done_seq meanwhile (a flush of their own), never
 * lower it, and never raise seq (they do not hold the lock).  A lazy CPU
 * needs no flush before the unlock: it catches up before any user access,
 * and done_seq says so (tc_check_flush_end).
 */
void tc_check_mm_unlock(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m)
{
    uint64_t seq = __atomic_load_n(&m->seq, __ATOMIC_SEQ_CST);
    uint64_t done = __atomic_load_n(&m->done_seq, __ATOMIC_SEQ_CST);
    if (seq > done)
        owed_report(md, c, m, done, "mm_unlock",
                    "the mm's lock is released with a change that lowered rights and was never "
                    "flushed: other CPUs may go on using the old translation");
}

/*
 * No false positive: the change m->owed names was made by this very
 * thread (the pair is read under m's lock, and every change writes both
 * under it); a thread returns to user mode only at the end of a system
 * call, an exception or an interrupt, never between a change and its
 * flush, which the kernel makes in the same call under mm->lock.  Changes
 * made by other threads (another CPU in the middle of its munmap, say) are
 * not looked at: they are still theirs to flush.
 */
void tc_check_user_return(struct tc_model *md, struct tc_cpu *c, const void *task)
{
    struct tc_mm *m = c->cur;
    if (!m || __atomic_load_n(&m->owed.task, __ATOMIC_RELAXED) != task)
        return;     /* the common case: no lock */
    /* Also without the lock: this thread makes no change right now, so
     * the number read is this thread's own change or a later one of
     * another thread - either way, if done_seq covers it, it covers ours. */
    if (__atomic_load_n(&m->owed.seq, __ATOMIC_RELAXED) <=
        __atomic_load_n(&m->done_seq, __ATOMIC_SEQ_CST))
        return;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    bool mine = m->owed.task == task;
    uint64_t seq = m->owed.seq;
    spin_unlock_irqrestore(&m->lock, flags);
    uint64_t done = __atomic_load_n(&m->done_seq, __ATOMIC_SEQ_CST);
    if (mine && seq > done)
        owed_report(md, c, m, done, "user_return",
                    "the thread returns to user mode with a change that lowered rights and was "
                    "never flushed");
}
