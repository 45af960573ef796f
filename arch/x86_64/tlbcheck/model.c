/*
 * arch/x86_64/tlbcheck/model.c - the shadow TLB: what each PCID of each
 * CPU may still cache, driven by the TLB instructions the kernel executes
 * and by the page-table changes it makes (arch/tlbcheck/model.h,
 * docs/tlbcheck.md).
 *
 * The hardware rules modeled (Intel SDM vol. 3, 4.10.4.1):
 *   MOV to CR3, PCIDE=1, bit 63 clear: every non-global entry of the NEW
 *     PCID is dropped (TLB and paging-structure caches); other PCIDs keep
 *     theirs.  Bit 63 set (NOFLUSH): nothing is dropped.
 *   MOV to CR3, PCIDE=0: every non-global entry is dropped (all PCIDs: with
 *     PCIDE=0 only PCID 0 exists).
 *   INVLPG va: the entries for va of the CURRENT PCID (and global ones), and
 *     ALL paging-structure-cache entries of the current PCID.
 *   INVPCID 0 {pcid, va}: va in that PCID (we do not count it as flushing
 *     the paging-structure caches - erring on the strict side); 1: all of
 *     that PCID; 2 and 3: all PCIDs (2 also globals).
 *   CR4.PGE toggled (or CR4.PCIDE changed): everything.
 * Global entries (PTE_G with CR4.PGE) map only kernel addresses here; they
 * belong to no PCID and survive CR3 writes and INVPCID types 1 and 3.
 * INVPCID type 0 drops "mappings - except global translations - for the
 * address and PCID" (SDM, INVPCID): not them either.  Only INVLPG (that
 * page), INVPCID type 2 and a CR4.PGE toggle drop them (tlbcheck/kernel.c
 * records which).  User translations are never global.
 *
 * A PCID whose non-current slot is flushed as a whole holds nothing at all
 * afterwards (nothing refills it while another PCID is loaded): the slot
 * becomes empty (ctx_id 0).  The current PCID refills from the page tables
 * as they are now: it becomes clean up to the mm's current change.
 */
#include <arch/tlbcheck/model.h>
#include <arch/paging.h>
#include <kernel/panic.h>
#include <kernel/mm.h>
#include <lib/string.h>
#include <kernel/debug/counters.h>
#include <arch/x86/tlbstate.h>

/* A partial flush under the write side covers up to tlb_flush_ceiling
 * changes of one author; were more than the ring holds, the first would be
 * pushed out before the flush returns and asked for strictly (lost_seq) -
 * a report of a correct kernel.  The option's range keeps them in. */
_Static_assert(TLB_FLUSH_CEILING_MAX <= TC_RING,
               "the checker's ring must hold every change one partial flush covers");

DEFINE_COUNTER(tlbcheck, holes, "checker: open changes a slot's folding passed as holes (docs/tlbcheck.md)");

void tc_cpu_init(struct tc_cpu *c, unsigned id)
{
    memset(c, 0, sizeof(*c));
    spin_lock_init(&c->lock, "tlbcheck.cpu", LOCK_RANK_TC_CPU);
    c->id = id;
    c->online = true;
}

void tc_mm_init(struct tc_mm *m, struct mm *mm, uint64_t ctx_id, uintptr_t pgd)
{
    memset(m, 0, sizeof(*m));
    spin_lock_init(&m->lock, "tlbcheck.mm", LOCK_RANK_TC_MM);
    m->mm = mm;
    m->ctx_id = ctx_id;
    m->kernel_ctx = mm ? mm->ctx_id : 0;
    m->pgd = pgd;
}

/* ---- slots ---------------------------------------------------------------- */

/*
 * The mm's current change number, without its lock: the hot paths (every
 * CR3 write, INVLPG, user access) of every CPU running the mm would
 * otherwise all meet on one spinlock - ruinous with more vCPUs than host
 * cores, when its holder's vCPU is descheduled.  Written under m->lock with
 * atomic stores; an atomic load here sees every change recorded before this
 * CPU's own earlier read of the mm's tlb_gen (x86 keeps loads in order, and
 * the recording precedes the tlb_gen increment: fact (b) of
 * tlbcheck/checks.c).
 */
static uint64_t mm_seq(struct tc_mm *m)
{
    return __atomic_load_n(&m->seq, __ATOMIC_SEQ_CST);
}

/* The PCID now holds only translations read from m's tables as they are
 * (its paging-structure caches of the kernel half too). */
