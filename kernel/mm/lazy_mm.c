/*
 * kernel/mm/lazy_mm.c - how long a lazily borrowed mm lives: the
 * lazy_mm=refcount|shootdown|hazard|mmput modes (kernel/lazy_mm.h,
 * docs/lazy-mm.md).
 *
 * THE BORROW
 *   A kernel thread (task->mm == NULL) runs on whatever address space its
 *   CPU has loaded and records it in task->active_mm: it borrows it.  Only
 *   the task that is current on a CPU borrows (a kernel thread that is
 *   switched out has active_mm == NULL), so "the borrow" is a per-CPU thing
 *   with three events, all on the borrowing CPU:
 *
 *     start    user -> kernel thread switch (context_switch step 2), or the
 *              exiting thread's exit_mm (lazy_mm_exit_mm);
 *     handover kernel -> kernel thread: active_mm passes on, nothing else;
 *     end      kernel thread -> user switch (finish_task_switch, after the
 *              CR3 write), or a drop (drop_borrow_here below: an IPI, or
 *              lazy_mm_drop_borrowers) that moves the CPU to init_mm.
 *
 *   init_mm is never freed, so a borrow of it needs no protection in any
 *   mode: starting or ending one costs nothing and is not counted.  Only
 *   borrows of user mms are "borrows" below.
 *
 * WHAT KEEPS A BORROWED MM ALIVE, BY MODE
 *   refcount  the borrow owns an mm_count reference: mmgrab at start, mmdrop
 *             at end (2 atomics on a shared line per lazy round trip).  The
 *             last mmdrop cannot happen while a CPU borrows, so
 *             lazy_mm_before_free() has nothing to do.
 *   shootdown the borrow owns nothing (0 atomics).  The last mmdrop calls
 *             lazy_mm_before_free(), which calls every CPU in mm->cpumask;
 *             a CPU whose current task borrows the mm lets go (leave_mm,
 *             active_mm = &init_mm).
 *   hazard    the borrow owns nothing either; each CPU publishes the user mm
 *             it borrows in its slot lazy_hazard_slot (a plain store at
 *             start, NULL at end: 0 atomics).  lazy_mm_before_free() reads
 *             every online CPU's slot and calls only the CPUs whose slot
 *             holds the mm.
 *   mmput     the borrow owns nothing (0 atomics, no slot).  The last
 *             mmput's teardown frees page tables, so its flush already
 *             calls every CPU in mm->cpumask, lazy ones too; in this mode
 *             that flush's handler also ends the borrow it finds on each of
 *             them (lazy_mm_flush_end_borrow).  No borrow can start after
 *             that (I6), so the last mmdrop has nobody to call:
 *             lazy_mm_before_free() does nothing.  Linus Torvalds' "get rid
 *             of lazy at last mmput" (docs/lazy-mm.md).
 *
 * INVARIANTS
 *   (I1) A CPU borrows at most one user mm: its current task's active_mm.
 *   (I2) every CPU that borrows mm has its bit in mm->cpumask (in every
 *        mode: the TLB core keeps it; shootdown's last mmdrop and a reap's
 *        lazy_mm_drop_borrowers(mm) call only those CPUs).
 *        Why: a CPU starts borrowing mm only at a user -> kernel switch or
 *        exit_mm, i.e. right after running a user task of mm, and switch_mm
 *        set the bit before it loaded mm.  The TLB core clears a CPU's bit
 *        only on that CPU, from a flush IPI that finds loaded_mm != mm AND
 *        current_task()->active_mm != mm (docs/tlb.md), so the bit stays
 *        while the borrow lasts - also after leave_mm() moved the CPU's CR3
 *        to init_mm for a freed_tables flush (loaded_mm != mm but the
 *        borrow goes on).
 *   (I3) hazard: slot[c] == the user mm CPU c's current task borrows, or
 *        NULL when it borrows none.  Written only by CPU c with interrupts
 *        off: borrow start (= mm), end (= NULL, after the CR3 write that
 *        leaves mm), drop (= NULL).  A handover leaves it alone.
 *   (I4) No CPU starts a new borrow of mm once mm_users reached 0: a borrow
 *        starts only where a task with task->mm == mm ran, and those tasks
 *        hold mm_users references.
 *   (I5) refcount: every borrow of a user mm holds exactly one mm_count
 *        reference, released exactly once (end or drop).
 *   (I6) mmput: once the last mmput's teardown flush of mm has returned, no
 *        CPU borrows mm, and none ever will (ORDERING, mmput).
 *
 * ORDERING (the freeing side must see every borrow that is still going on)
 *   shootdown: a borrower's bit was set (switch_mm's atomic RMW, or long
 *     before) before the borrower's user task last ran on mm; that task's
 *     last mm_users decrement (or the one it synchronized with) comes after
 *     it, and the chain of acq_rel RMWs on mm_users/mm_count ends in the
 *     last mmdrop's RMW, after which lazy_mm_before_free() reads the
 *     cpumask.  So the read sees the bit or a later clear - which (I2) says
 *     happens only once the CPU no longer borrows, and (I4) says no new
 *     borrow follows.  Pairs: cpumask bit set in switch_mm
 *     (arch/mmu_context.h)  ->  cpumask read in lazy_mm_before_free().
 *   hazard: the slot store at borrow start is sequenced before the borrowing
 *     CPU's release of prev->on_cpu in finish_task_switch (or, in exit_mm,
 *     before the thread's own mmput).  The task can decrement mm_users only
 *     after it runs again, after an acquire of on_cpu (task pick /
 *     task_wait_off_cpu) or on the same CPU; mm_users and mm_count are
 *     decremented with acq_rel RMWs, so the slot store happens-before the
 *     last mmdrop and hence before the scan's load, which therefore reads
 *     that store or a later one of the same CPU: NULL or another mm only if
 *     the borrow of this mm ended (I3), and no new borrow starts (I4).
 *     Pairs: slot store in lazy_mm_borrow_start() / lazy_mm_exit_mm()  ->
 *     (on_cpu release/acquire in sched/core.c + kthread.c, mm_users and
 *     mm_count RMWs in mm.c)  ->  slot load in hazard_scan().  The ending
 *     side: the NULL store at borrow end comes after the CR3 write that
 *     left mm (a serializing instruction, and x86 keeps stores in order),
 *     so a scanner that reads NULL may free the PML4: no walk can start
 *     from it on that CPU any more.
 *   mmput: the teardown flush must find every borrow of mm that is still
 *     going on, and no borrow may start after it.
 *     (a) Every borrow start of mm happens-before the teardown's F1 (the
 *         tlb_gen RMW in flush_tlb_mm_range).  A borrow starts only on a
 *         CPU where a task T with T->mm == mm ran: a user -> kernel switch
 *         away from T, or T's own exit_mm.  T holds an mm_users reference
 *         that it gives up only later: exit_mm starts the borrow before
 *         T's mmput (program order); after a switch T must run again to
 *         exit, which comes after the switching CPU's release of T->on_cpu
 *         (finish_task_switch) and the acquire of whichever CPU runs T
 *         next.  The mm_users decrements are acq_rel RMWs, so each start
 *         happens-before the last decrement, and mm_teardown's flush
 *         follows that decrement in program order.  No start comes later:
 *         once mm_users is 0 no task has task->mm == mm (a task gets mm
 *         only with a reference; mmget refuses 0 -> 1), and a handover
 *         (kernel -> kernel) starts nothing - the same CPU's borrow passes
 *         on to its next task.
 *     (b) The teardown flush reaches every borrower.  By (I2) a borrower's
 *         bit was set (switch_mm) before its borrow started, so by (a)
 *         before F1; F1 is a seq_cst RMW and F2 reads mm->cpumask after it,
 *         so F2 sees the bit or a later clear - and a CPU clears its own
 *         bit only when it no longer borrows mm.  F2 calls lazy CPUs too
 *         (the flush frees page tables; and flush_tlb_mm_range adds them
 *         for a flush that ends borrows in any case), and the initiator
 *         runs the handler itself.  (No CPU ever goes offline once up.)
 *     (c) The handler ends the borrow it finds: it runs with interrupts
 *         off between two steps of the target, never inside a context
 *         switch (interrupts are off there), so current_task()->active_mm
 *         is the CPU's whole borrow (I1), and by (a) no new one follows.
 *     (d) The initiator waits for every call (R2 -> A2 in
 *         kernel/smp/smp_call.c): the ends happen-before mm_teardown
 *         returns, hence before mmput drops the users' mm_count reference
 *         and before the last mmdrop (the acq_rel chain on mm_count),
 *         which then has nobody to call.
 *     Pairs: cpumask bit set in switch_mm (arch/mmu_context.h) -> F2's
 *     cpumask read in flush_tlb_mm_range (arch/x86_64/mm/tlb.c); T->on_cpu
 *     release/acquire (sched/core.c, kthread.c) and the mm_users RMWs
 *     (mm.c) -> F1; the call's R2 -> A2 (smp_call.c) -> the users'
 *     mmdrop in mmput.
 *   drops: the target runs drop_borrow_here() in its call IPI; the waiting
 *     caller sees its effects (slot release -> caller's acquire in
 *     kernel/smp/smp_call.c, "R2 -> A2") before it frees anything.
 *   Belt and braces: mm_teardown's flush frees tables whenever another
 *     CPU is in mm->cpumask, so it moves every lazy CPU to init_mm
 *     (leave_mm) before mmput drops the users' mm_count reference; the
 *     "after the CR3 write" orders above are what refcount, shootdown and
 *     hazard guarantee without that - and with no other CPU in the
 *     cpumask those modes rely on them alone: the teardown keeps the tables
 *     for the last mmdrop and the exiting CPU stays lazy on mm
 *     (teardown_keeps_tables, kernel/mm/mm.c).  mmput mode is built on that
 *     flush: it has no protocol without it, and always gets it.
 *     tests/models/lazy_mm.pml
 *     checks each mode both ways, with a variant per ordering step
 *     (docs/models.md).
 *
 * CONTEXT RULES
 *   - borrow start/end and drops run with interrupts off (switch, IPI), so
 *     a drop IPI never lands in the middle of a switch: it always sees a
 *     consistent current_task()->active_mm.
 *   - Remote CPUs only ever compare a borrowed mm pointer with the one
 *     being freed; nothing dereferences another CPU's active_mm (from IPI
 *     or NMI context alike).
 *   - mmput mode ends borrows inside the teardown flush's handler (an IPI,
 *     or inline on the initiator, interrupts off): drop_borrow_here's
 *     leave_mm and borrow_release, nothing that waits or frees.
 *   - The final mmdrop in shootdown/hazard mode sends (waiting) IPIs: it
 *     must run in thread context with interrupts on.  Who calls it: mmput
 *     (exit paths, thread context), process_reap and tests (thread
 *     context).  finish_task_switch's borrow end (interrupts off) never
 *     calls mmdrop in those modes, and drop_borrow_here() hands refcount
 *     references back to its caller instead of dropping them in the IPI.
 *     lazy_mm_before_free() checks it.
 */
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/percpu.h>
#include <kernel/preempt.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/boot_options.h>
#include <kernel/debug/tlb_events.h>
#include <arch/mmu_context.h>
#include <arch/cpu.h>

