/*
 * kernel/lock_order.h - the rank of every spinlock, and the check that each
 * CPU takes its spinlocks in rank order (docs/locking.md says why each lock
 * sits where it does).
 *
 * Two CPUs deadlock when each holds a lock the other waits for.  That cannot
 * happen if every CPU takes its locks in one global order: then the CPU
 * holding the highest-ranked of the locks involved can always go on.  The
 * order is this enum, outermost first: a CPU may take a lock only when its
 * rank is above the rank of every lock the CPU already holds - including
 * the locks of the code an interrupt interrupted, since that code cannot go
 * on before the handler is done.
 *
 * The check (kernel/smp/lock_order.c) is always on: spin_lock() and
 * raw_spin_lock() compare the lock's rank with the ranks this CPU holds and
 * panic naming both locks when the order is broken, BEFORE waiting, so a
 * broken order is caught the first time the two locks nest, not only on the
 * day two CPUs collide.  A trylock is exempt (it does not wait, so it cannot
 * close a cycle) but counts as held: the balancer's second run-queue lock is
 * the one lock taken at the rank it already holds, with trylock.
 */
#pragma once
#include <kernel/compiler.h>

enum lock_rank {
    LOCK_RANK_NONE = 0,         /* never a valid rank: a lock must be given one */
    LOCK_RANK_AFFINITY,         /* affinity_lock: one affinity change at a time */
    LOCK_RANK_PROCESS,          /* process_lock: the process tree */
    LOCK_RANK_IPC_TABLE,        /* ipc_table_lock: the endpoint table (create, lookup,
                                 * destroy; never a message) */
    LOCK_RANK_IPC_ENDPOINT,     /* one endpoint's lock: its queues, its pending replies */
    LOCK_RANK_SLEEP,            /* a wait queue's lock, a mutex's, semaphore's or
                                 * completion's own lock (kernel/wait.h) */
    LOCK_RANK_TASKS,            /* all_tasks_lock: the list of tasks */
    LOCK_RANK_SLEEPERS,         /* a run queue's sleepers_lock: its msleep() list */
    LOCK_RANK_RUNQUEUE,         /* a run queue's lock */
    LOCK_RANK_KSTACK,           /* kstack_lock: kernel stack slots and cache */
    LOCK_RANK_IOREMAP,          /* ioremap_lock: the device-mapping window */
    LOCK_RANK_KERNEL_PT,        /* kernel_pt_lock: the kernel half's page tables */
    LOCK_RANK_PTL,              /* one user page table's lock (its entries, under mm->lock) */
    LOCK_RANK_TC_CPU,           /* the checker's model of one CPU's TLB */
    LOCK_RANK_TC_MM,            /* the checker's record of one mm */
    LOCK_RANK_TC_KERNEL,        /* the checker's record of the kernel half */
    LOCK_RANK_TC_REGISTRY,      /* the checker's list of its mm records (looked up
                                 * under the CPU's model when CR3 is not what the
                                 * code claimed) */
    LOCK_RANK_SLAB_CACHES,      /* caches_lock: the list of object caches */
    LOCK_RANK_SLAB,             /* one object cache's lock */
    LOCK_RANK_BUDDY,            /* buddy_lock: the page allocator */
    LOCK_RANK_TC_FRAME,         /* the checker's records of unmapped frames */
    LOCK_RANK_PT_FREE,          /* pt_free_lock: page tables waiting for a grace period */
    LOCK_RANK_RCU,              /* cb_lock: RCU callbacks waiting for their grace period */
    LOCK_RANK_LEAF,             /* a lock under which no other is taken (tests' own locks) */
    LOCK_RANK_CONSOLE,          /* console_lock: printk may be called under any lock */
    LOCK_RANKS
};

/* The lowest rank an interrupt handler takes (the tick's sleepers_lock): a
 * lock of this rank or above is always taken with interrupts off, which
 * lock_order_check() verifies at every acquisition (docs/locking.md). */
#define LOCK_RANK_FIRST_IN_IRQ LOCK_RANK_SLEEPERS


struct spinlock;

/* spinlock.c calls these; nothing else should. */
void lock_order_check(struct spinlock *l);          /* before waiting for l */
void lock_order_acquired(struct spinlock *l);       /* l is now held by this CPU */
void lock_order_released(struct spinlock *l);

/* How many locks this CPU holds (for assertions). */
unsigned lock_order_depth(void);

/*
 * Panics (or records, under a catch) when this CPU holds a spinlock: for
 * places that wait for other CPUs (a cross-CPU call that waits).  A CPU
 * spinning on that lock with interrupts off would never answer, and the
 * two would wait for each other for ever (docs/locking.md, rule 3).
 */
void lock_order_assert_none_held(const char *why);

/*
 * Rule 5 (docs/locking.md): a sleeping lock (down_read, down_write) was
 * asked for where the task may not sleep - preemption off (a spinlock held,
 * or preempt_disable) or interrupts off.  Panics naming the spinlock this
 * CPU holds, if any (or records, under a catch: `taken` is lock_name,
 * `held` that spinlock's name or NULL).  The caller tests the context
 * inline (kernel/sched/rwsem.c, may_sleep_check) and calls this only when
 * it is wrong, so the lock's fast path makes no call.
 */
void lock_order_may_not_sleep(const char *lock_name);

/*
 * For tests only: while a catch is set on this CPU (interrupts off, so the
 * CPU cannot change), a broken order is recorded in it instead of
 * panicking (for lock_order_assert_none_held, `taken` is its why).  The test proves the check fires by nesting two private locks
 * the wrong way round (tests/test_lock_order.c).
 */
struct lock_order_catch {
    unsigned violations;
    const char *taken, *held;       /* the first violation's two locks (held is
                                     * NULL when `taken` had no rank) */
};
void lock_order_catch_begin(struct lock_order_catch *c);
void lock_order_catch_end(void);
