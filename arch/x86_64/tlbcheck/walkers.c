/*
 * arch/x86_64/tlbcheck/walkers.c - the checker's rule for lockless
 * page-table walkers (docs/tlbcheck.md, "Lockless walkers"): a page-table
 * page must not go back to the allocator while a software walk that
 * entered it is still going on.
 *
 * The TLB rules of the other files answer "may a CPU's TLB or
 * paging-structure cache still hold it?", which a flush ends.  A software
 * walker (arch_pte_lookup_lockless) holds a plain pointer into the table
 * instead, which no flush reaches; only the end of its bracket does
 * (pt_walk_end: interrupts back on, or the RCU reader's end).
 *
 * Records: per CPU, the tables its current walk entered (PDPT, PD, PT),
 * written only by that CPU, with its walk's bracket held (so it does not
 * migrate), read by whichever CPU frees a table.  Entered before the first
 * load from the table; cleared (tlbcheck_walk_end) before the bracket ends.
 *
 * No false positive: a CPU reported has announced this very table (by its
 * physical address, which names one table while it is allocated - it is
 * allocated until the release this check precedes) after reading a
 * pointer to it from the tree, and has not cleared its record, so its
 * bracket has not ended: it may still load from the table, and after the
 * release those loads would read whatever the frame becomes.  Records are
 * cleared before the bracket ends and the freeing side learns that the
 * bracket ended only after that (the flush IPI's completion, which that
 * CPU sends after re-enabling interrupts, or the grace period, which needs
 * its quiescent state after its rcu_read_unlock): seq_cst stores and loads
 * here, so it never reads a record the walker already cleared.
 */
#include <arch/tlbcheck/model.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/cpumask.h>
#include <kernel/percpu.h>

#define WALK_LEVELS 3           /* PDPT, PD, PT: the tables a user unmap may free */

static phys_addr_t walk_tables[MAX_CPUS][WALK_LEVELS];

void tlbcheck_walk_enter(unsigned level, phys_addr_t table)
{
    if (!tlbcheck_on() || level >= WALK_LEVELS)
        return;
    __atomic_store_n(&walk_tables[this_cpu_id()][level], table, __ATOMIC_SEQ_CST);
}

void tlbcheck_walk_end(void)
{
    if (!tlbcheck_on())
        return;
    for (unsigned l = 0; l < WALK_LEVELS; l++)
        __atomic_store_n(&walk_tables[this_cpu_id()][l], 0, __ATOMIC_SEQ_CST);
}

void tlbcheck_table_release(phys_addr_t table)
{
    if (!tlbcheck_on())
        return;
    unsigned cpu;
    for_each_online_cpu(cpu)
        for (unsigned l = 0; l < WALK_LEVELS; l++)
            if (__atomic_load_n(&walk_tables[cpu][l], __ATOMIC_SEQ_CST) == table)
                tc_live_report(cpu, (uintptr_t)table, "table_release",
                               "a page-table page is freed while a lockless walker that entered it "
                               "is still inside its read side (no grace period, no IPI waited for it)");
}