static void slot_fresh(struct tc_cpu *c, struct tc_slot *s, struct tc_mm *m, uint64_t ctx)
{
    s->ctx_id = m ? ctx : 0;
    s->mm = m;
    s->clean_seq = s->psc_clean_seq = m ? mm_seq(m) : 0;
    s->kpsc_clean_seq = tc_kernel_seq(c->k);
    s->nflush = 0;
    s->nholes = 0;
    s->blind = false;
}

static void slot_empty(struct tc_cpu *c, struct tc_slot *s)
{
    slot_fresh(c, s, NULL, 0);
}

/*
 * Is a change of author `author`, numbered seq, still open (open.h)?  When
 * the open set overflowed, an author may have open changes it has no entry
 * for: every change then counts as possibly open (lax: never a report).
 * Caller holds m->lock.
 */
static bool still_open(const struct tc_mm *m, const void *author, uint64_t seq)
{
    return m->open.overflow || tc_open_has(m, author, seq);
}

/*
 * What a check may leave out: with `ex` (a flush_end of author ex->author),
 * changes of OTHER authors that are still open (open.h) are not asked for -
 * their own flush has not returned, and this CPU may rightly hold their old
 * translations until it does.
 */
struct exempt {
    const void *author;
    bool none;                  /* exempt nothing: only report the first one's author */
    bool lost;                  /* the change returned fell out of the ring: author unknown */
    const void *first_author;   /* the author of the change returned */
};

static bool exempted(const struct exempt *ex, const struct tc_mm *m, const void *author,
                     uint64_t seq)
{
    return ex && !ex->none && author != ex->author && still_open(m, author, seq);
}

/* A single-page flush of va in the slot, done after change seq of it. */
static bool page_flushed(const struct tc_slot *s, uintptr_t va, uint64_t seq)
{
    for (unsigned f = 0; f < s->nflush; f++)
        if (s->flush[f].va == va && s->flush[f].seq >= seq)
            return true;
    return false;
}

/*
 * The slot's first hole numbered <= target that `ex` does not exempt (the
 * lowest such).  Caller holds the cpu lock, and m->lock when ex exempts.
 */
static bool hole_uncovered(struct tc_slot *s, struct tc_mm *m, uint64_t target, uintptr_t *va,
                           uint64_t *seq, struct exempt *ex)
{
    bool found = false;
    for (unsigned h = 0; h < s->nholes; h++) {
        if (s->hole[h].seq > target || exempted(ex, m, s->hole[h].author, s->hole[h].seq))
            continue;
        if (found && s->hole[h].seq >= *seq)
            continue;
        found = true;
        *va = s->hole[h].va;
        *seq = s->hole[h].seq;
        if (ex)
            ex->first_author = s->hole[h].author;
    }
    return found;
}

/*
 * Is every leaf change in (s->clean_seq, target] covered by a single-page
 * flush done after it (or exempted by ex)?  Returns the first one not
 * covered (*seq = 0 and *va = 0 when some changes were pushed out of the
 * ring: their addresses are unknown, so only a full flush can cover them).
 * The holes are not looked at.  Caller holds m->lock.
 */
static bool ring_uncovered(struct tc_slot *s, struct tc_mm *m, uint64_t target,
                           uintptr_t *va, uint64_t *seq, struct exempt *ex)
{
    if (s->clean_seq >= target)
        return false;
    /* Strict: clean_seq never stays behind a change only because an open
     * change held the folding back (the fold passes it as a hole), so a
     * change pushed out of the ring above clean_seq was never covered by
     * a full flush (docs/tlbcheck.md, "Concurrent changes"). */
    if (m->lost_seq > s->clean_seq) {
        if (ex)
            ex->lost = true;
        *va = 0;
        *seq = m->lost_seq < target ? m->lost_seq : target;
        return true;
    }
    uint64_t n = m->nchanges < TC_RING ? m->nchanges : TC_RING;
    /* Oldest first: the ring is in change order. */
    for (uint64_t i = m->nchanges - n; i < m->nchanges; i++) {
        uintptr_t cva = m->ring[i % TC_RING].va;
        uint64_t cseq = m->ring[i % TC_RING].seq;
        if (cseq <= s->clean_seq)
            continue;
        if (cseq > target)
            break;
        if (page_flushed(s, cva, cseq))
            continue;
        const void *author = m->ring[i % TC_RING].author;
        if (exempted(ex, m, author, cseq))
            continue;
        if (ex)
            ex->first_author = author;
        *va = cva;
        *seq = cseq;
        return true;
    }
    return false;
}

