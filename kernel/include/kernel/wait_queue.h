/*
 * kernel/wait_queue.h - the wait queue itself: a lock and a list of
 * sleeping tasks.  Apart from kernel/wait.h (which has the protocol and the
 * calls) because struct task embeds one (its exit queue, kernel/sched.h)
 * and wait.h needs struct task.
 */
#pragma once
#include <kernel/list.h>
#include <kernel/spinlock.h>

struct wait_queue {
    struct spinlock lock;
    struct list_head waiters;
};

#define WAIT_QUEUE_INIT(wq, n) { .lock = SPINLOCK_INIT(n, LOCK_RANK_SLEEP), .waiters = LIST_HEAD_INIT((wq).waiters) }