int lazy_mm_mode = LAZY_MM_REFCOUNT;

/* In the order of enum lazy_mm_mode. */
static const char *const lazy_mm_choices[] = { "refcount", "shootdown", "hazard", "mmput", NULL };
_Static_assert(sizeof(lazy_mm_choices) / sizeof(lazy_mm_choices[0]) == LAZY_MM_NR_MODES + 1,
               "one name per enum lazy_mm_mode");
CMDLINE_ENUM(lazy_mm, lazy_mm_mode, lazy_mm_choices,
             "what keeps a lazily borrowed mm alive: refcount, shootdown, hazard or mmput");

/*
 * hazard mode: the user mm this CPU's current task borrows, or NULL (I3).
 * Written only by its CPU with interrupts off, read by scanners on any CPU;
 * relaxed atomics are plain MOVs on x86 - the ordering comes from the chain
 * described at the top.  Each CPU's copy lives in its own per-CPU area, so
 * the stores of different CPUs never share a line.
 */
static DEFINE_PER_CPU(_Atomic(struct mm *), lazy_hazard_slot);

const char *lazy_mm_mode_name(void)
{
    return lazy_mm_choices[lazy_mm_mode];
}

void lazy_mm_init(void)
{
    printk("lazy_mm: mode %s\n", lazy_mm_mode_name());
}

