/*
 * kernel/smp/lock_order.c - the spinlock rank check (see kernel/lock_order.h
 * and docs/locking.md).
 *
 * Each CPU keeps the list of the spinlocks it holds.  Per CPU, not per task:
 * a task holding a spinlock cannot be switched out or moved (preemption is
 * off), and the one lock held across a context switch, the run-queue lock,
 * is released on the same CPU by the next task (finish_task_switch).
 *
 * Interrupts nest on the same list: a handler's locks are pushed above the
 * interrupted code's and popped before it resumes.  The list is changed
 * with interrupts off, so an interrupt never sees half a change; an NMI
 * can, and `updating` makes an NMI that lands inside a change leave the list
 * alone (its locks are neither checked nor recorded - an NMI handler takes
 * no lock but the console's, see docs/locking.md).
 */
#include <kernel/lock_order.h>
#include <kernel/spinlock.h>
#include <kernel/compiler.h>
#include <kernel/config.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/preempt.h>
#include <arch/cpu.h>

/* Nesting is shallow (a run-queue lock, then a few of the checker's); locks
 * beyond HELD_MAX are counted but not checked. */
#define HELD_MAX 8

/*
 * Written by its CPU at every lock and unlock, so each CPU's list has cache
 * lines of its own: 80 bytes unaligned put two CPUs' lists on one line, and
 * every lock taken on one CPU (a yield's run-queue lock, an IPC's) took
 * that line from its neighbour - a shared line written on the system-call
 * path.
 */
struct held_locks {
    struct spinlock *lock[HELD_MAX];
    unsigned depth;                 /* may exceed HELD_MAX */
    bool updating;
    struct lock_order_catch *catch;
} __cacheline_aligned;

/* Indexed by CPU id rather than per-CPU data: the first spinlock is taken
 * before the per-CPU areas exist. */
static struct held_locks held[MAX_CPUS];

static struct held_locks *mine(void)
{
    return &held[this_cpu_id()];
}

static __noinline void order_broken(struct held_locks *h, struct spinlock *l, struct spinlock *prev)
{
    if (h->catch) {
        if (!h->catch->violations++) {
            h->catch->taken = l->name;
            h->catch->held = prev->name;
        }
        return;
    }
    panic("lock order: cpu%u takes '%s' (rank %u) while holding '%s' (rank %u, taken at %p); "
          "a CPU takes locks only in rising rank (kernel/lock_order.h, docs/locking.md)",
          this_cpu_id(), l->name ? l->name : "?", l->rank, prev->name ? prev->name : "?",
          prev->rank, (void *)READ_ONCE(prev->owner_pc));
}

static __noinline void no_rank(struct held_locks *h, struct spinlock *l)
{
    if (h->catch) {
        if (!h->catch->violations++) {
            h->catch->taken = l->name;
            h->catch->held = NULL;
        }
        return;
    }
    panic("lock order: lock '%s' at %p has no rank (SPINLOCK_INIT and spin_lock_init give one)",
          l->name ? l->name : "?", (void *)l);
}

/*
 * A lock ranked at or above the first lock an interrupt handler takes
 * (LOCK_RANK_FIRST_IN_IRQ: the tick's sleepers_lock), taken with interrupts
 * on: if an interrupt lands while it is held, the handler's lock ranks at
 * or below it, and the order check panics in the handler.  That needs the
 * interrupt to land inside the critical section - a matter of timing, once
 * in hundreds of boots (the smp_spinlock suite's verification did exactly
 * this and killed a CI run).  Checked at the acquisition instead, every
 * time, so the mistake shows on its first run.
 */
static __noinline void irqs_on_broken(struct held_locks *h, struct spinlock *l)
{
    if (h->catch) {
        if (!h->catch->violations++) {
            h->catch->taken = l->name;
            h->catch->held = NULL;
        }
        return;
    }
    panic("lock order: cpu%u takes '%s' (rank %u) with interrupts on: an interrupt handler here takes "
          "locks from rank %u up, which would nest below it (take it with spin_lock_irqsave; "
          "docs/locking.md, rule 2)",
          this_cpu_id(), l->name ? l->name : "?", l->rank, LOCK_RANK_FIRST_IN_IRQ);
}

/* The report of a broken rule that lock_order_check() found: the same
 * tests again, each with its message.  Out of line, so that the check's
 * fast path makes no call and saves no registers (it runs at every lock,
 * four times an IPC round trip). */
