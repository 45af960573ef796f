/*
 * kernel/sched/sync.c - mutexes, semaphores and completions, built on the
 * sleep/wake-up protocol of kernel/wait.h.
 *
 * Mutexes and semaphores hand off: the releasing task does not just wake a
 * waiter to compete for the lock again, it gives the lock (or the unit) to
 * the first waiter, marking its entry `granted` under the lock.  The waiter
 * checks `granted` - its condition - after prepare-to-sleep, so the hand-off
 * cannot be missed, and a stream of newcomers cannot overtake it.
 */
#include <kernel/wait.h>
#include <kernel/panic.h>

/* Sleep on `waiters` (protected by `lock`, held with irqs saved in *flags)
 * until our entry is granted.  Returns with the lock released. */
static void sleep_until_granted(struct spinlock *lock, uint64_t flags, struct list_head *waiters)
{
    struct wait_entry w = WAIT_ENTRY_INIT(w);
    w.task = current_task();
    list_add_tail(&w.link, waiters);
    for (;;) {
        set_current_state(TASK_BLOCKED);
        bool granted = READ_ONCE(w.granted);
        spin_unlock_irqrestore(lock, flags);
        if (granted)
            break;
        schedule();
        flags = spin_lock_irqsave(lock);
    }
    set_current_state(TASK_RUNNABLE);
}

/* Give the first waiter the resource; false if nobody waits.  Lock held. */
static bool grant_first(struct list_head *waiters)
{
    if (list_empty(waiters))
        return false;
    struct wait_entry *w = list_first_entry(waiters, struct wait_entry, link);
    list_del(&w->link);
    struct task *t = w->task;
    WRITE_ONCE(w->granted, true);   /* w lives on t's stack: last touch */
    wake_up_task(t);
    return true;
}

void mutex_init(struct mutex *m, const char *name)
{
    spin_lock_init(&m->lock, name, LOCK_RANK_SLEEP);
    m->owner = NULL;
    list_init(&m->waiters);
    m->name = name;
}

void mutex_lock(struct mutex *m)
{
    struct task *me = current_task();
    uint64_t flags = spin_lock_irqsave(&m->lock);
    if (m->owner == me)
        panic("mutex '%s': recursive lock by '%s'", m->name, me->name);
    if (!m->owner) {
        m->owner = me;
        spin_unlock_irqrestore(&m->lock, flags);
        return;
    }
    sleep_until_granted(&m->lock, flags, &m->waiters);
    /* mutex_unlock() made us the owner before waking us. */
    BUG_ON(READ_ONCE(m->owner) != me);
}

bool mutex_trylock(struct mutex *m)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    bool ok = !m->owner;
    if (ok)
        m->owner = current_task();
    spin_unlock_irqrestore(&m->lock, flags);
    return ok;
}

void mutex_unlock(struct mutex *m)
{
    uint64_t flags = spin_lock_irqsave(&m->lock);
    if (m->owner != current_task())
        panic("mutex '%s': unlocked by '%s', which does not own it", m->name, current_task()->name);
    if (!list_empty(&m->waiters)) {
        struct wait_entry *w = list_first_entry(&m->waiters, struct wait_entry, link);
        m->owner = w->task;
        grant_first(&m->waiters);
    } else {
        m->owner = NULL;
    }
    spin_unlock_irqrestore(&m->lock, flags);
}

void sema_init(struct semaphore *s, long count, const char *name)
{
    spin_lock_init(&s->lock, name, LOCK_RANK_SLEEP);
    s->count = count;
    list_init(&s->waiters);
}

void down(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (s->count > 0) {
        s->count--;
        spin_unlock_irqrestore(&s->lock, flags);
        return;
    }
    sleep_until_granted(&s->lock, flags, &s->waiters);
}

bool down_trylock(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    bool ok = s->count > 0;
    if (ok)
        s->count--;
    spin_unlock_irqrestore(&s->lock, flags);
    return ok;
}

void up(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    if (!grant_first(&s->waiters))
        s->count++;
    spin_unlock_irqrestore(&s->lock, flags);
}

void completion_init(struct completion *c, const char *name)
{
    spin_lock_init(&c->lock, name, LOCK_RANK_SLEEP);
    c->done = 0;
    wait_queue_init(&c->wq, name);
}

static bool try_consume(struct completion *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    bool ok = c->done > 0;
    if (ok && c->done != ~0ul)
        c->done--;
    spin_unlock_irqrestore(&c->lock, flags);
    return ok;
}

void wait_for_completion(struct completion *c)
{
    wait_event(&c->wq, try_consume(c));
}

void complete(struct completion *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (c->done != ~0ul)
        c->done++;
    spin_unlock_irqrestore(&c->lock, flags);
    wake_up_one(&c->wq);
}

void complete_all(struct completion *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    c->done = ~0ul;
    spin_unlock_irqrestore(&c->lock, flags);
    wake_up_all(&c->wq);
}

void reinit_completion(struct completion *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    c->done = 0;
    spin_unlock_irqrestore(&c->lock, flags);
}
