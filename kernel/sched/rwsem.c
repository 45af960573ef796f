/*
 * kernel/sched/rwsem.c - the sleeping read/write lock of kernel/rwsem.h.
 *
 * THE WORD.  s->count says who holds the lock and whether anyone waits:
 *
 *   RWSEM_WRITER   (bit 0)  a writer holds it
 *   RWSEM_WAITERS  (bit 1)  the queue s->waiters is not empty
 *   count / RWSEM_READER    how many readers hold it
 *
 * It only ever changes by atomic read-modify-writes (compare-exchange,
 * fetch-add, fetch-and), so all its changes fall in one order, and a
 * compare-exchange succeeds only if nothing changed the word since its
 * author read it.  That is what the argument below rests on.
 *
 * FAST PATHS (no spinlock, interrupts left as they are - on):
 *   F1 down_read:  CAS c -> c + READER, only if c has neither WRITER nor
 *                  WAITERS                                  (acquire)
 *   F2 down_write: CAS 0 -> WRITER, then s->writer = me     (acquire)
 *   U1 up_read:    fetch_sub READER; if that left no reader and WAITERS
 *                  set, up_read_slow                        (release)
 *   W1 up_write:   s->writer = NULL, CAS WRITER -> 0; if that fails
 *                  (WAITERS is set), up_write_slow          (release)
 *
 * SLOW PATHS take s->lock (rank SLEEP, interrupts off: they wake tasks,
 * which takes a run-queue lock) and keep the FIFO queue and the hand-off
 * of the mutex (kernel/sched/sync.c): the releasing task grants the lock to
 * the head of the queue - one writer, or every reader up to the first
 * writer - by adding the head's hold to the word itself (grant_head), and
 * marks each granted entry.  A waiter checks its mark under s->lock after
 * it set itself BLOCKED and before it sleeps, so a grant cannot be missed,
 * and the word already counts it when it wakes.  A task that must wait
 * (down_read_slow, down_write_slow: take_or_announce), under s->lock,
 * looks at the word:
 *   - free for it (a reader: no WRITER, no WAITERS; a writer: 0): it takes
 *     it with the fast path's exchange after all (the holder left
 *     meanwhile);
 *   - WAITERS set (Q2): it queues at the tail;
 *   - held, WAITERS clear (Q1): CAS c -> c | WAITERS, and queues if that
 *     succeeds; if it fails, the word changed (a holder left, a reader came
 *     or went) and it looks again.
 *
 * INVARIANT.  Whenever s->lock is free, WAITERS is set exactly when the
 * queue is not empty: WAITERS is set only under s->lock, by a task that
 * queues itself before it drops s->lock, and cleared only under s->lock, by
 * grant_head when it has emptied the queue.  In particular nobody clears
 * WAITERS while a queuer holds s->lock.
 *
 * WHY NO WAKE-UP IS LOST.  A waiter must be granted the lock by whoever
 * frees it.  The fast releases, U1 and W1, look at WAITERS in the very
 * read-modify-write that releases, and the queuer's Q1 is one of the same
 * word.  So one of the two comes first in the word's order:
 *   - Q1 first: the releaser's U1/W1 sees WAITERS.  W1's exchange fails and
 *     up_write_slow runs; U1, if it was the last reader, calls
 *     up_read_slow (a reader that was not the last leaves the lock held,
 *     and the last one will see WAITERS in turn).  Either takes s->lock,
 *     which the queuer held from before Q1 until it was in the queue (its
 *     wait_for_grant drops it), so grant_head finds it there.  (Q1 pairs
 *     with U1 in up_read and with W1 in up_write.)
 *   - U1/W1 first: Q1's exchange compares against the word the queuer read
 *     before the release, fails, and the queuer looks again - and finds
 *     the lock free, or held by someone whose release will in turn be
 *     ordered against its next Q1.
 *   - Q2 (WAITERS already set, no exchange): WAITERS stays set while the
 *     queuer holds s->lock (INVARIANT), so every release meanwhile, and
 *     every later one that frees the lock, goes to a slow path, which
 *     waits for s->lock and then finds the queuer in the queue.
 * Slow releases hold s->lock themselves, so they see the queue as it is.
 * And a lock that is free with WAITERS set always has a releaser on its
 * way to grant_head: only a release leaves it free, and a release that
 * sees WAITERS goes to a slow path.
 *
 * WHY GRANTS ARE SAFE AND FIFO HOLDS.  While WAITERS is set, F1 and F2
 * fail (F1 tests it, F2 expects 0), so no newcomer can take the lock: the
 * holds in the word change only by grant_head (under s->lock) and by
 * releases (which only remove holds).  So what grant_head read stays true
 * enough: it saw no holder and grants a writer, or saw no writer and
 * grants readers, and nobody can slip in between its read and its update.
 * A newcomer takes the lock only when WAITERS is clear, that is when the
 * queue is empty: it overtakes nobody, which is the fairness of
 * kernel/rwsem.h (a reader arriving while a writer waits queues although
 * readers hold the lock).
 *
 * MEMORY ORDER.  Taking is acquire (F1, F2), dropping is release (U1,
 * W1): the next holder sees everything the last one wrote inside.  The
 * slow paths' read-modify-writes are all acq_rel and grant_head reads the
 * word with acquire (G1), so a grant is ordered after the release of the
 * holder that left (G1 pairs with U1 and W1), and a fast acquirer that
 * reads a word a slow path wrote synchronizes with that write.  A granted
 * waiter reads its mark under s->lock, so it is ordered after its grantor
 * by s->lock itself.
 *
 * CONTEXT.  A task may sleep here, so down_read and down_write check on
 * every call, before anything else, that preemption and interrupts are on
 * (rule 5 of docs/locking.md): a spinlock holder has preemption off.  The
 * test is two reads (this CPU's preempt count and the flags) and the
 * report is out of line (lock_order_may_not_sleep, which also honours a
 * test's catch), the way lock_order_check keeps its own fast path free of
 * calls.  The releases need no check: they never sleep.
 */
