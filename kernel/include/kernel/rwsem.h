/*
 * kernel/rwsem.h - a sleeping read/write lock (kernel/sched/rwsem.c,
 * docs/locking.md "The address-space lock").
 *
 * Many readers hold it together, or one writer alone.  A task that cannot
 * have it sleeps.  The policy is FIFO with hand-off, like the mutex's
 * (kernel/wait.h): waiters queue in arrival order and the releasing task
 * grants the lock to the head of the queue - to one writer, or to the run
 * of readers at the head, all at once.  A reader that arrives while anyone
 * waits queues too, even if readers hold the lock: so a waiting writer is
 * never overtaken by a stream of new readers (no writer starvation), and a
 * reader waits for at most the writers queued before it (no reader
 * starvation).
 *
 * The lock's state is one atomic word, `count`: who holds it and whether
 * anyone waits.  Taking or dropping a lock nobody waits for is one atomic
 * instruction on that word - no spinlock, interrupts left on (every page
 * fault takes mm->lock for reading).  Only a task that must wait, and the
 * task that releases to it, take the spinlock `lock`, which guards the
 * queue.  kernel/sched/rwsem.c argues why the two never miss each other.
 *
 * Never take it with interrupts off, preemption off or a spinlock held (it
 * may sleep): down_read and down_write check this on every call, even when
 * the lock is free (docs/locking.md, rule 5).  Its own spinlock has rank
 * SLEEP, like a mutex's.
 */
#pragma once
#include <kernel/spinlock.h>
#include <kernel/list.h>
#include <stdint.h>

struct task;

/* The bits of rwsem.count. */
#define RWSEM_WRITER    1ul     /* a writer holds it */
#define RWSEM_WAITERS   2ul     /* the queue is not empty: only the slow paths take it */
#define RWSEM_READER    4ul     /* one reader; count / RWSEM_READER readers hold it */

struct rwsem {
    _Atomic uint64_t count;         /* RWSEM_* above; changed only by atomic RMWs */
    struct task *writer;            /* the writer holding it, or NULL (for the misuse
                                     * checks: written by the writer itself, or by the
                                     * task granting it, before the writer runs) */
    struct spinlock lock;           /* protects the queue below */
    struct list_head waiters;       /* struct rwsem_waiter, FIFO */
    const char *name;
};

void rwsem_init(struct rwsem *s, const char *name);
void down_read(struct rwsem *s);
void up_read(struct rwsem *s);
void down_write(struct rwsem *s);
void up_write(struct rwsem *s);
/* Held for writing by the calling task?  For assertions. */
bool rwsem_write_held_by_me(struct rwsem *s);

/*
 * For tests only (NULL otherwise): called by a task that is about to queue
 * (down_read or down_write found the lock taken), under s->lock with
 * interrupts off, after it read `seen` from count and BEFORE its
 * compare-exchange sets RWSEM_WAITERS.  tests/test_rwsem.c makes another
 * CPU release the lock right there, to force the interleaving in which that
 * exchange fails and the queuer must look again.  It must take no lock and
 * not sleep.
 */
extern void (*rwsem_queue_test_hook)(struct rwsem *s, uint64_t seen);