struct mm *lazy_mm_hazard_slot(unsigned cpu)
{
    return atomic_load_explicit(per_cpu_ptr(&lazy_hazard_slot, cpu), memory_order_relaxed);
}

/* __unused: the lifetime lab's starting tree (labs/lifetime) has no caller. */
static __unused void hazard_publish(struct mm *mm)
{
    atomic_store_explicit(this_cpu_ptr(&lazy_hazard_slot), mm, memory_order_relaxed);
}

/* ---- start and end, on the borrowing CPU with interrupts off ---- */

/*
 * THE CHECKER'S COPY OF THE BORROW (tc_cpu.borrowed, docs/tlbcheck.md "The
 * model never lags").  tc_check_mm_free reports an mm freed while the model
 * shows a CPU borrowing it, so the model may never show a borrow that the
 * freeing side can already see ended.  borrow_protect() and
 * borrow_release() are the only places that publish a borrow's protection
 * (the reference, the hazard slot), and each tells the checker in the
 * order that keeps it from lagging:
 *   start (stricter: the mm may not be freed now): the protection first,
 *     then the model - a model that learns late only checks less;
 *   end (more permissive: the freeing side may go ahead once it sees the
 *     reference dropped or the slot cleared): the model FIRST, then the
 *     release.  Pairs with tc_check_mm_free (tlbcheck/checks.c).
 * In shootdown and mmput modes nothing is published at the end: the freeing side
 * learns of it only from the cpumask bit that a later flush clears (after
 * this) or from its drop IPI's completion (after this, too).
 */