#include <kernel/rwsem.h>
#include <kernel/sched.h>
#include <kernel/panic.h>
#include <kernel/preempt.h>
#include <arch/cpu.h>

struct rwsem_waiter {
    struct list_head link;
    struct task *task;
    bool writer;
    bool granted;               /* set under s->lock by the granting task */
};

void (*rwsem_queue_test_hook)(struct rwsem *s, uint64_t seen);

/* The bits that say someone holds it: the writer, or any reader. */
#define RWSEM_HELD (~RWSEM_WAITERS)

void rwsem_init(struct rwsem *s, const char *name)
{
    atomic_store_explicit(&s->count, 0, memory_order_relaxed);
    s->writer = NULL;
    spin_lock_init(&s->lock, name, LOCK_RANK_SLEEP);
    list_init(&s->waiters);
    s->name = name;
}

/* Rule 5 (docs/locking.md): only where sleeping is allowed, even when the
 * lock is free and this call would not sleep - the mistake must show on its
 * first run, not on the first day the lock is contended. */
static inline void may_sleep_check(struct rwsem *s)
{
    if (unlikely(preempt_count() != 0 || !arch_irqs_enabled()))
        lock_order_may_not_sleep(s->name);
}

static void queue_test_hook(struct rwsem *s, uint64_t seen)
{
    void (*hook)(struct rwsem *, uint64_t) = READ_ONCE(rwsem_queue_test_hook);
    if (unlikely(hook != NULL))
        hook(s, seen);
}

/* Queue ourselves and sleep until granted.  s->lock held (irqs saved in
 * flags), WAITERS set; returns with s->lock released, holding the lock. */