/* Any change up to target this PCID has not covered: a hole, or a change
 * above clean_seq.  Caller holds m->lock. */
static bool first_uncovered(struct tc_slot *s, struct tc_mm *m, uint64_t target,
                            uintptr_t *va, uint64_t *seq, struct exempt *ex)
{
    return hole_uncovered(s, m, target, va, seq, ex) || ring_uncovered(s, m, target, va, seq, ex);
}

/* Clean up to target: the page flushes that only covered changes up to it
 * are not needed any more.  Caller holds m->lock. */
static void slot_clean_to(struct tc_slot *s, uint64_t target)
{
    s->clean_seq = target;
    unsigned k = 0;
    for (unsigned f = 0; f < s->nflush; f++)
        if (s->flush[f].seq > target)
            s->flush[k++] = s->flush[f];
    s->nflush = k;
}

/* The slot cannot say exactly what it covers any more: it is not checked
 * until its next full flush (slot_fresh).  Only when more open changes
 * must be passed than there is room for holes (docs/tlbcheck.md, "Blind
 * spots"). */
static void slot_go_blind(struct tc_slot *s)
{
    s->blind = true;
    s->nflush = 0;
    s->nholes = 0;
}

/*
 * Fold the slot up to target, passing every change in (clean_seq, target]
 * that no page flush covers as a hole.  The caller has made sure each of
 * them is an open change (an exempted one) and none fell out of the ring.
 * False (nothing changed) when the holes have no room for them.  Caller
 * holds m->lock.
 */
static bool slot_fold_with_holes(struct tc_slot *s, struct tc_mm *m, uint64_t target)
{
    uint64_t n = m->nchanges < TC_RING ? m->nchanges : TC_RING;
    /* Two passes: count, then add - nothing changes when there is no room. */
    for (int pass = 0; pass < 2; pass++) {
        unsigned need = 0;
        for (uint64_t i = m->nchanges - n; i < m->nchanges; i++) {
            uint64_t cseq = m->ring[i % TC_RING].seq;
            uintptr_t cva = m->ring[i % TC_RING].va;
            if (cseq <= s->clean_seq)
                continue;
            if (cseq > target)
                break;
            if (page_flushed(s, cva, cseq))
                continue;
            need++;
            if (pass == 1) {
                count_event(tlbcheck, holes);
                s->hole[s->nholes].va = cva;
                s->hole[s->nholes].seq = cseq;
                s->hole[s->nholes].author = m->ring[i % TC_RING].author;
                s->nholes++;
            }
        }
        if (pass == 0 && s->nholes + need > TC_HOLES)
            return false;
    }
    slot_clean_to(s, target);
    return true;
}

/*
 * A page flush that covers no change above clean_seq is not needed: every
 * change it could cover is numbered at most its seq, so it exists already
 * (it is in the ring: the caller checked that none above clean_seq fell
 * out).  Caller holds m->lock.
 */
static void slot_drop_needless(struct tc_slot *s, struct tc_mm *m)
{
    uint64_t n = m->nchanges < TC_RING ? m->nchanges : TC_RING;
    unsigned k = 0;
    for (unsigned f = 0; f < s->nflush; f++) {
        bool needed = false;
        for (uint64_t i = m->nchanges - n; i < m->nchanges && !needed; i++) {
            uint64_t cseq = m->ring[i % TC_RING].seq;
            needed = cseq > s->clean_seq && cseq <= s->flush[f].seq &&
                     m->ring[i % TC_RING].va == s->flush[f].va;
        }
        if (needed)
            s->flush[k++] = s->flush[f];
    }
    s->nflush = k;
}

/*
 * The page-flush list is full: fold it into clean_seq as far as it covers
 * every change, drop the records that became needless, and while the list
 * is still full and an OPEN change (of any author) stops the folding, pass
 * that change as a hole and go on.  Returns whether the list is still full
 * because such a change found no room among the holes.  Caller holds
 * m->lock.
 */
