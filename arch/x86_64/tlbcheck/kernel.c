/*
 * arch/x86_64/tlbcheck/kernel.c - the shadow-TLB checker's model of the
 * kernel half (arch/tlbcheck/model.h, docs/tlbcheck.md "The kernel half").
 *
 * Every address at or above USER_TOP is mapped by one tree that all address
 * spaces share, with global entries (PTE_G, CR4.PGE): an entry cached on a
 * CPU serves every PCID and survives every CR3 write.  So a change there
 * must be flushed on EVERY online CPU - idle, lazy or running any mm - by an
 * instruction that reaches global entries: INVLPG of the page, INVPCID type
 * 2, or a CR4.PGE toggle.  CR3 writes and INVPCID types 0, 1 and 3 leave
 * them (SDM vol. 3, 4.10.4.1 and INVPCID).
 *
 * The kernel's changes are not ordered by one lock with each other's
 * flushes (kstack frees on two CPUs run their unmaps and flushes side by
 * side), so unlike a user mm there is no "clean up to N": each change
 * remembers the CPUs whose INVLPG covered it, each CPU remembers when it
 * last dropped all global entries (kfull_seq), and a flush checks only the
 * changes of its own range that were recorded before it began.
 */
#include <arch/tlbcheck/model.h>
#include <arch/paging.h>
#include <kernel/panic.h>
#include <lib/string.h>

void tc_kernel_init(struct tc_kernel *k, struct tc_mm *kmm)
{
    memset(k, 0, sizeof(*k));
    spin_lock_init(&k->lock, "tlbcheck.kernel", LOCK_RANK_TC_KERNEL);
    k->m = kmm;
}

uint64_t tc_kernel_seq(struct tc_kernel *k)
{
    return k ? __atomic_load_n(&k->seq, __ATOMIC_SEQ_CST) : 0;
}

void tc_cpu_set_kernel(struct tc_cpu *c, struct tc_kernel *k, bool pge)
{
    c->k = k;
    c->pge = pge;
    c->online = true;
    uint64_t now = tc_kernel_seq(k);
    __atomic_store_n(&c->kfull_seq, now, __ATOMIC_SEQ_CST);
    for (unsigned p = 0; p < TC_NR_PCIDS; p++)
        c->slot[p].kpsc_clean_seq = now;
}

static bool cpu_bit(const uint64_t *bits, unsigned cpu)
{
    return bits[cpu / 64] >> (cpu % 64) & 1;
}

/* The changes still in the ring, oldest first: [first, k->nchanges). */
static uint64_t ring_first(const struct tc_kernel *k)
{
    return k->nchanges < TC_KRING ? 0 : k->nchanges - TC_KRING;
}

void tc_kernel_invlpg(struct tc_cpu *c, uintptr_t va)
{
    struct tc_kernel *k = c->k;
    if (!k || c->id >= MAX_CPUS)
        return;
    va = ALIGN_DOWN(va, PAGE_SIZE);
    uint64_t flags = spin_lock_irqsave(&k->lock);
    for (uint64_t i = ring_first(k); i < k->nchanges; i++)
        if (k->ring[i % TC_KRING].va == va)
            k->ring[i % TC_KRING].flushed[c->id / 64] |= 1ull << (c->id % 64);
    spin_unlock_irqrestore(&k->lock, flags);
}

void tc_kernel_flush_all(struct tc_cpu *c)
{
    /* Read by flushers on other CPUs (tc_check_kernel_flush_end). */
    __atomic_store_n(&c->kfull_seq, tc_kernel_seq(c->k), __ATOMIC_SEQ_CST);
}

bool tc_kernel_pte_change(struct tc_kernel *k, uintptr_t va, uint64_t old, uint64_t new)
{
    if (!tc_pte_change_needs_flush(old, new))
        return false;
    uint64_t flags = spin_lock_irqsave(&k->lock);
    uint64_t i = k->nchanges++ % TC_KRING;
    k->ring[i].va = ALIGN_DOWN(va, PAGE_SIZE);
    k->ring[i].seq = k->seq + 1;
    memset(k->ring[i].flushed, 0, sizeof(k->ring[i].flushed));
    __atomic_store_n(&k->seq, k->seq + 1, __ATOMIC_SEQ_CST);
    spin_unlock_irqrestore(&k->lock, flags);
    return true;
}

uint64_t tc_kernel_tables_unlinked(struct tc_kernel *k, uintptr_t va)
{
    uint64_t flags = spin_lock_irqsave(&k->lock);
    k->unlink_seq = k->seq + 1;
    k->unlink_va = va;
    __atomic_store_n(&k->seq, k->seq + 1, __ATOMIC_SEQ_CST);
    spin_unlock_irqrestore(&k->lock, flags);
    return k->unlink_seq;
}

uint64_t tc_kernel_flush_begin(struct tc_kernel *k)
{
    return tc_kernel_seq(k);
}

/*
 * flush_tlb_kernel_range(start, end) returned for token: every online CPU
 * has dropped the old translation of every kernel change numbered <= token
 * in [start, end) - by INVLPG of its page after the change was recorded, or
 * by dropping all global entries after it.
 *
 * No false positive: such a change was recorded right after its PTE store
 * and before the flush took its token (the caller changes, then flushes).
 * The flush's waiting call reached every online CPU and each ran its INVLPG
 * of every page in the range (or the global full flush) AFTER the call was
 * sent, so after the change was recorded: the INVLPG's hook found the
 * change in the ring and marked it, or the full flush's hook stored a
 * kfull_seq >= its number - on that CPU, before its part of the call
 * completed (fact (a) of tlbcheck/checks.c), and the call's completion
 * (store-release / load-acquire, kernel/smp/smp_call.c) orders it before this
 * check.  Changes of other ranges, or numbered after the token (other
 * CPUs' unmaps running meanwhile), are left to their own flushes.  A change
 * pushed out of the ring is not checked (the ring holds 256; a flush
 * follows its unmap within a few).
 */
