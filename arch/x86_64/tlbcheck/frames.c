/*
 * arch/x86_64/tlbcheck/frames.c - frame lifetimes in the shadow-TLB
 * checker: a frame freed while a CPU may still hold a translation to it,
 * or while a page-table entry still maps it (arch/tlbcheck/frames.h,
 * docs/tlbcheck.md "Frame lifetime").
 *
 * A pending record (mm, seq) on a frame says: change `seq` of mm took the
 * frame out of a mapping, and no flush of mm covering it has returned yet,
 * so any CPU that ran mm may still translate to the frame.  Records are
 * made right after the PTE store (by the tlbcheck_pte_change hook, after
 * tc_pte_change numbered the change) and dropped when flush_tlb_mm_range()
 * of mm with a token >= seq returns (tc_frames_flushed, called inside
 * tlbcheck_flush_end: before flush_tlb_mm_range() returns to its caller).
 */
#include <arch/tlbcheck/frames.h>
#include <arch/tlbcheck/model.h>
#include <arch/paging.h>
#include <kernel/printk.h>
#include <lib/string.h>

#define CHUNK_FRAMES    (1ul << TC_FRAME_CHUNK_SHIFT)

void tc_frames_init(struct tc_frames *f, size_t nframes)
{
    f->nframes = nframes;
    for (unsigned i = 0; i < TC_FRAME_LOCKS; i++)
        spin_lock_init(&f->lock[i], "tlbcheck.frame", LOCK_RANK_TC_FRAME);
}

/* The records of frame pfn, or NULL when it is beyond the model. */
static struct tc_frame *frame_of(struct tc_frames *f, uint64_t pfn)
{
    if (pfn >= f->nframes || !f->chunk[pfn >> TC_FRAME_CHUNK_SHIFT])
        return NULL;
    return &f->chunk[pfn >> TC_FRAME_CHUNK_SHIFT][pfn & (CHUNK_FRAMES - 1)];
}

static struct spinlock *lock_of(struct tc_frames *f, uint64_t pfn)
{
    return &f->lock[pfn % TC_FRAME_LOCKS];
}

bool tc_pte_change_removes_frame(uint64_t old, uint64_t new)
{
    if (!(old & PTE_P))
        return false;
    return !(new & PTE_P) || (old & PTE_ADDR) != (new & PTE_ADDR);
}

static void count_mapping(struct tc_frames *f, uint64_t entry, int32_t delta)
{
    struct tc_frame *fr = frame_of(f, (entry & PTE_ADDR) >> PAGE_SHIFT);
    if (fr)
        __atomic_fetch_add(&fr->mapped, delta, __ATOMIC_RELAXED);
}

void tc_frame_map_change(struct tc_frames *f, uint64_t old, uint64_t new)
{
    bool was = old & PTE_P, is = new & PTE_P;
    if (was && is && (old & PTE_ADDR) == (new & PTE_ADDR))
        return;                 /* rights or A/D bits only: the same frame */
    if (was)
        count_mapping(f, old, -1);
    if (is)
        count_mapping(f, new, +1);
}

void tc_frame_unmapped(struct tc_frames *f, struct tc_mm *m, uintptr_t va, uint64_t pa,
                       uint64_t seq)
{
    tc_frame_unmapped_by(f, m, va, pa, seq, NULL);
}

