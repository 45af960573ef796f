/*
 * kernel/rcu.h - read-copy-update: readers that take no lock, and writers
 * that free what they unpublished only after every reader that might still
 * hold it has finished (kernel/rcu/rcu.c, docs/rcu.md).
 *
 * A READ-SIDE CRITICAL SECTION is the code between rcu_read_lock() and
 * rcu_read_unlock().  Here it disables preemption and nothing else (the
 * "preemption-disable style", like Linux's non-preemptible RCU): a reader
 * cannot sleep, cannot be switched out, and holds this CPU until it ends.
 * It costs one per-CPU add at each end, no atomics, no shared cache line.
 *
 * A QUIESCENT STATE of a CPU is a moment at which it is in no read-side
 * critical section: a context switch, the idle loop, a return to user mode,
 * a timer tick that interrupted code with preempt_count() == 0.  A GRACE
 * PERIOD is an interval during which every CPU that was online at its start
 * passed through a quiescent state; every reader that was running when the
 * grace period started has then ended.  CPUs that are not online run no
 * readers and are not waited for; an idle CPU reports quiescent states from
 * its idle loop and its ticks, so it never holds a grace period up.
 *
 * The writer's side:
 *     old = p; WRITE the new pointer (release); then either
 *     synchronize_rcu(); free(old);           (sleeps one grace period)
 *     call_rcu(&old->rcu, free_fn);           (free_fn runs after one)
 * Callbacks run in the kernel thread "rcu_gp", in the order they were
 * queued, with interrupts on and no lock held; they must not sleep for
 * long (they delay every later callback).
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <kernel/preempt.h>

struct rcu_head {
    struct rcu_head *next;
    void (*func)(struct rcu_head *head);
    uint64_t gp;                /* the grace period that must complete first */
};

/* Readers nest; each must end on the CPU it began on (preemption is off). */
static inline void rcu_read_lock(void) { preempt_disable(); }
static inline void rcu_read_unlock(void) { preempt_enable(); }

/* Load a pointer published with rcu_assign_pointer(), inside a reader.
 * On x86-TSO a plain load suffices; the acquire keeps the reader's loads
 * through it after the load of the pointer on any compiler and CPU.
 * Pairs with the release in rcu_assign_pointer(). */
#define rcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
/* Publish a pointer: its object's initialisation happens before. */
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

/* This CPU passed a quiescent state: the caller is in no read-side
 * critical section.  Called by the scheduler, the idle loop and the return
 * to user mode; the tick calls rcu_tick(). */
void rcu_qs(void);
/* From the timer interrupt: a quiescent state if the interrupted code held
 * no preempt count (so it was in no reader). */
void rcu_tick(void);

/* Run func(head) after a grace period that starts after this call.  Any
 * context, interrupts on or off; never sleeps. */
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
/* Wait for a full grace period.  Sleeps: not in a reader, not with
 * interrupts off. */
void synchronize_rcu(void);
/* Wait until every callback queued before this call has run. */
void rcu_barrier(void);

/* Start the grace-period thread (boot, once the scheduler runs).  Before
 * it, call_rcu() only queues. */
void rcu_init(void);

/* For tests and the docs' figures: grace periods completed since boot;
 * quiescent states this CPU reported. */
uint64_t rcu_gp_completed(void);
uint64_t rcu_cpu_qs_count(unsigned cpu);        /* an online CPU */
/* How many CPUs the last completed grace period took a snapshot of (the
 * online ones then): offline CPUs are never waited for. */
unsigned rcu_last_gp_cpus(void);
