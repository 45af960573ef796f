/*
 * arch/x86_64/tlbcheck/open.c - which changes of an mm are still waiting
 * for their author's flush (arch/tlbcheck/open.h, docs/tlbcheck.md
 * "Concurrent changes").
 *
 * done_seq is a watermark: every change numbered up to it has been covered
 * by a returned flush.  With one author at a time (the write side of
 * mm->lock) it is the last flush's token, as it always was.  With several
 * (faults under the read side) it stops below the oldest open change: a CPU
 * may legitimately still hold the old translation of a change whose
 * author's flush has not reached it, and user_access must not ask for it.
 * Changes above the watermark that are already closed are then not asked
 * for at user_access until the watermark passes them (a delay, never a
 * false report); flush_end checked them when their own flush returned.
 */
#include <arch/tlbcheck/model.h>

static int find(const struct tc_mm *m, const void *author)
{
    for (unsigned i = 0; i < m->open.n; i++)
        if (m->open.e[i].task == author)
            return (int)i;
    return -1;
}

void tc_open_add(struct tc_mm *m, const void *author, uint64_t seq)
{
    int i = find(m, author);
    if (i >= 0) {
        m->open.e[i].hi = seq;
        return;
    }
    if (m->open.n == TC_OPEN) {
        /* No place: the change's end cannot be seen, so done_seq may never
         * pass it - it stays where it is for the rest of m's life, and the
         * checks that read it check less (a blind spot, never a report). */
        m->open.overflow = true;
        return;
    }
    m->open.e[m->open.n].task = author;
    m->open.e[m->open.n].lo = seq;
    m->open.e[m->open.n].hi = seq;
    m->open.n++;
}

bool tc_open_has(const struct tc_mm *m, const void *author, uint64_t seq)
{
    int i = find(m, author);
    return i >= 0 && m->open.e[i].lo <= seq && seq <= m->open.e[i].hi;
}

bool tc_open_range(const struct tc_mm *m, const void *author, uint64_t *lo, uint64_t *hi)
{
    int i = find(m, author);
    if (i < 0)
        return false;
    *lo = m->open.e[i].lo;
    *hi = m->open.e[i].hi;
    return true;
}

void tc_open_close(struct tc_mm *m, const void *author, uint64_t token)
{
    int i = find(m, author);
    if (i >= 0) {
        if (m->open.e[i].hi <= token)
            m->open.e[i] = m->open.e[--m->open.n];
        else if (m->open.e[i].lo <= token)
            m->open.e[i].lo = token + 1;    /* changes made after the token stay open */
    }
    if (m->open.overflow)
        return;
    uint64_t done = m->seq;
    for (unsigned k = 0; k < m->open.n; k++)
        if (m->open.e[k].lo - 1 < done)
            done = m->open.e[k].lo - 1;
    if (done > m->done_seq)
        __atomic_store_n(&m->done_seq, done, __ATOMIC_SEQ_CST);
}
