/*
 * kernel/wait.h - sleeping until something happens.
 *
 * A wait queue is a lock and a list of sleeping tasks.  The protocol that
 * cannot lose a wake-up (the race it avoids: the waker makes the condition
 * true and looks for sleepers *between* the sleeper's check of the condition
 * and its going to sleep):
 *
 *   sleeper                                  waker
 *   prepare_to_wait(wq, &w):                 make the condition true
 *     lock; add w; state = BLOCKED; unlock   wake_up_one/all(wq):
 *   if (condition) -> finish_wait, done        lock; for each w: remove,
 *   schedule()     (returns at once if a         wake_up_task(w.task); unlock
 *                   wake-up came since
 *                   prepare_to_wait)
 *   finish_wait(wq, &w)
 *
 * Either the waker's locked section comes after the sleeper's, and it finds
 * the sleeper on the list and sets it RUNNABLE (so schedule() does not
 * block), or it comes before, and the condition store is visible to the
 * sleeper's check (the wait-queue lock orders the two: release by the waker's
 * unlock, acquire by the sleeper's lock).
 */
#pragma once
#include <kernel/sched.h>
#include <kernel/wait_queue.h>

struct wait_entry {
    struct task *task;
    struct list_head link;
    bool granted;           /* hand-off flag for mutexes and semaphores */
};

#define WAIT_ENTRY_INIT(w) { .task = NULL, .link = LIST_HEAD_INIT((w).link), .granted = false }
void wait_queue_init(struct wait_queue *wq, const char *name);
void prepare_to_wait(struct wait_queue *wq, struct wait_entry *w);
void finish_wait(struct wait_queue *wq, struct wait_entry *w);
/* Wake one / every sleeper; returns how many were woken. */
int wake_up_one(struct wait_queue *wq);
int wake_up_all(struct wait_queue *wq);

/* Sleep until cond is true. */
#define wait_event(wq, cond)                                                  \
    do {                                                                      \
        struct wait_entry __w = WAIT_ENTRY_INIT(__w);                         \
        for (;;) {                                                            \
            prepare_to_wait((wq), &__w);                                      \
            if (cond)                                                         \
                break;                                                        \
            schedule();                                                       \
        }                                                                     \
        finish_wait((wq), &__w);                                              \
    } while (0)

/* ---- sleeping locks (kernel/sched/sync.c) ---- */

/*
 * A mutex: one owner; others sleep.  Unlock hands the mutex straight to the
 * first waiter (FIFO), so no waiter starves.  Never take a mutex with
 * interrupts off or a spinlock held (it may sleep).
 */
struct mutex {
    struct spinlock lock;           /* protects owner and waiters */
    struct task *owner;
    struct list_head waiters;
    const char *name;
};
void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);

/* A counting semaphore, with the same hand-off on up(). */
struct semaphore {
    struct spinlock lock;
    long count;
    struct list_head waiters;
};
void sema_init(struct semaphore *s, long count, const char *name);
void down(struct semaphore *s);
bool down_trylock(struct semaphore *s);
void up(struct semaphore *s);

/* A completion: wait until another task says "done". */
struct completion {
    struct spinlock lock;
    unsigned long done;
    struct wait_queue wq;
};
void completion_init(struct completion *c, const char *name);
void wait_for_completion(struct completion *c);
void complete(struct completion *c);        /* wakes one waiter */
void complete_all(struct completion *c);    /* every current and future waiter passes */
void reinit_completion(struct completion *c);

/* Sleep for at least ms milliseconds (kernel/sched/sleep.c).  Returns early
 * only if the calling kernel thread has been asked to stop (kthread_stop). */
void msleep(unsigned ms);
