/*
 * kernel/mm/pt_free.c - when an unhooked page table may go back to the
 * allocator: the pt_free= boot option (kernel/pt_walk.h, docs/rcu.md).
 *
 * Two conditions, two different mechanisms:
 *  1. no CPU's TLB or paging-structure cache holds it: the flush with
 *     freed_tables that mmu_gather_flush() made, IPIs to every CPU that
 *     runs the mm (kernel/mm/mmu_gather.c);
 *  2. no software walker is inside it: a lockless walk
 *     (arch_pte_lookup_lockless) holds a plain pointer into the table,
 *     which no flush reaches.
 * pt_free=ipi makes 2 follow from 1: the walk runs with interrupts off, so
 * its CPU takes the flush IPI only after the walk.  pt_free=rcu makes the
 * walk an RCU reader and frees the tables after a grace period too.
 *
 * The default is ipi, the safer one: the free does not depend on RCU at
 * all (one mechanism fewer that must be right), memory goes back at once
 * (rcu holds every freed table for a grace period, and an exiting process's
 * tables with it), and the only price is a walk of a few loads with
 * interrupts off.  rcu is what a kernel needs once flushes stop being IPIs
 * (broadcast invalidation hardware, a walker of another CPU's mm, a walker
 * that must keep interrupts on), the situation of Hugh Dickins'
 * pte_free_defer() (docs/rcu.md).
 *
 * The deferral keeps no rcu_head in the tables: a walker that is still
 * inside a table (the case this exists for) must read only empty entries,
 * and a callback pointer stored there would read as a present entry.
 * Tables are linked through their first word (a page-aligned pointer: bit
 * 0, "present", is clear), and one static rcu_head serves every batch, as
 * Jason Gunthorpe suggested in the thread of seed 004: `waiting` collects
 * tables while a grace period runs for `in_flight`; its callback frees
 * in_flight and starts the next grace period for what waited.
 */
#include "pt_free.h"
#include <kernel/pt_walk.h>
#include <kernel/rcu.h>
#include <kernel/spinlock.h>
#include <kernel/printk.h>
#include <kernel/boot_options.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_inject.h>
#include <arch/pte.h>

int pt_free_mode = PT_FREE_IPI;

/* In the order of enum pt_free_mode. */
static const char *const pt_free_choices[] = { "ipi", "rcu", NULL };
_Static_assert(sizeof(pt_free_choices) / sizeof(pt_free_choices[0]) == PT_FREE_NR_MODES + 1,
               "one name per enum pt_free_mode");
CMDLINE_ENUM(pt_free, pt_free_mode, pt_free_choices,
             "when unhooked page tables are freed: after the flush IPIs (ipi) or also after an RCU grace period (rcu)");

DEFINE_COUNTER(mm, pt_freed_now, "page tables freed right after their flush (pt_free=ipi)");
DEFINE_COUNTER(mm, pt_deferred, "page tables queued for a grace period after their flush (pt_free=rcu)");
DEFINE_COUNTER(mm, pt_freed_rcu, "page tables freed after their grace period (pt_free=rcu)");

static DEFINE_SPINLOCK(pt_free_lock, LOCK_RANK_PT_FREE);
static struct pt_free_list waiting = PT_FREE_LIST_INIT;     /* pt_free_lock */
static struct pt_free_list in_flight = PT_FREE_LIST_INIT;   /* pt_free_lock */
static bool armed;                                          /* pt_free_lock: rcu_head queued */
static struct rcu_head batch_rcu;

void pt_free_init(void)
{
    printk("pt_free: mode %s (page tables freed after the flush%s)\n", pt_free_choices[pt_free_mode],
           pt_free_mode == PT_FREE_RCU ? " and an RCU grace period" : " IPIs; lockless walks keep interrupts off");
}

void pt_free_drain(void)
{
    for (;;) {
        rcu_barrier();
        uint64_t flags = spin_lock_irqsave(&pt_free_lock);
        bool pending = armed;
        spin_unlock_irqrestore(&pt_free_lock, flags);
        if (!pending)
            return;
    }
}

static void batch_done(struct rcu_head *head)
{
    (void)head;
    uint64_t flags = spin_lock_irqsave(&pt_free_lock);
    struct pt_free_list done = in_flight;
    in_flight = (struct pt_free_list)PT_FREE_LIST_INIT;
    /* What waited was queued before this call_rcu: its grace period
     * starts after it was unhooked and flushed. */
    arch_pte_tables_splice(&in_flight, &waiting);
    bool rearm = armed = in_flight.count != 0;
    spin_unlock_irqrestore(&pt_free_lock, flags);
    if (rearm)
        call_rcu(&batch_rcu, batch_done);
    unsigned n = done.count;
    arch_pte_release_tables(&done);
    count_event_n(mm, pt_freed_rcu, n);         /* after: tests watch it */
}

void pt_free_tables(struct mm *mm, struct pt_free_list *tables)
{
    if (!tables->count)
        return;
    if (pt_free_mode == PT_FREE_IPI || tlb_inject(TLB_INJECT_PT_FREE_NO_GP)) {
        /* pt_free_no_gp: rcu's walkers keep interrupts on, so the flush
         * did not wait for them - the bug the grace period prevents. */
        unsigned n = tables->count;
        arch_pte_free_tables(mm, tables);
        count_event_n(mm, pt_freed_now, n);     /* after: tests watch it */
        return;
    }
    arch_pte_tables_flushed(mm, tables);        /* condition 1, while mm is alive */
    count_event_n(mm, pt_deferred, tables->count);
    uint64_t flags = spin_lock_irqsave(&pt_free_lock);
    bool arm = !armed;
    if (arm) {
        arch_pte_tables_splice(&in_flight, tables);
        armed = true;
    } else {
        arch_pte_tables_splice(&waiting, tables);
    }
    spin_unlock_irqrestore(&pt_free_lock, flags);
    if (arm)
        call_rcu(&batch_rcu, batch_done);
}