static void wait_for_grant(struct rwsem *s, uint64_t flags, bool writer)
{
    struct rwsem_waiter w = { .task = current_task(), .writer = writer, .granted = false };
    list_add_tail(&w.link, &s->waiters);
    for (;;) {
        set_current_state(TASK_BLOCKED);
        bool granted = READ_ONCE(w.granted);
        spin_unlock_irqrestore(&s->lock, flags);
        if (granted)
            break;
        schedule();
        flags = spin_lock_irqsave(&s->lock);
    }
    set_current_state(TASK_RUNNABLE);
}

/*
 * Grant the lock to the head of the queue as far as the word allows: a
 * writer if nobody holds it, the run of readers at the head if no writer
 * does; then clear WAITERS if the queue is empty.  Called under s->lock by
 * a releaser (U1 or W1 saw WAITERS), with WAITERS set or the queue already
 * emptied by an earlier grant_head - a second call finds nothing to do.
 */
static void grant_head(struct rwsem *s)
{
    while (!list_empty(&s->waiters)) {
        struct rwsem_waiter *w = list_first_entry(&s->waiters, struct rwsem_waiter, link);
        /* G1: pairs with the release of the holder that left (U1 in
         * up_read, W1/W2 in up_write). */
        uint64_t c = atomic_load_explicit(&s->count, memory_order_acquire);
        if (w->writer) {
            if (c & RWSEM_HELD)
                break;                  /* it waits for the holders to leave */
            s->writer = w->task;        /* before it runs: its checks read it */
            atomic_fetch_or_explicit(&s->count, RWSEM_WRITER, memory_order_acq_rel);
        } else {
            if (c & RWSEM_WRITER)
                break;
            atomic_fetch_add_explicit(&s->count, RWSEM_READER, memory_order_acq_rel);
        }
        list_del(&w->link);
        struct task *t = w->task;
        bool writer = w->writer;
        WRITE_ONCE(w->granted, true);   /* w lives on t's stack: last touch */
        wake_up_task(t);
        if (writer)
            break;
    }
    /* The INVARIANT: WAITERS goes with the last waiter, under s->lock.
     * From here the fast paths take the lock again. */
    if (list_empty(&s->waiters))
        atomic_fetch_and_explicit(&s->count, ~RWSEM_WAITERS, memory_order_acq_rel);
}

/*
 * Under s->lock, for a task that found the lock taken: take it after all if
 * it is free for us now (its holder left meanwhile: a reader needs no
 * WRITER and no WAITERS, a writer a word of 0), else see that WAITERS is
 * set, so that we may queue.  Returns true when taken.
 */
static bool take_or_announce(struct rwsem *s, bool writer)
{
    uint64_t c = atomic_load_explicit(&s->count, memory_order_acquire);
    for (;;) {
        bool free = writer ? c == 0 : !(c & (RWSEM_WRITER | RWSEM_WAITERS));
        if (free) {
            /* As F1 or F2 does. */
            if (atomic_compare_exchange_weak_explicit(&s->count, &c, writer ? RWSEM_WRITER : c + RWSEM_READER,
                                                      memory_order_acq_rel, memory_order_acquire))
                return true;
            continue;
        }
        if (c & RWSEM_WAITERS)
            return false;               /* Q2: behind those already waiting */
        queue_test_hook(s, c);
        /* Q1: held, nobody waits yet.  Pairs with U1 in up_read and W1 in
         * up_write: if a holder left since we read c, this fails and we
         * look again. */
        if (atomic_compare_exchange_weak_explicit(&s->count, &c, c | RWSEM_WAITERS,
                                                  memory_order_acq_rel, memory_order_acquire))
            return false;
    }
}

static __noinline void down_read_slow(struct rwsem *s)
{
    struct task *me = current_task();
    uint64_t flags = spin_lock_irqsave(&s->lock);
    /* s->writer is me only if I put it there (F2) or was granted it. */
    if (READ_ONCE(s->writer) == me)
        panic("rwsem '%s': read lock by its writer '%s'", s->name, me->name);
    if (take_or_announce(s, false)) {
        spin_unlock_irqrestore(&s->lock, flags);
        return;
    }
    wait_for_grant(s, flags, false);
}