static void borrow_protect(struct mm *mm)
{
    switch (lazy_mm_mode) {
    case LAZY_MM_REFCOUNT:
        mmgrab(mm);             /* (I5): released at end or drop */
        /* The injected bug: give the reference back at once, so the borrow
         * protects nothing (and the end must then release nothing). */
        if (tlb_inject(TLB_INJECT_EARLY_LAZY_DROP))
            mmdrop(mm);         /* never the last: the user task's users hold one */
        break;
    case LAZY_MM_SHOOTDOWN:
    case LAZY_MM_MMPUT:
        break;                  /* (I2) is kept by the TLB core */
    case LAZY_MM_HAZARD:
        /* LAB(lifetime) BEGIN: hazard: publish the borrowed mm in this CPU's slot (I3) */
        /* Pairs with the slot load in hazard_scan() (see ORDERING). */
        hazard_publish(mm);
        tlb_ev_hazard_published();      /* its race window right after the store */
        /* LAB(lifetime) END */
        break;
    }
    tlb_ev_borrow_protected(mm);        /* the protection first, then the model */
}

void lazy_mm_borrow_start(struct mm *mm)
{
    if (mm == &init_mm)
        return;
    borrow_protect(mm);
}

/*
 * What a borrow gives back when it ends, by mode.  refcount: the reference
 * is returned to the caller to mmdrop (a drop IPI must not free anything);
 * hazard: clear the slot; shootdown, mmput: nothing.  The checker is told first
 * (see borrow_protect).
 */