static bool slot_compact(struct tc_slot *s, struct tc_mm *m)
{
    for (;;) {
        uintptr_t va;
        uint64_t seq;
        struct exempt ex = { .none = true };
        bool blocked = ring_uncovered(s, m, m->seq, &va, &seq, &ex);
        uint64_t upto = blocked ? seq - 1 : m->seq;
        if (upto > s->clean_seq)
            slot_clean_to(s, upto);
        if (blocked && ex.lost)
            return false;       /* stopped by a change out of the ring: see slot_flush_page */
        slot_drop_needless(s, m);
        if (!blocked || s->nflush < TC_FLUSH_SLOTS)
            return false;
        if (!still_open(m, ex.first_author, seq))
            return false;       /* stopped by a closed change: see slot_flush_page */
        if (s->nholes == TC_HOLES)
            return true;
        count_event(tlbcheck, holes);
        s->hole[s->nholes].va = va;
        s->hole[s->nholes].seq = seq;
        s->hole[s->nholes].author = ex.first_author;
        s->nholes++;
        slot_clean_to(s, seq);
    }
}

bool tc_slot_clean(struct tc_slot *s, uint64_t target, uintptr_t *va, uint64_t *seq)
{
    if (!s->ctx_id || !s->mm || s->blind)
        return true;
    if (s->clean_seq >= target)
        /* The common case: no lock, no walk - the holes are this CPU's
         * own, and with nothing exempt no open set is read. */
        return !s->nholes || !hole_uncovered(s, s->mm, target, va, seq, NULL);
    struct tc_mm *m = s->mm;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    bool stale = first_uncovered(s, m, target, va, seq, NULL);
    if (!stale)
        slot_clean_to(s, target);
    spin_unlock_irqrestore(&m->lock, flags);
    return !stale;
}

bool tc_slot_clean_for(struct tc_slot *s, uint64_t token, const void *author, uintptr_t *va,
                       uint64_t *seq)
{
    if (!s->ctx_id || !s->mm || s->blind || (s->clean_seq >= token && !s->nholes))
        return true;
    struct tc_mm *m = s->mm;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    struct exempt ex = { .author = author };
    bool stale = first_uncovered(s, m, token, va, seq, &ex);
    /* Clean up to the token but for other authors' open changes, which
     * become holes: clean_seq does not stay behind because of them. */
    if (!stale && s->clean_seq < token && !slot_fold_with_holes(s, m, token))
        slot_go_blind(s);
    spin_unlock_irqrestore(&m->lock, flags);
    return !stale;
}

/* An INVLPG of va covers the holes of va: each is numbered <= clean_seq <=
 * the mm's number now. */
static void slot_cover_holes(struct tc_slot *s, uintptr_t va)
{
    unsigned k = 0;
    for (unsigned h = 0; h < s->nholes; h++)
        if (s->hole[h].va != va)
            s->hole[k++] = s->hole[h];
    s->nholes = k;
}

/* A single-page flush of va in slot s. */
static void slot_flush_page(struct tc_slot *s, uintptr_t va)
{
    if (!s->ctx_id || !s->mm || s->blind || va >= USER_TOP)
        return;                 /* no user translations / a kernel address / not checked */
    struct tc_mm *m = s->mm;
    va = ALIGN_DOWN(va, PAGE_SIZE);
    uint64_t now = mm_seq(m);
    for (unsigned f = 0; f < s->nflush; f++)
        if (s->flush[f].va == va) {
            s->flush[f].seq = now;
            slot_cover_holes(s, va);
            return;
        }
    bool no_room = false;
    if (s->nflush == TC_FLUSH_SLOTS) {
        uint64_t flags = spin_lock_irqsave(&m->lock);
        no_room = slot_compact(s, m);
        spin_unlock_irqrestore(&m->lock, flags);
    }
    if (no_room) {
        /* Still full, stopped by an open change that found no room among
         * the holes (more open changes than the open set has authors:
         * open.h's overflow).  Forgetting a record would make a change
         * this CPU DID flush look stale once the open one closes. */
        slot_go_blind(s);
        return;
    }
    if (s->nflush == TC_FLUSH_SLOTS) {
        /* Still full, stopped by a closed change (or one pushed out of the
         * ring): forget the oldest record.  This only makes the model
         * think MORE may be stale (strict), never less: a closed change
         * was covered on every CPU on the mm that is not lazy when its
         * flush returned, so a CPU that is checked has it covered (and
         * clean_seq passed every change pushed out of the ring), and the
         * open changes below it are holes already. */
        unsigned oldest = 0;
        for (unsigned f = 1; f < s->nflush; f++)
            if (s->flush[f].seq < s->flush[oldest].seq)
                oldest = f;
        s->flush[oldest] = s->flush[--s->nflush];
    }
    s->flush[s->nflush].va = va;
    s->flush[s->nflush].seq = now;
    s->nflush++;
    /* Last: the folding above may just have made a hole of va itself. */
    slot_cover_holes(s, va);
}