void tc_frame_unmapped_by(struct tc_frames *f, struct tc_mm *m, uintptr_t va, uint64_t pa,
                          uint64_t seq, const void *author)
{
    uint64_t pfn = pa >> PAGE_SHIFT;
    struct tc_frame *fr = frame_of(f, pfn);
    if (!fr || !seq)
        return;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    struct tc_mm_frames *mf = &m->frames;
    if (mf->npending == TC_MM_PENDING) {
        /* Without a place on m's list the record could outlive m: do not
         * make one (a blind spot, never a false report). */
        atomic_fetch_add(&f->untracked, 1);
        spin_unlock_irqrestore(&m->lock, flags);
        return;
    }
    mf->pending[mf->npending].pa = pa & ~(uint64_t)(PAGE_SIZE - 1);
    mf->pending[mf->npending].va = ALIGN_DOWN(va, PAGE_SIZE);
    mf->pending[mf->npending].seq = seq;
    mf->pending[mf->npending].author = author;
    mf->npending++;
    struct spinlock *l = lock_of(f, pfn);
    spin_lock(l);
    unsigned i = 0;
    while (i < TC_FRAME_RECORDS && fr->rec[i].mm)
        i++;
    if (i == TC_FRAME_RECORDS) {
        /* Full: forget the oldest (rec[0]).  Its mm's list still names the
         * frame; dropping it there later finds nothing, which is fine. */
        memmove(&fr->rec[0], &fr->rec[1], (TC_FRAME_RECORDS - 1) * sizeof(fr->rec[0]));
        i = TC_FRAME_RECORDS - 1;
        atomic_fetch_add(&f->forgotten, 1);
    }
    fr->rec[i].seq = seq;
    /* Published last: tc_check_frame_free reads mm without the lock first. */
    __atomic_store_n(&fr->rec[i].mm, m, __ATOMIC_RELEASE);
    spin_unlock(l);
    spin_unlock_irqrestore(&m->lock, flags);
}

/* Drop m's record `seq` on frame pa (frame lock held). */
static void frame_drop(struct tc_frame *fr, struct tc_mm *m, uint64_t seq)
{
    unsigned k = 0;
    for (unsigned i = 0; i < TC_FRAME_RECORDS; i++) {
        if (fr->rec[i].mm == m && fr->rec[i].seq == seq)
            continue;
        fr->rec[k++] = fr->rec[i];
    }
    for (; k < TC_FRAME_RECORDS; k++)
        __atomic_store_n(&fr->rec[k].mm, NULL, __ATOMIC_RELAXED);
}

/* Drop m's pending records up to `upto` whose change is closed (all of
 * them when `all`: m is freed).  m->lock held. */
static void drop_pending(struct tc_frames *f, struct tc_mm *m, uint64_t upto, bool all)
{
    struct tc_mm_frames *mf = &m->frames;
    unsigned k = 0;
    for (unsigned i = 0; i < mf->npending; i++) {
        if (mf->pending[i].seq > upto ||
            (!all && tc_open_has(m, mf->pending[i].author, mf->pending[i].seq))) {
            mf->pending[k++] = mf->pending[i];
            continue;
        }
        uint64_t pfn = mf->pending[i].pa >> PAGE_SHIFT;
        struct tc_frame *fr = frame_of(f, pfn);
        struct spinlock *l = lock_of(f, pfn);
        spin_lock(l);
        frame_drop(fr, m, mf->pending[i].seq);
        spin_unlock(l);
    }
    mf->npending = k;
}

void tc_frames_flushed(struct tc_frames *f, struct tc_mm *m, uint64_t token)
{
    if (!__atomic_load_n(&m->frames.npending, __ATOMIC_RELAXED))
        return;     /* our own records were made by this thread: visible */
    uint64_t flags = spin_lock_irqsave(&m->lock);
    drop_pending(f, m, token, false);
    spin_unlock_irqrestore(&m->lock, flags);
}

void tc_frames_mm_free(struct tc_frames *f, struct tc_mm *m)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    drop_pending(f, m, UINT64_MAX, true);
    spin_unlock_irqrestore(&m->lock, flags);
}

/* The page m's change `seq` unmapped, for the report (0 if unknown). */
static uintptr_t pending_va(struct tc_mm *m, uint64_t pa, uint64_t seq)
{
    for (unsigned i = 0; i < m->frames.npending; i++)
        if (m->frames.pending[i].pa == pa && m->frames.pending[i].seq == seq)
            return m->frames.pending[i].va;
    return 0;
}