static struct mm *borrow_release(struct mm *mm)
{
    tlb_ev_borrow_releasing();          /* the model first, then the release */
    switch (lazy_mm_mode) {
    case LAZY_MM_REFCOUNT:
        return tlb_inject(TLB_INJECT_EARLY_LAZY_DROP) ? NULL : mm;
    case LAZY_MM_HAZARD:
        /* LAB(lifetime) BEGIN: hazard: the borrow is over - clear this CPU's slot (I3) */
        /* After the CR3 write that left mm (switch_mm, or leave_mm in a
         * drop): a scanner that reads NULL may free the PML4. */
        hazard_publish(NULL);
        tlb_ev_hazard_cleared();        /* its race window right after the store */
        /* LAB(lifetime) END */
        return NULL;
    default:
        return NULL;
    }
}

void lazy_mm_borrow_end(struct mm *mm)
{
    if (mm == &init_mm)
        return;
    tlb_ev_borrow_end();
    struct mm *drop = borrow_release(mm);
    if (drop) {
        mmdrop(drop);           /* refcount: may be the last (nothing to IPI then) */
        tlb_ev_borrow_ref_dropped();    /* its race window right after the drop */
    }
}

/* ---- exit_mm ---- */

void lazy_mm_exit_mm(struct task *me)
{
    struct mm *mm = me->mm;
    BUG_ON(!mm || me != current_task());
    /*
     * Interrupts off (so no preemption or migration either) from the borrow
     * start to task->mm = NULL: a switch in between would see a user task
     * whose borrow already started on this CPU's slot and model, and a drop
     * IPI would see task->mm set and rightly ignore us - either way the
     * per-CPU state and the task would disagree.
     */
    uint64_t flags = arch_irq_save();
    lazy_mm_borrow_start(mm);   /* hazard: the slot store precedes our mmput */
    tlb_ev_exit_mm_lazy(mm);
    enter_lazy_tlb(mm, me);
    me->mm = NULL;              /* a kernel thread from here on, borrowing mm */
    arch_irq_restore(flags);
    /* The last user tears the mappings down; its flush with freed_tables
     * moves this (lazy) CPU to init_mm, the borrow goes on until we switch
     * away or a drop ends it.  shootdown/hazard: if this is also the last
     * mm_count reference, lazy_mm_before_free() drops our own borrow.
     * mmput: if ours is the last mmput, that flush's own handler on this
     * CPU ends our borrow (lazy_mm_flush_end_borrow). */
    mmput(mm);
}

/* ---- drops: make a CPU let go of a borrowed mm ---- */

struct drop_req {
    struct mm *only;                    /* NULL: any user mm */
    int why;                            /* enum lazy_drop_why, for the trace */
    struct mm *release[MAX_CPUS];       /* refcount: references for the caller to drop */
};

/* The trace's lazy_drop a1 (kernel/debug/tlb_trace.c prints it). */
enum lazy_drop_why { DROP_REQUESTED, DROP_SHOOTDOWN, DROP_HAZARD, DROP_MMPUT };

/*
 * End this CPU's borrow of `only` (of any user mm when NULL), if its current
 * task has one: leave the mm, release the borrow, active_mm = &init_mm.
 * Interrupts off (a call IPI, or the caller's own call).  Returns the
 * reference the caller must mmdrop (refcount mode), else NULL.
 */
static struct mm *end_borrow_here(struct mm *only, int why)
{
    struct task *cur = current_task();
    struct mm *mm = cur->active_mm;
    struct mm *release = NULL;
    /* Pointer compares only (see CONTEXT RULES). */
    if (cur->mm || !mm || mm == &init_mm || (only && mm != only))
        return NULL;
    /* early_borrow_end: let go first (the checker told, the hazard slot
     * cleared), leave the mm after - a scanner may free it meanwhile. */
    bool early = tlb_inject(TLB_INJECT_EARLY_BORROW_END);
    if (early)
        release = borrow_release(mm);
    leave_mm();                 /* CR3 -> init_mm if mm is still loaded here */
    tlb_ev_borrow_dropped(mm, why);
    if (!early)
        release = borrow_release(mm);
    /* Only this CPU's flush handler reads it (interrupts are off here). */
    cur->active_mm = &init_mm;
    return release;
}

