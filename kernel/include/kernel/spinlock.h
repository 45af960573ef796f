/*
 * kernel/spinlock.h - ticket spinlocks, and test-and-set on virtual CPUs.
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
 * On a virtual CPU, FIFO is a trap: when the host takes the core of the
 * vCPU whose ticket is next, every vCPU queued behind it spins until that one
 * runs again, even while the lock is free - each hand-off then costs a host
 * scheduling delay (measured: 8 vCPUs on 2 busy host cores passed ~20
 * hand-offs a second, and a producer/consumer test took over 5 minutes per
 * tenth).  So when CPUID says "hypervisor", lock() takes the lock only when
 * it is free, with a compare-and-swap of `next` (serving -> serving + 1):
 * whichever running vCPU sees it free first gets it (test-and-set, unfair,
 * no queue to stall).  Linux does the same without paravirtual spinlocks
 * (virt_spin_lock).  Unlock is the same store-release in both kinds, and
 * both keep `next - serving` = 1 while held, so is_locked and trylock work
 * unchanged - and the kinds mix safely on one lock (a test-and-set waiter
 * waits for next == serving, which a queued ticket keeps false; a ticket
 * drawn under a test-and-set holder is served by its unlock).  Boot option spinlock=auto|ticket|tas (auto: tas under a
 * hypervisor, ticket on real hardware); chosen before other CPUs start.
 *
 * Debugging: the lock records its holder (CPU and return address).  A CPU
 * that waits while the lock does not change hands for spin_timeout_ns
 * (seconds - far beyond any legitimate hold time, even with a descheduled
 * vCPU) panics naming the lock and holder.  The clock restarts whenever
 * `serving` moves: a lock that keeps changing hands is contended, not stuck,
 * however long an unlucky waiter waits, so no load can make this fire.
 *
 * Order: every lock has a rank (kernel/lock_order.h), and a CPU takes locks
 * only in rising rank; spin_lock checks it every time and panics naming both
 * locks (docs/locking.md has the whole order and the context rules).
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
#include <kernel/lock_order.h>
#include <stdatomic.h>

struct spinlock {
    _Atomic uint32_t next;
    _Atomic uint32_t serving;
    const char *name;
    int owner_cpu;          /* -1 when free */
    uintptr_t owner_pc;
    enum lock_rank rank;
};

#define SPINLOCK_INIT(n, r) { .next = 0, .serving = 0, .name = (n), .owner_cpu = -1, .owner_pc = 0, \
                              .rank = (r) }
#define DEFINE_SPINLOCK(var, r) struct spinlock var = SPINLOCK_INIT(#var, r)

void spin_lock_init(struct spinlock *l, const char *name, enum lock_rank rank);
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

/*
 * For tests only (NULL otherwise): called on this CPU each time it has taken
 * a lock - spin_lock, raw_spin_lock, and a trylock that succeeded - with
 * the lock held.  It must take no lock itself.  tests/test_ipc_locks.c
 * records with it which locks an IPC round trip and a null system call
 * take (the system-call path takes no lock shared beyond its parties).
 */
extern void (*spin_lock_taken_test_hook)(struct spinlock *l);

/* For tests: the time without a hand-off after which a spinning CPU panics. */
extern uint64_t spin_timeout_ns;

/* Which lock() the kernel runs (spinlock=, and CPUID via spinlock_choose). */
enum spin_kind { SPIN_AUTO, SPIN_TICKET, SPIN_TAS };
extern enum spin_kind spin_kind;
/* Settle spinlock=auto: test-and-set when `virtual_cpus`, else ticket.  Boot
 * CPU only, before any other CPU runs; prints the choice. */
void spinlock_choose(bool virtual_cpus);