/* All non-global entries of PCID p dropped. */
static void cpu_flush_pcid(struct tc_cpu *c, unsigned p)
{
    if (p == c->cur_pcid)
        slot_fresh(c, &c->slot[p], c->cur, c->cur_ctx);
    else
        slot_empty(c, &c->slot[p]);
}

static void cpu_flush_all_pcids(struct tc_cpu *c)
{
    for (unsigned p = 0; p < TC_NR_PCIDS; p++)
        cpu_flush_pcid(c, p);
}

/* ---- the instructions ----------------------------------------------------- */

struct tc_cr3 tc_cr3_decode(uint64_t read_back, uint64_t written, bool pcide)
{
    return (struct tc_cr3){
        .pgd = read_back & PTE_ADDR,
        .pcid = pcide ? (unsigned)(read_back & 0xfff) : 0,
        .noflush = written >> 63,
    };
}

void tc_cr3_write(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, uint64_t ctx,
                  unsigned pcid, bool noflush, bool pcide)
{
    if (pcid >= TC_NR_PCIDS || (!pcide && (pcid || noflush))) {
        tc_violation(md, c, m, 0, "cr3_write", pcid >= TC_NR_PCIDS ? "PCID beyond the model"
                     : "PCID or NOFLUSH with CR4.PCIDE clear");
        return;
    }
    struct tc_slot *s = &c->slot[pcid];
    if (noflush && s->ctx_id && s->ctx_id != ctx) {
        /* The PCID still holds another mm's translations - of a live mm,
         * or of a freed one (the slot is poisoned: its entries point at
         * frames that may belong to anyone now).  They would be used for
         * this mm's addresses from the next instruction on.  Ids are the
         * checker's own and never reused, so no other mm can match. */
        tc_violation(md, c, s->mm ? s->mm : m, m ? m->pgd : 0, "cr3_noflush",
                     s->mm ? "NOFLUSH load of a PCID that still caches another mm's translations"
                           : "NOFLUSH load of a PCID poisoned by a freed mm's translations");
        return;
    }
    if (noflush && m && s->ctx_id == ctx &&
        s->psc_clean_seq < __atomic_load_n(&m->freed_seq, __ATOMIC_RELAXED)) {
        /* Its paging-structure caches may point into tables already freed. */
        tc_violation(md, c, m, m->unlink_va, "cr3_noflush",
                     "NOFLUSH load of a PCID whose paging-structure caches predate a free of page tables");
        return;
    }
    __atomic_store_n(&c->cur, m, __ATOMIC_SEQ_CST);  /* read lock-free by flushers */
    c->cur_ctx = m ? ctx : 0;
    c->cur_pcid = pcid;
    if (!pcide) {
        cpu_flush_all_pcids(c);
        if (!c->pge)
            tc_kernel_flush_all(c);     /* nothing is global without CR4.PGE */
    } else if (!noflush) {
        slot_fresh(c, s, m, ctx);
    } else if (!s->ctx_id) {
        slot_fresh(c, s, m, ctx);       /* nothing was cached: nothing stale */
    }
}

void tc_invlpg(struct tc_model *md, struct tc_cpu *c, uintptr_t va)
{
    (void)md;
    struct tc_slot *s = &c->slot[c->cur_pcid];
    slot_flush_page(s, va);
    /* INVLPG drops every paging-structure-cache entry of the current PCID
     * (the kernel half's too), and the page's global entry if any. */
    if (s->ctx_id && s->mm)
        s->psc_clean_seq = mm_seq(s->mm);
    s->kpsc_clean_seq = tc_kernel_seq(c->k);
    if (va >= USER_TOP)
        tc_kernel_invlpg(c, va);
}

void tc_invpcid(struct tc_model *md, struct tc_cpu *c, unsigned type, unsigned pcid, uintptr_t va)
{
    if (type > 3 || ((type == 0 || type == 1) && pcid >= TC_NR_PCIDS)) {
        tc_violation(md, c, NULL, va, "invpcid", "INVPCID type or PCID beyond the model");
        return;
    }
    switch (type) {
    case 0:
        /* Not global translations (SDM); a kernel page is one only with
         * CR4.PGE - without it, the current PCID's entry goes. */
        slot_flush_page(&c->slot[pcid], va);
        if (va >= USER_TOP && !c->pge && pcid == c->cur_pcid)
            tc_kernel_invlpg(c, va);
        break;
    case 1:
        cpu_flush_pcid(c, pcid);
        break;
    case 2:
        cpu_flush_all_pcids(c);
        tc_kernel_flush_all(c);         /* global entries included */
        break;
    default:
        cpu_flush_all_pcids(c);         /* all but the global entries */
        if (!c->pge)
            tc_kernel_flush_all(c);
        break;
    }
}