/* On each target, in its call IPI (or locally), interrupts off. */
static void drop_borrow_here(void *arg)
{
    struct drop_req *r = arg;
    r->release[this_cpu_id()] = end_borrow_here(r->only, r->why);
}

/* Only the targets' slots of r->release are written and read: a reap
 * calls one or two CPUs, and clearing and scanning all MAX_CPUS slots (1 KiB)
 * cost more than the call itself.  targets are online CPUs (smp_call_mask
 * calls only those; no CPU goes offline once up). */
static void drop_and_release(const struct cpumask *targets, struct drop_req *r)
{
    unsigned c;
    for_each_cpu(c, targets)
        r->release[c] = NULL;
    tlb_ev_drop_borrowers(targets);
    smp_call_mask(targets, drop_borrow_here, r, true);
    /* Seen thanks to the waiting call's release/acquire (kernel/smp/smp_call.c). */
    for_each_cpu(c, targets)
        if (r->release[c])
            mmdrop(r->release[c]);
}

/* A copy of a mask other CPUs change with atomic bit operations. */
static void cpumask_read_shared(struct cpumask *dst, const struct cpumask *src)
{
    for (unsigned i = 0; i < sizeof(dst->bits) / sizeof(dst->bits[0]); i++)
        dst->bits[i] = __atomic_load_n(&src->bits[i], __ATOMIC_RELAXED);
}

void lazy_mm_drop_borrowers(struct mm *mm)
{
    BUG_ON(mm == &init_mm);
    struct drop_req r;          /* release[]: drop_and_release clears the targets' */
    r.only = mm;
    r.why = DROP_REQUESTED;
    if (!mm) {
        drop_and_release(&cpu_online_mask, &r);
        return;
    }
    /* One mm: only the CPUs of its cpumask can borrow it (I2), so only
     * they are called - a process's reap in refcount mode (process_reap)
     * no longer IPIs every online CPU, most of which never ran the
     * process.  The caller must know no new borrow of mm can start (I4:
     * mm_users is 0) and must come after the last decrement of mm_users
     * in happens-before (process_reap: it joined every thread, and each
     * thread's mmput is before its death); then, as for shootdown's
     * cpumask read (ORDERING), the read below sees every borrower's bit
     * or a later clear, made only by a CPU that borrows mm no longer. */
    struct cpumask targets;
    cpumask_read_shared(&targets, &mm->cpumask);
    cpumask_and(&targets, &targets, &cpu_online_mask);
    if (!cpumask_empty(&targets))
        drop_and_release(&targets, &r);
}

/* ---- mmput: the last mmput's teardown flush ends every borrow ---- */

bool lazy_mm_flush_ends_borrows(bool freed_tables, bool teardown)
{
    /* mm_teardown's flushes: full batches on the way (no tables freed, lazy
     * CPUs skipped) and one last flush with freed_tables, which every CPU
     * of the cpumask gets.  That one, after mm_users reached 0. */
    return lazy_mm_mode == LAZY_MM_MMPUT && freed_tables && teardown;
}

