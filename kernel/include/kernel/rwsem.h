/*
 * kernel/rwsem.h - a sleeping read/write lock (kernel/sched/rwsem.c,
 * docs/locking.md "Sleeping locks").
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
 * Never take it with interrupts off or a spinlock held (it may sleep).
 * Its own spinlock has rank SLEEP, like a mutex's.
 */
#pragma once
#include <kernel/spinlock.h>
#include <kernel/list.h>

struct task;

struct rwsem {
    struct spinlock lock;           /* protects everything below */
    int readers;                    /* readers holding it (> 0), or 0 */
    struct task *writer;            /* the writer holding it, or NULL */
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