static __noinline void report_broken(struct held_locks *h, struct spinlock *l, bool irqs_on)
{
    if (l->rank <= LOCK_RANK_NONE || l->rank >= LOCK_RANKS)
        no_rank(h, l);
    else if (irqs_on && l->rank >= LOCK_RANK_FIRST_IN_IRQ)
        irqs_on_broken(h, l);
    unsigned n = h->depth < HELD_MAX ? h->depth : HELD_MAX;
    for (unsigned i = 0; i < n; i++)
        if (h->lock[i]->rank >= l->rank) {
            order_broken(h, l, h->lock[i]);
            break;
        }
}

void lock_order_check(struct spinlock *l)
{
    if (panic_in_progress())
        return;                     /* panic takes what it can, in any order */
    uint64_t flags = arch_irq_save();
    bool irqs_on = flags & ARCH_FLAGS_IF;   /* one read of the flags, not two */
    struct held_locks *h = mine();
    if (!h->updating) {
        enum lock_rank rank = l->rank;
        bool bad = rank <= LOCK_RANK_NONE || rank >= LOCK_RANKS ||
                   (irqs_on && rank >= LOCK_RANK_FIRST_IN_IRQ);
        unsigned n = h->depth < HELD_MAX ? h->depth : HELD_MAX;
        for (unsigned i = 0; i < n; i++)
            bad |= h->lock[i]->rank >= rank;
        if (unlikely(bad))
            report_broken(h, l, irqs_on);
    }
    arch_irq_restore(flags);
}

void lock_order_acquired(struct spinlock *l)
{
    uint64_t flags = arch_irq_save();
    struct held_locks *h = mine();
    if (!h->updating) {
        h->updating = true;
        if (h->depth < HELD_MAX)
            h->lock[h->depth] = l;
        h->depth++;
        h->updating = false;
    }
    arch_irq_restore(flags);
}

void lock_order_released(struct spinlock *l)
{
    uint64_t flags = arch_irq_save();
    struct held_locks *h = mine();
    if (!h->updating && h->depth) {
        h->updating = true;
        unsigned n = h->depth < HELD_MAX ? h->depth : HELD_MAX;
        unsigned i = n;
        while (i > 0 && h->lock[i - 1] != l)
            i--;
        if (i > 0) {
            /* Locks are not always released in reverse order
             * (double_rq_unlock): close the gap. */
            for (; i < n; i++)
                h->lock[i - 1] = h->lock[i];
            h->depth--;
        } else if (h->depth > HELD_MAX) {
            h->depth--;             /* one of the unrecorded ones */
        }
        h->updating = false;
    }
    arch_irq_restore(flags);
}

void lock_order_assert_none_held(const char *why)
{
    if (panic_in_progress())
        return;
    uint64_t flags = arch_irq_save();
    struct held_locks *h = mine();
    if (!h->updating && h->depth) {
        struct spinlock *l = h->lock[0];
        if (h->catch) {
            if (!h->catch->violations++) {
                h->catch->taken = why;
                h->catch->held = l->name;
            }
        } else {
            panic("lock order: cpu%u holds '%s' (taken at %p) while %s: a CPU spinning on it "
                  "with interrupts off would never answer (docs/locking.md, rule 3)",
                  this_cpu_id(), l->name ? l->name : "?", (void *)READ_ONCE(l->owner_pc), why);
        }
    }
    arch_irq_restore(flags);
}

void lock_order_may_not_sleep(const char *lock_name)
{
    if (panic_in_progress())
        return;
    int count = preempt_count();
    uint64_t flags = arch_irq_save();
    struct held_locks *h = mine();
    struct spinlock *l = !h->updating && h->depth ? h->lock[0] : NULL;
    if (h->catch) {
        if (!h->catch->violations++) {
            h->catch->taken = lock_name;
            h->catch->held = l ? l->name : NULL;
        }
    } else {
        panic("lock order: cpu%u takes the sleeping lock '%s' where it may not sleep (preempt_count %d, "
              "interrupts %s, holding '%s' taken at %p): docs/locking.md, rule 5",
              this_cpu_id(), lock_name ? lock_name : "?", count, (flags & ARCH_FLAGS_IF) ? "on" : "off",
              l && l->name ? l->name : "no spinlock", l ? (void *)READ_ONCE(l->owner_pc) : NULL);
    }
    arch_irq_restore(flags);
}

unsigned lock_order_depth(void)
{
    return READ_ONCE(mine()->depth);
}

void lock_order_catch_begin(struct lock_order_catch *c)
{
    c->violations = 0;
    c->taken = c->held = NULL;
    mine()->catch = c;
}

void lock_order_catch_end(void)
{
    mine()->catch = NULL;
}
