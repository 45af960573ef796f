/*
 * arch/x86_64/mm/tlb_mm.c - flush_tlb_mm_range(): making a change to a
 * user address space's page tables visible on every CPU (kernel/mm.h).
 *
 * The simple, correct version: bump mm->tlb_gen, flush this CPU if it has
 * the mm loaded, and make every other CPU in mm->cpumask do the same with a
 * waiting cross-CPU call.  Without PCID a CR3 write drops every non-global
 * translation, so only CPUs whose CR3 holds this mm right now (running a
 * thread of it, or a kernel thread borrowing it lazily) can hold stale
 * entries; a CPU in the cpumask that has moved on skips the flush - unless
 * page tables are being freed, when every CPU in the mask flushes anyway.
 *
 * Ordering (the race with a CPU switching to the mm):
 *   flusher:    page-table stores; tlb_gen++ (locked RMW, full barrier);
 *               read mm->cpumask
 *   switch_mm:  set our bit in mm->cpumask (locked RMW, full barrier);
 *               write CR3 (its walks read the page tables afresh)
 * Either the flusher sees the bit and calls that CPU, or that CPU's CR3
 * write comes after the page-table stores are visible.  A bit that was
 * already set needs no barrier: it was visible before the flusher began.
 */
#include <kernel/mm.h>
#include <kernel/smp.h>
#include <kernel/percpu.h>
#include <kernel/preempt.h>
#include <kernel/counters.h>
#include <kernel/tlb_trace.h>
#include <kernel/tlbcheck.h>
#include <arch/paging.h>
#include <arch/x86.h>

/* INVLPG each page up to this many; past it one CR3 write is cheaper. */
#define FLUSH_PAGES_MAX 33

DEFINE_COUNTER(tlb, ipi_sent, "flush IPIs sent for user address spaces (one per target CPU)");
DEFINE_COUNTER(tlb, ipi_received, "flush IPIs for user address spaces handled");

struct mm_flush {
    struct mm *mm;
    uintptr_t start, end;
    bool freed_tables;
    unsigned from;              /* the initiating CPU, for the trace */
};

/* Returns what it did (enum tlb_trace_work). */
static int flush_on_this_cpu(const struct mm_flush *f)
{
    bool loaded = (read_cr3() & PTE_ADDR) == f->mm->pgd;
    if (!loaded && !f->freed_tables)
        return TLBT_WORK_NONE;
    uintptr_t start = ALIGN_DOWN(f->start, PAGE_SIZE);
    if (f->end <= start)
        return TLBT_WORK_NONE;
    if ((f->end - start) / PAGE_SIZE > FLUSH_PAGES_MAX || f->freed_tables) {
        /* Also drops the paging-structure caches for the freed tables
         * (INVLPG would only drop those on the path of each page). */
        local_flush_tlb_all_nonglobal();
        return TLBT_WORK_FULL;
    }
    for (uintptr_t va = start; va < f->end; va += PAGE_SIZE)
        local_flush_tlb_page(va);
    return TLBT_WORK_PAGES;
}

/* The cross-CPU call's function, on each target. */
static void flush_ipi(void *arg)
{
    const struct mm_flush *f = arg;
    count_event(tlb, ipi_received);
    int work = flush_on_this_cpu(f);
    tlb_trace(TLBT_IPI_RECV, f->mm->ctx_id, f->from, (uint64_t)work, 0);
}

void flush_tlb_mm_range(struct mm *mm, uintptr_t start, uintptr_t end, bool freed_tables)
{
    struct mm_flush f = { mm, start, end, freed_tables, 0 };
    if (freed_tables && end <= start) {
        f.start = 0;            /* whole-mm flush (teardown) */
        f.end = ~(uintptr_t)0 & ~(PAGE_SIZE - 1);
    }

    /* The shadow-TLB checker's token: the changes this flush covers. */
    uint64_t token = tlbcheck_flush_begin(mm);
    /* Full barrier: the page-table stores before it, the cpumask reads
     * after it (pairs with the atomic bit set in switch_mm). */
    uint64_t gen = atomic_fetch_add_explicit(&mm->tlb_gen, 1, memory_order_seq_cst) + 1;

    preempt_disable();          /* "this CPU" stays this CPU */
    unsigned me = this_cpu_id();
    f.from = me;
    tlb_trace(TLBT_FLUSH, mm->ctx_id, f.start, f.end, gen << 1 | freed_tables);
    struct cpumask targets;
    for (unsigned i = 0; i < sizeof(targets.bits) / sizeof(targets.bits[0]); i++)
        targets.bits[i] = __atomic_load_n(&mm->cpumask.bits[i], __ATOMIC_RELAXED);
    cpumask_clear_cpu(&targets, me);

    flush_on_this_cpu(&f);
    unsigned n = cpumask_weight(&targets);
    if (n) {
        atomic_fetch_add(&mm_stats.tlb_flush_ipis, n);
        count_event_n(tlb, ipi_sent, n);
        tlb_trace(TLBT_IPI_SEND, mm->ctx_id, n, targets.bits[0], 0);
        /* Returns once every target has run its flush (and the completion
         * orders those flushes before our caller frees anything). */
        smp_call_mask(&targets, flush_ipi, &f, true);
    }
    tlbcheck_flush_end(mm, token);
    preempt_enable();
}