void tc_flush_everything(struct tc_model *md, struct tc_cpu *c)
{
    (void)md;
    cpu_flush_all_pcids(c);
    tc_kernel_flush_all(c);
}

/*
 * A borrow starts (m) or ends (NULL).  It may end while CR3 still holds the
 * borrowed mm only if the task now running owns that mm (a kernel thread
 * that borrowed M hands the CPU to a user thread of M: switch_mm finds M
 * loaded and keeps it, and the owner's mm_users keeps M's tables and
 * PML4).  Otherwise nothing keeps M alive for this CPU any more - its
 * reference (refcount), its hazard slot or its cpumask bit (shootdown) is
 * given up - while the CPU still runs on M's tables.
 */
void tc_borrow(struct tc_model *md, struct tc_cpu *c, struct tc_mm *m, bool cur_owns)
{
    struct tc_mm *b = c->borrowed;
    if (!m && b && c->cur == b && !cur_owns)
        tc_violation(md, c, b, b->pgd, "borrow_end",
                     "a borrow ends while this CPU's CR3 still holds the borrowed mm (no leave_mm / switch first)");
    c->borrowed = m;
    c->borrowed_ctx = m ? m->ctx_id : 0;
}

/* ---- page-table changes ----------------------------------------------------- */

/*
 * Changes that need no flush on real hardware: not present -> present (a
 * TLB never caches a not-present entry), and a change that only raises
 * rights on the same frame (W added, NX removed, U added): a CPU still
 * holding the narrower translation takes a spurious fault that finds the
 * new entry (kernel/mm/fault.c).  Accessed/dirty bits do not matter.
 */
bool tc_pte_change_needs_flush(uint64_t old, uint64_t new)
{
    if (!(old & PTE_P))
        return false;
    if (!(new & PTE_P))
        return true;
    if ((old & PTE_ADDR) != (new & PTE_ADDR))
        return true;
    if ((old & PTE_W) && !(new & PTE_W))
        return true;
    if ((old & PTE_U) && !(new & PTE_U))
        return true;
    if (!(old & PTE_NX) && (new & PTE_NX))
        return true;
    return false;
}

uint64_t tc_pte_change(struct tc_mm *m, uintptr_t va, uint64_t old, uint64_t new)
{
    return tc_pte_change_by(m, va, old, new, NULL);
}

uint64_t tc_pte_change_by(struct tc_mm *m, uintptr_t va, uint64_t old, uint64_t new,
                          const void *author)
{
    if (!tc_pte_change_needs_flush(old, new))
        return 0;
    uint64_t flags = spin_lock_irqsave(&m->lock);
    uint64_t i = m->nchanges++ % TC_RING;
    if (m->nchanges > TC_RING && m->ring[i].seq > m->lost_seq)
        m->lost_seq = m->ring[i].seq;
    m->ring[i].va = ALIGN_DOWN(va, PAGE_SIZE);
    m->ring[i].seq = m->seq + 1;
    m->ring[i].author = author;
    uint64_t seq = m->seq + 1;
    tc_open_add(m, author, seq);
    __atomic_store_n(&m->seq, seq, __ATOMIC_SEQ_CST);
    spin_unlock_irqrestore(&m->lock, flags);
    return seq;
}

uint64_t tc_tables_unlinked(struct tc_mm *m)
{
    return tc_tables_unlinked_by(m, NULL);
}

uint64_t tc_tables_unlinked_by(struct tc_mm *m, const void *author)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    uint64_t seq = m->unlink_seq = m->seq + 1;
    tc_open_add(m, author, seq);
    __atomic_store_n(&m->seq, seq, __ATOMIC_SEQ_CST);
    /* For the report: the page whose unmapping emptied the table(s). */
    m->unlink_va = m->nchanges ? m->ring[(m->nchanges - 1) % TC_RING].va : 0;
    spin_unlock_irqrestore(&m->lock, flags);
    return seq;
}

uint64_t tc_flush_begin(struct tc_mm *m)
{
    return mm_seq(m);
}