/*
 * The block at pa is freed.  A record whose change a completed flush
 * covers (done_seq >= seq: the flush returned, tc_frames_flushed just has
 * not run yet) is no violation; any other is.
 *
 * No false positive (docs/tlbcheck.md): the kernel releases a frame only
 * after the flush covering its removal returned - and that flush's
 * tlbcheck_flush_end dropped the record before flush_tlb_mm_range()
 * returned.  The release (the last frame_put, an acq_rel RMW, then
 * page_free) comes after that return on the releasing CPU, or on another
 * CPU after it saw the reference drop (acq_rel), so the dropping is
 * visible here.  A lazy CPU that may still hold the translation does not
 * count: it uses no user translation before it catches up (checked at
 * user_access), and the freed frame's new contents cannot be reached
 * through a translation that is never used.
 */
void tc_check_frame_free(struct tc_model *md, struct tc_frames *f, struct tc_cpu *c,
                         uint64_t pa, unsigned order)
{
    uint64_t pfn0 = pa >> PAGE_SHIFT;
    for (uint64_t pfn = pfn0; pfn < pfn0 + (1ul << order); pfn++) {
        struct tc_frame *fr = frame_of(f, pfn);
        if (!fr)
            return;
        /* frame_mapped: the last entry's removal happened before this free
         * (see above: the free follows the remover's reference drop), so a
         * correct kernel reads 0 here.  Only a count above 0 is reported: a
         * removal this model did not see made would read below 0 (never
         * happens: every user entry is made through the hooks; a blind
         * spot, not a report, if it did). */
        int32_t mapped = __atomic_load_n(&fr->mapped, __ATOMIC_RELAXED);
        if (mapped > 0) {
            if (md->live)
                printk("tlbcheck: frame %#lx is freed while %d user page-table entr%s still map%s it\n",
                       (unsigned long)(pfn << PAGE_SHIFT), mapped, mapped == 1 ? "y" : "ies",
                       mapped == 1 ? "s" : "");
            tc_violation(md, c, NULL, pfn << PAGE_SHIFT, "frame_mapped",
                         "a frame is freed while an address space still maps it: "
                         "its next owner's data would show through that mapping");
        }
        bool any = false;
        for (unsigned i = 0; i < TC_FRAME_RECORDS; i++)
            any |= __atomic_load_n(&fr->rec[i].mm, __ATOMIC_ACQUIRE) != NULL;
        if (!any)
            continue;       /* the common case: no lock */
        struct spinlock *l = lock_of(f, pfn);
        uint64_t flags = spin_lock_irqsave(l);
        struct tc_frame_rec bad = { 0 };
        for (unsigned i = 0; i < TC_FRAME_RECORDS; i++) {
            struct tc_mm *m = fr->rec[i].mm;
            if (m && fr->rec[i].seq > __atomic_load_n(&m->done_seq, __ATOMIC_SEQ_CST)) {
                bad = fr->rec[i];
                break;
            }
        }
        /* The frame is free now: whatever it was mapped as is history. */
        for (unsigned i = 0; i < TC_FRAME_RECORDS; i++)
            fr->rec[i].mm = NULL;
        spin_unlock_irqrestore(l, flags);
        if (bad.mm) {
            struct tc_mm *m = bad.mm;
            if (md->live)
                printk("tlbcheck: frame %#lx: unmapped by change seq %llu of mm ctx %llu, "
                       "flushes done to %llu\n", (unsigned long)(pfn << PAGE_SHIFT),
                       (unsigned long long)bad.seq, (unsigned long long)m->ctx_id,
                       (unsigned long long)__atomic_load_n(&m->done_seq, __ATOMIC_RELAXED));
            /* The report reads m's list without its lock: it panics next. */
            tc_violation(md, c, m, pending_va(m, pfn << PAGE_SHIFT, bad.seq), "frame_free",
                         "a frame is freed before the flush of its unmapping completed: "
                         "a CPU may still reach it through a stale translation");
        }
    }
}
