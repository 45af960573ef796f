/*
 * kernel/spinlock.h - ticket spinlocks.
 *
 * A ticket lock hands the lock out in arrival order (FIFO), so no CPU starves
 * under contention.  `next` is the ticket the next arrival draws; `serving`
 * is the ticket that holds the lock.  Lock: draw a ticket with an atomic
 * fetch-add, spin until serving equals it.  Unlock: serving++ with a
 * store-release.
 *
 * Ordering: the acquire load that sees serving == my ticket pairs with the
 * release store in spin_unlock() of the previous holder, so everything the
 * previous holder wrote inside the critical section is visible to us.
 *
 * Debugging: the lock records its holder (CPU and return address).  A CPU that
 * spins for SPIN_TIMEOUT_NS (several seconds - far beyond any legitimate
 * hold time, even with a descheduled vCPU) panics naming the lock and holder.
 *
 * Use spin_lock_irqsave() for locks also taken from interrupt handlers;
 * otherwise an interrupt on the holding CPU deadlocks on its own lock.
 *
 * Holding a spinlock disables preemption (kernel/preempt.h): a holder
 * switched out would make every other CPU wanting the lock spin until it
 * runs again.  raw_spin_lock/raw_spin_unlock leave preemption alone; only
 * the scheduler uses them, for its run-queue locks, whose preempt count it
 * manages by hand across a context switch.
 */
#pragma once
#include <kernel/compiler.h>
#include <stdatomic.h>

struct spinlock {
    _Atomic uint32_t next;
    _Atomic uint32_t serving;
    const char *name;
    int owner_cpu;          /* -1 when free */
    uintptr_t owner_pc;
};

#define SPINLOCK_INIT(n) { .next = 0, .serving = 0, .name = (n), .owner_cpu = -1, .owner_pc = 0 }
#define DEFINE_SPINLOCK(var) struct spinlock var = SPINLOCK_INIT(#var)

void spin_lock_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
void raw_spin_lock(struct spinlock *l);
void raw_spin_unlock(struct spinlock *l);
bool raw_spin_trylock(struct spinlock *l);
bool spin_trylock(struct spinlock *l);
bool spin_is_locked(struct spinlock *l);
/* Is the lock held by the calling CPU?  For assertions. */
bool spin_held_by_me(struct spinlock *l);
uint64_t spin_lock_irqsave(struct spinlock *l);
void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags);

/* For tests: the time after which a spinning CPU panics. */
extern uint64_t spin_timeout_ns;
