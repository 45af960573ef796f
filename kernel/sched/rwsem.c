/*
 * kernel/sched/rwsem.c - the sleeping read/write lock of kernel/rwsem.h.
 *
 * Hand-off, as for mutexes (kernel/sched/sync.c): the releasing task does
 * not wake waiters to compete again, it grants the lock to the head of the
 * FIFO queue under s->lock - one writer, or every reader up to the first
 * writer - and marks each granted entry.  A waiter checks its mark after
 * it set itself BLOCKED and before it sleeps, so a grant cannot be missed,
 * and the lock's state already counts it when it wakes.
 *
 * Fairness (docs/locking.md): a newcomer takes the lock at once only when
 * nobody waits (a reader: and no writer holds it; a writer: and it is
 * free).  Otherwise it queues.  So the queue is served in arrival order,
 * and readers that arrive while a writer waits are not let past it.
 */
#include <kernel/rwsem.h>
#include <kernel/sched.h>
#include <kernel/panic.h>

struct rwsem_waiter {
    struct list_head link;
    struct task *task;
    bool writer;
    bool granted;               /* set under s->lock by the granting task */
};

void rwsem_init(struct rwsem *s, const char *name)
{
    spin_lock_init(&s->lock, name, LOCK_RANK_SLEEP);
    s->readers = 0;
    s->writer = NULL;
    list_init(&s->waiters);
    s->name = name;
}

/* Queue ourselves and sleep until granted.  s->lock held (irqs saved in
 * flags); returns with it released. */
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

/* The lock is free or held by readers only: grant it to the head of the
 * queue - a writer if the lock is free, else nothing; or the run of readers
 * at the head.  s->lock held. */
static void grant_head(struct rwsem *s)
{
    while (!list_empty(&s->waiters)) {
        struct rwsem_waiter *w = list_first_entry(&s->waiters, struct rwsem_waiter, link);
        if (w->writer) {
            if (s->readers || s->writer)
                return;                 /* it waits for the readers to leave */
            s->writer = w->task;
        } else {
            if (s->writer)
                return;
            s->readers++;
        }
        list_del(&w->link);
        struct task *t = w->task;
        bool writer = w->writer;
        WRITE_ONCE(w->granted, true);   /* w lives on t's stack: last touch */
        wake_up_task(t);
        if (writer)
            return;
    }
}

void down_read(struct rwsem *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (s->writer == current_task())
        panic("rwsem '%s': read lock by its writer '%s'", s->name, current_task()->name);
    if (!s->writer && list_empty(&s->waiters)) {
        s->readers++;
        spin_unlock_irqrestore(&s->lock, flags);
        return;
    }
    wait_for_grant(s, flags, false);
}

void up_read(struct rwsem *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (s->readers <= 0 || s->writer)
        panic("rwsem '%s': read unlock by '%s' without readers", s->name, current_task()->name);
    if (--s->readers == 0)
        grant_head(s);
    spin_unlock_irqrestore(&s->lock, flags);
}

void down_write(struct rwsem *s)
{
    struct task *me = current_task();
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (s->writer == me)
        panic("rwsem '%s': recursive write lock by '%s'", s->name, me->name);
    if (!s->writer && !s->readers && list_empty(&s->waiters)) {
        s->writer = me;
        spin_unlock_irqrestore(&s->lock, flags);
        return;
    }
    wait_for_grant(s, flags, true);
    BUG_ON(READ_ONCE(s->writer) != me);
}

void up_write(struct rwsem *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (s->writer != current_task())
        panic("rwsem '%s': write unlock by '%s', which does not hold it", s->name,
              current_task()->name);
    s->writer = NULL;
    grant_head(s);
    spin_unlock_irqrestore(&s->lock, flags);
}

bool rwsem_write_held_by_me(struct rwsem *s)
{
    return READ_ONCE(s->writer) == current_task();
}
