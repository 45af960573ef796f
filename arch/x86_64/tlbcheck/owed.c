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
 * The write side.  No false positive: every change of an mm is made under
 * its lock (kernel/mm) - under the write side by the holder alone, under
 * the read side by faulters that flush their own change before they
 * release it (tc_check_mm_read_unlock) - so while this CPU's thread holds
 * the write side, m->seq counts only changes this thread made - the ones made
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
    if (__atomic_load_n(&m->open.overflow, __ATOMIC_RELAXED))
        return;     /* done_seq stopped for good (open.h): a blind spot */
    if (seq > done)
        owed_report(md, c, m, done, "mm_unlock",
                    "the mm's lock is released with a change that lowered rights and was never "
                    "flushed: other CPUs may go on using the old translation");
}

/*
 * The read side (page faults, several threads at once): the releasing
 * thread owes flushes only for the changes IT made - other readers may be
 * between their own change and their own flush, and answer for it at
 * their own release.  So: this thread has no open change of m
 * (arch/tlbcheck/open.h).
 *
 * No false positive: a change is open from its record (right after the PTE
 * store) until its author's flush_end, which runs before
 * flush_tlb_mm_range() returns on that same thread; a fault flushes its
 * copy-on-write change before it releases the lock (kernel/mm/fault.c).
 * Only this thread adds or closes its own entry, so what it reads under
 * m->lock is exactly what it left open.  (If the set overflowed, a change
 * of ours may have no entry: then nothing is reported - a blind spot.)
 */
void tc_check_mm_read_unlock(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m,
                             const void *task)
{
    uint64_t lo = 0, hi = 0;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    bool open = tc_open_range(m, task, &lo, &hi);
    spin_unlock_irqrestore(&m->lock, flags);
    if (open)
        owed_report(md, c, m, lo - 1, "mm_unlock",
                    "the mm's lock is released for reading with a change this thread made that "
                    "lowered rights and was never flushed: other CPUs may go on using the old "
                    "translation");
}

/*
 * No false positive: an open change of this thread (arch/tlbcheck/open.h)
 * is one it made and whose flush has not returned - the entry is opened at
 * the record, right after the PTE store, and closed by its own
 * flush_end, before flush_tlb_mm_range() returns on this thread; only this
 * thread opens or closes it.  A thread returns to user mode only at the end
 * of a system call, an exception or an interrupt, never between a change
 * and its flush, which the kernel makes in the same call under mm->lock.
 * Changes of other threads (another CPU in the middle of its munmap or of
 * its copy-on-write fault, say) are not looked at: they are still theirs
 * to flush.
 */
void tc_check_user_return(struct tc_model *md, struct tc_cpu *c, const void *task)
{
    struct tc_mm *m = c->cur;
    /* Without the lock first: nothing open at all (the common case).  Our
     * own entry, if any, was added by this thread before it got here. */
    if (!m || !__atomic_load_n(&m->open.n, __ATOMIC_RELAXED))
        return;
    uint64_t lo = 0, hi = 0;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    bool open = tc_open_range(m, task, &lo, &hi);
    spin_unlock_irqrestore(&m->lock, flags);
    if (open)
        owed_report(md, c, m, lo - 1, "user_return",
                    "the thread returns to user mode with a change that lowered rights and was "
                    "never flushed");
}