void lazy_mm_flush_end_borrow(struct mm *mm, unsigned from)
{
    BUG_ON(mm == &init_mm);
    /* skip_mmput_drop: the last CPU, unless it sent the flush, keeps its
     * borrow - and the mm is freed under it. */
    unsigned cpu = this_cpu_id();
    if (tlb_inject(TLB_INJECT_SKIP_MMPUT_DROP) && cpu != from && cpu == nr_cpus_online - 1)
        return;
    /* (I6): by ORDERING (mmput) no borrow of mm starts on this CPU after
     * this.  That we are called at all pairs F2's cpumask read
     * (flush_tlb_mm_range, tlb.c) with our bit set in switch_mm (S2,
     * tlb_switch.c) before our borrow started; our call's completion (R2,
     * smp_call.c) pairs with the initiator's wait (A2) before mmput drops
     * the users' mm_count reference.  The flush handler already did
     * leave_mm for a lazy CPU; a CPU that left mm earlier (a freed_tables
     * munmap) but still borrows it is let go of here too.  mmput mode
     * hands back no reference. */
    struct mm *release = end_borrow_here(mm, DROP_MMPUT);
    BUG_ON(release);            /* mmput mode's borrows hold no reference */
}

/* ---- before the last mmdrop frees an mm ---- */

/* shootdown: call every CPU in mm->cpumask (I2 says they include every
 * borrower). */
static void exit_shootdown(struct mm *mm, struct drop_req *r)
{
    struct cpumask targets;
    cpumask_read_shared(&targets, &mm->cpumask);
    tlb_ev_exit_shootdown(mm, &targets);
    if (!cpumask_empty(&targets))
        smp_call_mask(&targets, drop_borrow_here, r, true);
}

/* hazard: read every online CPU's slot, call only those holding mm. */
static void hazard_scan(struct mm *mm, struct drop_req *r)
{
    struct cpumask targets;
    cpumask_clear(&targets);
    /* LAB(lifetime) BEGIN: hazard: call exactly the CPUs whose slot holds mm, counting the slots read */
    unsigned read = 0, cpu;
    for_each_online_cpu(cpu) {
        read++;
        /* Pairs with hazard_publish(mm) at borrow start (see ORDERING). */
        if (lazy_mm_hazard_slot(cpu) == mm)
            cpumask_set_cpu(&targets, cpu);
    }
    tlb_ev_hazard_scan(mm, &targets, read);
    /* LAB(lifetime) ELSE
    // Correct but wasteful: every online CPU is called, whether it
    // borrows mm or not (drop_borrow_here lets go only of mm itself).
    unsigned cpu;
    for_each_online_cpu(cpu)
        cpumask_set_cpu(&targets, cpu);
    tlb_ev_hazard_scan(mm, &targets, 0);
    LAB(lifetime) END */
    if (!cpumask_empty(&targets))
        smp_call_mask(&targets, drop_borrow_here, r, true);
}

void lazy_mm_before_free(struct mm *mm)
{
    if (lazy_mm_mode == LAZY_MM_REFCOUNT)
        return;                 /* (I5): no borrower is left */
    if (lazy_mm_mode == LAZY_MM_MMPUT)
        return;                 /* (I6): the teardown flush ended every borrow */
    /* The waiting calls below need a caller in thread context that other
     * CPUs' calls can interrupt (see CONTEXT RULES). */
    if (!arch_irqs_enabled())
        panic("lazy_mm: the last mmdrop of ctx %llu runs with interrupts off (%s mode needs IPIs)",
              (unsigned long long)mm->ctx_id, lazy_mm_mode_name());
    if (lazy_mm_mode == LAZY_MM_SHOOTDOWN && tlb_inject(TLB_INJECT_SKIP_EXIT_SHOOTDOWN))
        return;
    if (lazy_mm_mode == LAZY_MM_HAZARD && tlb_inject(TLB_INJECT_SKIP_HAZARD_SCAN))
        return;
    struct drop_req r = { .only = mm };
    preempt_disable();          /* "remote" means not this CPU: stay on it */
    if (lazy_mm_mode == LAZY_MM_SHOOTDOWN) {
        r.why = DROP_SHOOTDOWN;
        exit_shootdown(mm, &r);
    } else {
        r.why = DROP_HAZARD;
        hazard_scan(mm, &r);
    }
    preempt_enable();
    /* Neither mode hands references back (borrow_release). */
}
