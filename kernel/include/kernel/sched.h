/*
 * kernel/sched.h - tasks and the scheduler.
 *
 * Policy (docs/scheduler.md): each CPU has its own run queue, served round
 * robin.  A task runs for a time slice of (1 + priority) timer ticks, then
 * goes to the back of its queue.  An idle CPU pulls a task from the busiest
 * queue (kernel/sched/balance.c).  Each CPU has an idle task, the context
 * that booted it, which runs only when its queue is empty and halts.
 *
 * Task states:
 *   TASK_RUNNABLE  on a run queue, or running (rq->curr)
 *   TASK_BLOCKED   asleep on something that will wake it (wake_up_task)
 *   TASK_DEAD      exited; freed once nobody holds a reference
 * A running task is on no run queue; a task is on at most one CPU.
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/cpumask.h>
#include <kernel/list.h>
#include <kernel/spinlock.h>
#include <kernel/wait_queue.h>
#include <kernel/preempt.h>
#include <kernel/lazy_mm.h>
#include <arch/task.h>
#include <stdatomic.h>

struct mm;
struct process;

enum task_state {
    TASK_RUNNABLE = 0,
    TASK_BLOCKED = 1,
    TASK_DEAD = 2,
};

#define TASK_NAME_MAX   24
#define TASK_PRIO_MAX   7
#define TASK_PRIO_DEFAULT 1

struct task {
    /* The architecture's part: the saved context while switched out, the
     * user FPU/SSE state (arch/task.h). */
    struct arch_task arch;
    int id;
    char name[TASK_NAME_MAX];
    _Atomic int state;                  /* enum task_state */
    uintptr_t kstack_top;               /* 0 for idle tasks (boot stacks) */

    /*
     * Where the task runs.  `cpu` changes only while the task is on no CPU,
     * under the run-queue lock(s) involved (see task_rq_lock()).
     */
    unsigned cpu;
    struct cpumask allowed;
    int priority;                       /* 0..TASK_PRIO_MAX: slice = 1 + priority ticks */
    int slice_left;                     /* ticks left in the current slice */
    bool on_rq;                         /* linked on a run queue */
    /*
     * True from the moment a CPU picks the task until that CPU has switched
     * away from it and released the run-queue lock.  Another CPU must not
     * run (or free) the task before it reads false; the store-release in
     * finish_task_switch() pairs with the load-acquire in task_wait_off_cpu().
     */
    _Atomic bool on_cpu;
    struct list_head rq_link;           /* run queue, protected by its lock */

    /* Address space: mm is NULL for kernel threads; active_mm is what the CPU's
     * page tables belong to while the task runs (borrowed for kernel threads). */
    struct mm *mm;
    struct mm *active_mm;

    /* Lifetime: references from the creator (until join), from "running"
     * (until it is switched out for the last time), and from anyone who looked
     * it up.  The last task_put() frees the struct and the stack. */
    _Atomic int refcount;
    int exit_code;
    /* Whoever joins this task sleeps here (kthread_join), and only this
     * task's exit wakes it: one queue shared by every joiner made each exit
     * wake them all - a context switch each, and a CR3 write for a joiner
     * with a user mm, which counting tests saw. */
    struct wait_queue exit_wq;
    _Atomic bool should_stop;           /* kthread_stop() asked */
    void (*entry)(void *);
    void *entry_arg;

    /* Sleeping with a timeout (kernel/sched/sleep.c). */
    uint64_t wake_at_ns;
    struct list_head timer_link;

    struct list_head all_link;          /* all tasks, for the listing */

    /* User threads (kernel/proc/process.c, arch/user.h); NULL/unused for kernel threads. */
    struct process *process;
    struct list_head thread_link;       /* in the process's thread list */
    /* A user word the thread's exit sets to 0 and futex-wakes (the joiner
     * sleeps on it: user/lib/thread.c), or 0; set before it starts. */
    uintptr_t clear_word;
    /* IPC (kernel/proc/ipc.c): the endpoint slot + 1 whose call this thread
     * received last and may still owe a reply, 0 for none.  Only the thread
     * itself reads or writes it. */
    unsigned ipc_reply_slot;
    /* The slot + 1 this thread last recorded in its process's ipc_owner
     * (a receive through the same endpoint as the last one records
     * nothing); only the thread itself touches it.  Next to the one above:
     * the pair fills a hole, and a line more per task costs every spawn
     * (the task cache poisons and checks each freed object, byte by byte). */
    unsigned ipc_noted_slot;
    /* Its process's part in IPC (struct ipc_owner, kernel/ipc.h), NULL for
     * a kernel thread; set before it starts. */
    struct ipc_owner *ipc_owner;
    uint64_t switches_in;               /* times it was switched to */
    unsigned last_cpu_seen;             /* test aid: CPU of the last switch-in */
};