void tc_check_kernel_flush_end(struct tc_model *md, struct tc_kernel *k, uint64_t token,
                               uintptr_t start, uintptr_t end)
{
    uint64_t flags = spin_lock_irqsave(&k->lock);
    for (uint64_t i = ring_first(k); i < k->nchanges; i++) {
        uintptr_t va = k->ring[i % TC_KRING].va;
        uint64_t seq = k->ring[i % TC_KRING].seq;
        if (seq > token || va < ALIGN_DOWN(start, PAGE_SIZE) || va >= end)
            continue;
        for (unsigned n = 0; n < md->ncpus; n++) {
            struct tc_cpu *c = &md->cpus[n];
            if (!__atomic_load_n(&c->online, __ATOMIC_SEQ_CST) || c->id >= MAX_CPUS ||
                (md->online && !bitmap_test_bit_atomic(md->online->bits, c->id)))
                continue;       /* not a target of the flush's call */
            if (__atomic_load_n(&c->kfull_seq, __ATOMIC_SEQ_CST) >= seq ||
                __atomic_load_n(&c->kdefer_seq, __ATOMIC_SEQ_CST) >= seq ||
                cpu_bit(k->ring[i % TC_KRING].flushed, c->id))
                continue;
            spin_unlock_irqrestore(&k->lock, flags);
            tc_violation(md, c, k->m, va, "kernel_flush_end",
                         "a kernel-range flush returned while this CPU may still hold the old global entry");
            return;
        }
    }
    spin_unlock_irqrestore(&k->lock, flags);
}

/*
 * Kernel page tables unhooked at `unlinked` are about to be freed: no
 * online CPU may have, in any PCID, paging-structure caches from before.
 * (Those caches are per PCID, never global: INVLPG drops them for the
 * current PCID only; a flushing CR3 load for the PCID loaded; INVPCID 1
 * for one PCID; INVPCID 2 and 3 and the CR4.PGE toggle for all.)
 *
 * No false positive when the caller frees after a flush with freed_tables
 * that returned: that flush drops every PCID's caches on every online CPU
 * (the global full flush, or INVLPG where PCIDs are off and PCID 0 is the
 * only one), each recorded before the call completed, as above.
 */
void tc_check_kernel_tables_free(struct tc_model *md, struct tc_kernel *k, uint64_t unlinked)
{
    for (unsigned n = 0; n < md->ncpus; n++) {
        struct tc_cpu *c = &md->cpus[n];
        if (!__atomic_load_n(&c->online, __ATOMIC_SEQ_CST) ||
            (md->online && !bitmap_test_bit_atomic(md->online->bits, c->id)))
            continue;
        uint64_t flags = spin_lock_irqsave(&c->lock);
        for (unsigned p = 0; p < TC_NR_PCIDS; p++)
            if (c->slot[p].kpsc_clean_seq < unlinked) {
                tc_violation(md, c, k->m, k->unlink_va, "tables_free",
                             "a kernel page table is freed while this CPU may still walk it (paging-structure caches of a PCID not flushed since the unhooking)");
                break;
            }
        spin_unlock_irqrestore(&c->lock, flags);
    }
}

void tc_kernel_defer(struct tc_cpu *c, uint64_t token)
{
    uint64_t cur = __atomic_load_n(&c->kdefer_seq, __ATOMIC_SEQ_CST);
    while (cur < token &&
           !__atomic_compare_exchange_n(&c->kdefer_seq, &cur, token, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
        ;
}

/*
 * CPU c passed its entry flush point (kctx_enter, arch/x86_64/kctx.c): every
 * kernel flush deferred for it must be done, i.e. it dropped all global
 * entries after the newest deferred token.  From here on it runs code that
 * may touch any kernel mapping, and the flushers that skipped it have
 * already returned and let their callers free the frames.
 *
 * No false positive: the flusher records the deferral (tc_kernel_defer)
 * right after its compare-exchange D1 succeeded on the CPU's word, with the
 * token it took before D1.  If this CPU's entry E1 came after D1, E1 read
 * KCTX_PENDING and the CPU's full flush stored kfull_seq = the current
 * number, which is >= the token; this holds even when the flusher records
 * the token only after this check ran (the check then saw an older
 * kdefer_seq, and the newer one is still <= kfull_seq for the next entry).
 * If E1 came before D1, D1 failed (the state was kernel) and nothing was
 * recorded.
 */
void tc_check_kernel_entry(struct tc_model *md, struct tc_cpu *c)
{
    if (!__atomic_load_n(&c->online, __ATOMIC_SEQ_CST) || !c->k)
        return;
    uint64_t owed = __atomic_load_n(&c->kdefer_seq, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->kfull_seq, __ATOMIC_SEQ_CST) >= owed)
        return;
    tc_violation(md, c, c->k->m, 0,
                 "kernel_entry", "this CPU runs kernel code past its entry flush point with a deferred kernel flush pending");
}
