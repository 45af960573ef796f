/*
 * kernel/sched/kthread.c - creating, stopping and reaping kernel threads.
 *
 * Lifetime of a task: kthread_create() allocates the struct (from the
 * "task" object cache) and a kernel stack with a guard page, and holds one
 * reference for the creator.  The thread runs fn(arg) and ends in
 * kthread_exit(), which marks it DEAD, wakes whoever waits in kthread_join()
 * and switches away for the last time.  The joiner waits until the task is
 * DEAD *and* off its CPU (on_cpu false: its last context switch has finished
 * with the stack) before it frees stack and struct - so a task's stack is
 * never freed while it still runs on it.  Every thread must be joined
 * (kthread_join or kthread_stop) exactly once.
 */
#include "sched_internal.h"
#include <kernel/wait.h>
#include <kernel/kmalloc.h>
#include <kernel/kstack.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <arch/cpu.h>
#include <lib/string.h>

static struct kmem_cache *task_cache;
static _Atomic int next_task_id = 1;
static _Atomic unsigned live_tasks;

/* All tasks but the idle ones, for the listing.  Protected by all_tasks_lock. */
static struct list_head all_tasks = LIST_HEAD_INIT(all_tasks);
static struct spinlock all_tasks_lock = SPINLOCK_INIT("all_tasks_lock", LOCK_RANK_TASKS);

void task_cache_init(void)
{
    task_cache = kmem_cache_create("task", sizeof(struct task), CACHELINE_SIZE);
    BUG_ON(!task_cache);
}

/* The first C code of every new task (arch_task_init_stack arranges it). */
__noreturn void task_start(struct task *prev);
__noreturn void task_start(struct task *prev)
{
    /* We arrive the way every switched-to task does: in the middle of
     * context_switch(), holding the run-queue lock with interrupts off. */
    finish_task_switch(prev);
    arch_irq_enable();
    struct task *me = current_task();
    me->entry(me->entry_arg);
    kthread_exit(0);
}

struct task *kthread_create(void (*fn)(void *), void *arg, const char *name)
{
    struct task *t = kmem_cache_alloc(task_cache);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->kstack_top = kstack_alloc();
    if (!t->kstack_top) {
        kmem_cache_free(task_cache, t);
        return NULL;
    }
    t->id = atomic_fetch_add(&next_task_id, 1);
    strlcpy(t->name, name, sizeof(t->name));
    atomic_store(&t->state, TASK_BLOCKED);      /* until kthread_start() */
    t->priority = TASK_PRIO_DEFAULT;
    t->cpu = this_cpu_id();
    for (unsigned c = 0; c < MAX_CPUS; c++)
        if (cpumask_test_cpu(&cpu_online_mask, c))
            cpumask_set_cpu(&t->allowed, c);
    list_init(&t->rq_link);
    list_init(&t->timer_link);
    wait_queue_init(&t->exit_wq, "task_exit_wq");
    atomic_store(&t->refcount, 1);
    t->entry = fn;
    t->entry_arg = arg;
    t->mm = NULL;
    t->active_mm = NULL;
    arch_task_init_stack(&t->arch, t->kstack_top);

    uint64_t flags = spin_lock_irqsave(&all_tasks_lock);
    list_add_tail(&t->all_link, &all_tasks);
    spin_unlock_irqrestore(&all_tasks_lock, flags);
    atomic_fetch_add(&live_tasks, 1);
    return t;
}

void kthread_bind(struct task *t, unsigned cpu)
{
    BUG_ON(atomic_load(&t->state) != TASK_BLOCKED || t->switches_in);
    cpumask_clear(&t->allowed);
    cpumask_set_cpu(&t->allowed, cpu);
    t->cpu = cpu;
}

void kthread_set_affinity(struct task *t, const struct cpumask *mask)
{
    BUG_ON(atomic_load(&t->state) != TASK_BLOCKED || t->switches_in);
    BUG_ON(cpumask_empty(mask));
    t->allowed = *mask;
    if (!cpumask_test_cpu(mask, t->cpu))
        t->cpu = cpumask_next(mask, 0);
}

void kthread_set_priority(struct task *t, int prio)
{
    BUG_ON(prio < 0 || prio > TASK_PRIO_MAX);
    t->priority = prio;
}