void down_read(struct rwsem *s)
{
    may_sleep_check(s);
    uint64_t c = atomic_load_explicit(&s->count, memory_order_relaxed);
    /* F1: pairs with U1/W1 of the last holder.  A failure because another
     * reader came or went retries here; a writer or a waiter sends us to
     * the slow path. */
    while (!(c & (RWSEM_WRITER | RWSEM_WAITERS)))
        if (likely(atomic_compare_exchange_weak_explicit(&s->count, &c, c + RWSEM_READER,
                                                         memory_order_acquire, memory_order_relaxed)))
            return;
    down_read_slow(s);
}

static __noinline void up_read_slow(struct rwsem *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    grant_head(s);
    spin_unlock_irqrestore(&s->lock, flags);
}

static __noinline void up_read_broken(struct rwsem *s)
{
    panic("rwsem '%s': read unlock by '%s' without readers", s->name, current_task()->name);
}

void up_read(struct rwsem *s)
{
    /* U1: pairs with F1/F2/G1 of the next holder, and with Q1 in
     * take_or_announce (the one of the two that comes
     * first in the word's order is seen by the other). */
    uint64_t old = atomic_fetch_sub_explicit(&s->count, RWSEM_READER, memory_order_release);
    if (unlikely(old < RWSEM_READER || (old & RWSEM_WRITER)))
        up_read_broken(s);
    /* The last reader left and someone waits: hand it on. */
    if (unlikely(old == (RWSEM_READER | RWSEM_WAITERS)))
        up_read_slow(s);
}

static __noinline void down_write_slow(struct rwsem *s)
{
    struct task *me = current_task();
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (READ_ONCE(s->writer) == me)
        panic("rwsem '%s': recursive write lock by '%s'", s->name, me->name);
    if (take_or_announce(s, true)) {
        WRITE_ONCE(s->writer, me);
        spin_unlock_irqrestore(&s->lock, flags);
        return;
    }
    wait_for_grant(s, flags, true);
    BUG_ON(READ_ONCE(s->writer) != me);
}

void down_write(struct rwsem *s)
{
    may_sleep_check(s);
    uint64_t c = 0;
    /* F2: pairs with U1/W1 of the last holder. */
    if (likely(atomic_compare_exchange_strong_explicit(&s->count, &c, RWSEM_WRITER,
                                                       memory_order_acquire, memory_order_relaxed))) {
        WRITE_ONCE(s->writer, current_task());
        return;
    }
    down_write_slow(s);
}

static __noinline void up_write_slow(struct rwsem *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    /* W2: drop the writer's hold; WAITERS stays set (the queue is not
     * empty: only grant_head empties it, and nobody but us can call it
     * while we hold the lock), so no fast path takes it before the head
     * is granted.  Pairs with G1. */
    uint64_t old = atomic_fetch_and_explicit(&s->count, ~RWSEM_WRITER, memory_order_acq_rel);
    BUG_ON(old != (RWSEM_WRITER | RWSEM_WAITERS));
    grant_head(s);
    spin_unlock_irqrestore(&s->lock, flags);
}

void up_write(struct rwsem *s)
{
    struct task *me = current_task();
    if (unlikely(READ_ONCE(s->writer) != me))
        panic("rwsem '%s': write unlock by '%s', which does not hold it", s->name, me->name);
    WRITE_ONCE(s->writer, NULL);        /* before W1: the next writer sets its own */
    uint64_t c = RWSEM_WRITER;
    /* W1: pairs with F1/F2/G1 of the next holder, and with Q1 in the slow
     * paths.  While we hold it for writing the word is WRITER, or
     * WRITER | WAITERS once someone queued: then this fails. */
    if (likely(atomic_compare_exchange_strong_explicit(&s->count, &c, 0, memory_order_release,
                                                       memory_order_relaxed)))
        return;
    up_write_slow(s);
}

bool rwsem_write_held_by_me(struct rwsem *s)
{
    return READ_ONCE(s->writer) == current_task();
}
