/*
 * kernel/sched/sched_internal.h - what the scheduler's files share and
 * nobody else needs.
 */
#pragma once
#include <kernel/sched.h>
#include <kernel/percpu.h>

/* How often a busy CPU looks for imbalance (an idle one looks every tick). */
#define BALANCE_INTERVAL_TICKS 4


struct runqueue {
    struct spinlock lock;           /* protects everything below but `sleepers` */
    struct list_head queue;         /* runnable tasks waiting for this CPU */
    unsigned nr_queued;             /* written under lock, read locklessly by balancing */
    struct task *curr;
    struct task *idle;
    unsigned cpu;
    bool online;
    uint64_t ticks;
    struct sched_stats stats;
    struct mm *prev_mm;             /* lazy reference to drop after a switch */
    struct task *push_task;         /* switched out, not allowed here: push after the switch */

    struct spinlock sleepers_lock;  /* protects `sleepers`; before `lock` (docs/locking.md) */
    struct list_head sleepers;      /* tasks in msleep() that went to sleep on this CPU */
};

DECLARE_PER_CPU(struct runqueue, runqueue);
static inline struct runqueue *this_rq(void) { return this_cpu_ptr(&runqueue); }
static inline struct runqueue *cpu_rq(unsigned cpu) { return per_cpu_ptr(&runqueue, cpu); }

void rq_enqueue(struct runqueue *rq, struct task *t);
void rq_dequeue(struct runqueue *rq, struct task *t);
struct runqueue *task_rq_lock(struct task *t, uint64_t *flags);
void task_rq_unlock(struct runqueue *rq, uint64_t flags);
/* Step 3 of a context switch, on the next task's stack (core.c). */
void finish_task_switch(struct task *prev);
void smp_send_reschedule(unsigned cpu);

/* affinity.c: move a runnable task that is on no queue and no CPU to an
 * allowed CPU's queue. */
void sched_push_task(struct task *t);

/* kthread.c */
void task_cache_init(void);
/* sleep.c: wake the sleepers whose time has come (timer interrupt). */
void sleepers_expire(struct runqueue *rq);
/* balance.c: pull work to this (idle or underloaded) CPU; true if it did. */
bool sched_balance(struct runqueue *rq);