/* The reschedule IPI's handler (arch/smp.h, ARCH_IPI_RESCHEDULE): interrupt
 * context, on the CPU that was sent the IPI. */
void sched_reschedule_ipi(void);

/* The task running on this CPU. */
struct task *current_task(void);

/* ---- scheduler core (kernel/sched/core.c) ---- */
void sched_init(void);                  /* boot CPU: turn the boot context into its idle task */
void sched_init_ap(void);               /* each AP: the same for itself */
__noreturn void sched_idle_loop(void);  /* the idle task's body; never returns */
void schedule(void);                    /* give up the CPU (current stays runnable unless BLOCKED) */
void yield(void);
void sched_tick(void);                  /* from the timer interrupt */
/* Make a BLOCKED task runnable; returns false if it was not blocked. */
bool wake_up_task(struct task *t);
/* Set the current task's state before sleeping (see kernel/wait.h). */
void set_current_state(enum task_state s);

/*
 * A synchronous wake-up that switches straight to the woken task
 * (kernel/sched/core.c; docs/scheduler.md, "Hand-off"): for a waker
 * that is about to sleep itself, as an IPC caller after its message was
 * taken, or a server after its reply.  sched_handoff_prepare(t) succeeds
 * when t is BLOCKED on this CPU's queue's side (not queued, not running,
 * allowed here) and no reschedule is pending: then t is RUNNABLE but on no
 * queue, reserved to run next here, and the caller holds this CPU's
 * run-queue lock with interrupts off (saved in *flags).  The caller may
 * then finish its own business (release its own spinlocks; it takes no
 * other lock) and must call sched_handoff_switch(t, flags), which switches
 * to t as schedule() would - current sleeps if it is BLOCKED - and returns
 * when current runs again.  On false nothing changed: wake t the usual
 * way.  The caller holds one spinlock (preempt_count 1) when it prepares
 * and none of its own when it switches.
 */
bool sched_handoff_prepare(struct task *t, uint64_t *flags);
void sched_handoff_switch(struct task *t, uint64_t flags);
/* Called at the return of every interrupt from a preemptible context. */
void preempt_on_irq_return(void);
/* Ask `cpu` to go through schedule() at its next chance (an IPI unless it
 * is this CPU; then call it with interrupts off).  RCU uses it to hurry a
 * quiescent state out of a CPU that runs one kernel thread without pause. */
void resched_cpu(unsigned cpu);

/* ---- kernel threads (kernel/sched/kthread.c) ---- */
/* Create a thread that will run fn(arg); it does not run until kthread_start().
 * Returns NULL when out of memory. */
struct task *kthread_create(void (*fn)(void *), void *arg, const char *name);
void kthread_bind(struct task *t, unsigned cpu);            /* before start */
void kthread_set_affinity(struct task *t, const struct cpumask *mask);
void kthread_set_priority(struct task *t, int prio);
/* Change the CPUs a started task may run on (mask: online CPUs, not empty).
 * A queued task moves at once; a running one at its next schedule() (the
 * caller changing its own affinity should yield()); a sleeping one wakes up
 * on an allowed CPU. */
void sched_set_affinity(struct task *t, const struct cpumask *mask);
/* The CPUs t may run on now (a copy: fork and thread creation give it to
 * the new thread, kernel/proc/process.c). */
void sched_get_affinity(struct task *t, struct cpumask *mask);
void kthread_start(struct task *t);
struct task *kthread_run(void (*fn)(void *), void *arg, const char *name);
/* Sleep until woken or until ktime_ns() reaches deadline_ns, whichever is
 * first (the tick on this CPU ends it, so one tick of resolution, never
 * early).  The caller has set TASK_BLOCKED under the lock its waker takes
 * (as prepare_to_wait does), so a wake-up in between is not lost. */
void schedule_until(uint64_t deadline_ns);
bool kthread_should_stop(void);
__noreturn void kthread_exit(int code);
/* Ask t to stop (kthread_should_stop() turns true and t is woken if asleep),
 * wait for it to exit, free it; returns its exit code. */
int kthread_stop(struct task *t);
/* Wait for t to exit by itself and free it; returns its exit code. */
int kthread_join(struct task *t);

void task_get(struct task *t);
void task_put(struct task *t);

/* Live tasks other than the idle tasks (for leak checks). */
unsigned sched_task_count(void);
void sched_print_tasks(void);

/* ---- per-CPU statistics ---- */
struct sched_stats {
    uint64_t switches;
    uint64_t preemptions;
    uint64_t migrations_in;
    uint64_t idle_ticks;
    uint64_t busy_ticks;
};
void sched_stats_get(unsigned cpu, struct sched_stats *out);
/* Timer ticks a CPU's scheduler has seen. */
uint64_t sched_ticks(unsigned cpu);
/* Tasks queued on a CPU (not counting the running one). */
unsigned sched_nr_queued(unsigned cpu);