void kthread_start(struct task *t)
{
    BUG_ON(!wake_up_task(t));
}

struct task *kthread_run(void (*fn)(void *), void *arg, const char *name)
{
    struct task *t = kthread_create(fn, arg, name);
    if (t)
        kthread_start(t);
    return t;
}

bool kthread_should_stop(void)
{
    return atomic_load(&current_task()->should_stop);
}

__noreturn void kthread_exit(int code)
{
    struct task *me = current_task();
    BUG_ON(me->kstack_top == 0);        /* idle tasks never exit */
    me->exit_code = code;
    /* Interrupts off from here: a preemption between marking ourselves DEAD
     * and waking the joiners would switch us out for good, joiners asleep. */
    arch_irq_disable();
    /*
     * DEAD under the exit wait queue's lock, then wake the joiners: a joiner
     * checks `state == DEAD` after prepare_to_wait (same lock), so it either
     * sees DEAD or is on the list when we wake it.
     */
    uint64_t flags = spin_lock_irqsave(&me->exit_wq.lock);
    atomic_store(&me->state, TASK_DEAD);
    spin_unlock_irqrestore(&me->exit_wq.lock, flags);
    /* Our own queue: only our joiner wakes.  The joiner may already see
     * DEAD and return, but it frees this struct only once we are off the
     * CPU (task_put -> task_wait_off_cpu), after this call. */
    wake_up_all(&me->exit_wq);
    schedule();                         /* DEAD: never queued again */
    panic("dead task '%s' was scheduled again", me->name);
}

/* Wait until t's last context switch is over (see the header comment). */
static void task_wait_off_cpu(struct task *t)
{
    /* Acquire: pairs with the release in finish_task_switch(); after it the
     * old CPU no longer uses t's stack. */
    while (atomic_load_explicit(&t->on_cpu, memory_order_acquire))
        arch_cpu_relax();
}

static void task_free(struct task *t)
{
    uint64_t flags = spin_lock_irqsave(&all_tasks_lock);
    list_del(&t->all_link);
    spin_unlock_irqrestore(&all_tasks_lock, flags);
    kstack_free(t->kstack_top);
    kmem_cache_free(task_cache, t);
    atomic_fetch_sub(&live_tasks, 1);
}

void task_get(struct task *t)
{
    atomic_fetch_add(&t->refcount, 1);
}

void task_put(struct task *t)
{
    if (atomic_fetch_sub(&t->refcount, 1) == 1) {
        BUG_ON(atomic_load(&t->state) != TASK_DEAD);
        task_wait_off_cpu(t);
        task_free(t);
    }
}

int kthread_join(struct task *t)
{
    BUG_ON(t == current_task());
    wait_event(&t->exit_wq, atomic_load(&t->state) == TASK_DEAD);
    int code = t->exit_code;
    task_put(t);
    return code;
}

int kthread_stop(struct task *t)
{
    atomic_store(&t->should_stop, true);
    /* If it sleeps (msleep, a wait queue), wake it so it can see the flag. */
    wake_up_task(t);
    return kthread_join(t);
}

unsigned sched_task_count(void)
{
    return atomic_load(&live_tasks);
}

static const char *state_name(int s)
{
    return s == TASK_RUNNABLE ? "runnable" : s == TASK_BLOCKED ? "blocked" : "dead";
}

void sched_print_tasks(void)
{
    printk("  id  name                     state     cpu prio switches\n");
    unsigned cpu;
    for_each_online_cpu(cpu) {
        struct task *idle = cpu_rq(cpu)->idle;
        printk("  %3d %-24s %-9s %3u    - %8lu\n", idle->id, "idle", "runnable", cpu,
               (unsigned long)idle->switches_in);
    }
    uint64_t flags = spin_lock_irqsave(&all_tasks_lock);
    struct list_head *pos;
    list_for_each(pos, &all_tasks) {
        struct task *t = list_entry(pos, struct task, all_link);
        printk("  %3d %-24s %-9s %3u %4d %8lu\n", t->id, t->name, state_name(atomic_load(&t->state)),
               t->cpu, t->priority, (unsigned long)t->switches_in);
    }
    spin_unlock_irqrestore(&all_tasks_lock, flags);
}
