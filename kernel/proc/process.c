/*
 * kernel/proc/process.c - processes: creation, threads, exit, wait, reaping.
 *
 * Lifetimes (docs/processes.md, part "processes, exit, fault paths"):
 *
 *   process  allocated by process_alloc() (counts against PROCESS_MAX),
 *            linked into its parent's children by process_start(), ALIVE
 *            while it has a live thread, a ZOMBIE once the last thread has
 *            exited, freed by whoever collects it: its parent in wait(), the
 *            kernel's process_wait() for process_spawn() children, or the
 *            reaper thread for orphans the kernel adopted.
 *   thread   a task (kthread_create) with task->mm set.  On exit it gives up
 *            its mm like Linux's exit_mm (lazy_mm_exit_mm: it becomes a lazy
 *            borrower of the mm, task->mm = NULL, mmput) and moves from p->threads to
 *            p->dead_threads.  Every task is joined (kthread_join, which
 *            frees its stack and struct after its last context switch)
 *            exactly once: by thread_join(), or, for threads nobody joined,
 *            by whoever collects the zombie process.
 *
 * Locking: process_lock (a spinlock, taken with interrupts off) protects the
 * process tree, every process's state/threads/counters and kernel_children.
 * Wake-ups of a parent are done while holding it, so the parent cannot be
 * collected and freed between our decision and the wake-up.
 * Its place in the lock order (before the wait-queue and run-queue locks):
 * docs/locking.md.
 */
#include "process_internal.h"
#include <kernel/mm.h>
#include <kernel/lazy_mm.h>
#include <kernel/futex.h>
#include <kernel/kmalloc.h>
#include <kernel/printk.h>
#include <kernel/panic.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/smp.h>
#include <arch/user.h>
#include <arch/uaccess.h>
#include <arch/mmu_context.h>
#include <arch/cpu.h>
#include <lib/string.h>

static struct spinlock process_lock = SPINLOCK_INIT("process_lock", LOCK_RANK_PROCESS);
static unsigned nr_processes;               /* under process_lock */
static int next_pid = 1;                    /* under process_lock */
/* The kernel's children: process_spawn()'s and adopted orphans. */
static struct list_head kernel_children = LIST_HEAD_INIT(kernel_children);
/* The kernel as a parent: process_wait() and the reaper sleep here. */
static struct wait_queue kernel_child_wq = WAIT_QUEUE_INIT(kernel_child_wq, "kernel_child_wq");
/* Adopted zombies the reaper has claimed but not yet freed (under
 * process_lock): process_wait(-1) counts them as children still there. */
static unsigned reaper_busy;
/* Where new processes' first threads start: spread over the CPUs. */
static unsigned next_start_cpu;

struct process *current_process(void)
{
    return current_task()->process;
}

int process_pid(const struct process *p)
{
    return p->pid;
}

uint64_t process_mm_ctx(int pid)
{
    uint64_t ctx = 0;
    uint64_t flags = spin_lock_irqsave(&process_lock);
    struct list_head *pos;
    list_for_each(pos, &kernel_children) {
        struct process *p = list_entry(pos, struct process, sibling);
        if (p->pid == pid && p->mm)
            ctx = p->mm->ctx_id;
    }
    spin_unlock_irqrestore(&process_lock, flags);
    return ctx;
}

unsigned process_count(void)
{
    return READ_ONCE(nr_processes);
}

bool current_process_dying(void)
{
    struct process *p = current_process();
    return p && atomic_load(&p->dying);
}

struct process *process_alloc(const char *name, int *err)
{
    uint64_t flags = spin_lock_irqsave(&process_lock);
    if (nr_processes >= PROCESS_MAX) {
        spin_unlock_irqrestore(&process_lock, flags);
        *err = -SD_EAGAIN;
        return NULL;
    }
    nr_processes++;
    int pid = next_pid++;
    if (next_pid <= 0)
        next_pid = 1;
    spin_unlock_irqrestore(&process_lock, flags);

    struct process *p = kzalloc(sizeof(*p));
    if (!p) {
        flags = spin_lock_irqsave(&process_lock);
        nr_processes--;
        spin_unlock_irqrestore(&process_lock, flags);
        *err = -SD_ENOMEM;
        return NULL;
    }
    p->pid = pid;
    strlcpy(p->name, name, sizeof(p->name));
    p->state = PROC_ALIVE;
    list_init(&p->children);
    list_init(&p->sibling);
    list_init(&p->threads);
    list_init(&p->dead_threads);
    wait_queue_init(&p->child_wq, "process.child_wq");
    wait_queue_init(&p->thread_wq, "process.thread_wq");
    return p;
}

void process_free(struct process *p)
{
    BUG_ON(!list_empty(&p->threads) || !list_empty(&p->dead_threads) || !list_empty(&p->children));
    kfree(p);
    uint64_t flags = spin_lock_irqsave(&process_lock);
    nr_processes--;
    spin_unlock_irqrestore(&process_lock, flags);
}

/* ---- threads ---- */

/* The first kernel code of every user thread, on its own kernel stack. */
static void user_thread_entry(void *arg)
{
    struct user_start st = *(struct user_start *)arg;
    kfree(arg);
    /* Created while its process was being ended: never reach user mode. */
    process_exit_if_dying();
    if (st.kernel_fn) {
        st.kernel_fn((void *)st.arg);
        process_exit_thread(0);
    }
    if (st.fork)
        arch_return_to_user(&st.frame);
    arch_enter_user(st.rip, st.rsp, st.arg);
}

/* A not yet started thread of p on mm (which the caller has a users
 * reference on for it). */
static struct task *thread_create(struct process *p, struct mm *mm, struct user_start *st)
{
    struct task *t = kthread_create(user_thread_entry, st, p->name);
    if (!t)
        return NULL;
    t->process = p;
    t->ipc_owner = &p->ipc;
    t->mm = mm;
    t->active_mm = mm;
    t->clear_word = st->clear_word;
    list_init(&t->thread_link);
    return t;
}

/*
 * Where a new thread may run and starts.  As in Linux, a thread made by a
 * user thread (fork, spawn, thread_create) keeps its creator's CPU affinity:
 * a benchmark pinned to a CPU forks children that run there, and the
 * balancer (kernel/sched/balance.c) never pulls a task to a CPU it is not
 * allowed on.  A thread the kernel makes (process_spawn: the tests, run=,
 * the demo) may run anywhere.  Called before the thread is visible.
 */
static void inherit_affinity(struct task *t, struct task *creator)
{
    struct cpumask m;
    sched_get_affinity(creator, &m);
    cpumask_and(&m, &m, &cpu_online_mask);
    if (!cpumask_empty(&m))
        kthread_set_affinity(t, &m);
}

/* A new process's first thread starts on the next CPU in turn that it may
 * run on, so that unpinned processes spread at once (the balancer evens out
 * the rest).  Under process_lock. */
static unsigned next_start_cpu_for(const struct task *t)
{
    unsigned cpu = next_start_cpu;
    do
        next_start_cpu = (next_start_cpu + 1) % MAX_CPUS;
    while (!cpumask_test_cpu(&cpu_online_mask, next_start_cpu));
    if (!cpumask_test_cpu(&cpu_online_mask, cpu) || !cpumask_test_cpu(&t->allowed, cpu)) {
        struct cpumask m;
        cpumask_and(&m, &t->allowed, &cpu_online_mask);
        cpu = cpumask_next(&m, cpu);
        if (cpu >= MAX_CPUS)
            cpu = cpumask_next(&m, 0);
    }
    return cpu;
}

int process_start(struct process *p, struct process *parent, struct mm *mm, struct user_start *st,
                  const struct arch_task *fpu_from)
{
    struct task *t = thread_create(p, mm, st);
    if (!t)
        return -SD_ENOMEM;
    if (fpu_from)
        arch_task_copy_fpu(&t->arch, fpu_from);
    if (parent && current_task()->process == parent)
        inherit_affinity(t, current_task());

    uint64_t flags = spin_lock_irqsave(&process_lock);
    /* Not visible to anyone yet, so its placement may still change. */
    t->cpu = next_start_cpu_for(t);
    p->parent = parent;
    p->mm = mm;
    tlb_ev_mm_owner(mm, process_pid(p), p->name);
    mmgrab(mm);                 /* dropped when p is collected */
    list_add_tail(&p->sibling, parent ? &parent->children : &kernel_children);
    list_add_tail(&t->thread_link, &p->threads);
    p->live_threads = 1;
    p->nr_threads = 1;
    kthread_start(t);           /* under the lock: see process_add_thread() */
    spin_unlock_irqrestore(&process_lock, flags);
    return 0;
}

int process_add_thread(struct user_start *st)
{
    struct task *me = current_task();
    struct process *p = me->process;

    /* Reserve the slot first: a thread that exists is never refused later. */
    uint64_t flags = spin_lock_irqsave(&process_lock);
    if (atomic_load(&p->dying) || p->nr_threads >= PROCESS_THREADS_MAX) {
        spin_unlock_irqrestore(&process_lock, flags);
        return -SD_EAGAIN;
    }
    p->nr_threads++;
    p->live_threads++;      /* keeps p ALIVE even if every other thread exits meanwhile */
    spin_unlock_irqrestore(&process_lock, flags);

    mmget(me->mm);
    struct task *t = thread_create(p, me->mm, st);
    if (!t) {
        mmput(me->mm);
        flags = spin_lock_irqsave(&process_lock);
        p->nr_threads--;
        p->live_threads--;
        spin_unlock_irqrestore(&process_lock, flags);
        return -SD_ENOMEM;
    }
    /* On this CPU (kthread_create's choice) unless the mask excludes it. */
    inherit_affinity(t, me);
    int tid = t->id;
    /* Linked and started in one locked section: process_set_dying() wakes
     * every thread on the list, and must never be the one to start a thread
     * (kthread_start would then find it running). */
    flags = spin_lock_irqsave(&process_lock);
    list_add_tail(&t->thread_link, &p->threads);
    kthread_start(t);
    spin_unlock_irqrestore(&process_lock, flags);
    return tid;
}

struct task *process_get_thread(int tid)
{
    struct task *me = current_task();
    if (tid == 0 || tid == me->id) {
        task_get(me);
        return me;
    }
    struct task *found = NULL;
    uint64_t flags = spin_lock_irqsave(&process_lock);
    struct list_head *pos;
    list_for_each(pos, &me->process->threads) {
        struct task *t = list_entry(pos, struct task, thread_link);
        if (t->id == tid) {
            task_get(t);
            found = t;
            break;
        }
    }
    spin_unlock_irqrestore(&process_lock, flags);
    return found;
}

/* ---- dying: exit() and faults end every thread ---- */

static void kick_noop(void *arg)
{
    (void)arg;      /* the interrupt itself is the point: its return to user mode */
}

void process_set_dying(struct process *p, int status)
{
    struct task *me = current_task();
    struct cpumask kick;
    cpumask_clear(&kick);

    uint64_t flags = spin_lock_irqsave(&process_lock);
    if (!atomic_load(&p->dying)) {
        p->exit_status = status;
        atomic_store(&p->dying, true);
    }
    struct list_head *pos;
    list_for_each(pos, &p->threads) {
        struct task *t = list_entry(pos, struct task, thread_link);
        if (t == me)
            continue;
        /* A sleeper wakes (msleep returns early on should_stop; the waits
         * here check `dying`); a runner gets an interrupt. */
        atomic_store(&t->should_stop, true);
        if (!wake_up_task(t))
            cpumask_set_cpu(&kick, READ_ONCE(t->cpu));
    }
    spin_unlock_irqrestore(&process_lock, flags);
    cpumask_clear_cpu(&kick, this_cpu_id());
    if (!cpumask_empty(&kick))
        smp_call_mask(&kick, kick_noop, NULL, false);
}

void process_exit_if_dying(void)
{
    if (!current_process_dying() || !current_task()->mm)
        return;
    /* Called where the thread holds nothing (a return to user mode, maybe
     * from an interrupt handler with interrupts off): ending may sleep. */
    arch_irq_enable();
    process_exit_thread(0);
}

/* ---- exit ---- */

/* The last thread of p is gone (process_lock held): p becomes a zombie, its
 * children go to the kernel, its parent is told. */
static void process_become_zombie(struct process *p, int code)
{
    if (!atomic_load(&p->dying))
        p->exit_status = SD_STATUS_EXIT(code);
    p->state = PROC_ZOMBIE;

    bool adopted_any = false;
    while (!list_empty(&p->children)) {
        struct process *c = list_first_entry(&p->children, struct process, sibling);
        list_del(&c->sibling);
        c->parent = NULL;
        c->adopted = true;
        list_add_tail(&c->sibling, &kernel_children);
        adopted_any = true;
    }
    if (p->parent)
        wake_up_all(&p->parent->child_wq);
    if (!p->parent || adopted_any)
        wake_up_all(&kernel_child_wq);
}

__noreturn void process_exit_thread(int code)
{
    struct task *me = current_task();
    struct process *p = me->process;
    BUG_ON(!p || !me->mm);

    /*
     * The joiner's word (thread_create's clear_word): 0, then a wake, while
     * our mm is still ours - as Linux's CLONE_CHILD_CLEARTID.  A word that
     * is not writable any more (unmapped meanwhile) is skipped: nobody can
     * be waiting on it through this process.
     */
    if (me->clear_word) {
        uint32_t zero = 0;
        if (copy_to_user((void *)me->clear_word, &zero, sizeof(zero)) == 0)
            futex_wake_word(me->clear_word, UINT64_MAX);
    }

    /*
     * exit_mm: we become a kernel thread that borrows the mm (the CPU goes on
     * running on these page tables until it switches away; what keeps them
     * alive meanwhile depends on the lazy_mm= mode, kernel/mm/lazy_mm.c).
     * Then give up our user reference: the last one tears the mappings down.
     */
    lazy_mm_exit_mm(me);

    uint64_t flags = spin_lock_irqsave(&process_lock);
    me->exit_code = code;
    list_del(&me->thread_link);
    list_add_tail(&me->thread_link, &p->dead_threads);
    BUG_ON(p->live_threads == 0);
    bool last = --p->live_threads == 0;
    if (!last)
        wake_up_all(&p->thread_wq);
    spin_unlock_irqrestore(&process_lock, flags);

    if (last) {
        /*
         * No thread is left to use the process's IPC endpoints or to owe
         * replies: release them before p can be collected (it is still
         * ALIVE to its parent, so nobody frees it meanwhile, and with no
         * live thread nobody else changes it).
         */
        ipc_release_owner(&p->ipc);
        flags = spin_lock_irqsave(&process_lock);
        process_become_zombie(p, code);
        spin_unlock_irqrestore(&process_lock, flags);
    }
    /* p may be collected and freed from here on: do not touch it. */
    kthread_exit(code);
}

/* ---- collecting zombies ---- */

/*
 * Join every thread of a claimed zombie and free it.  Its mm goes too, by the
 * time wait() returns (leak checks count on that), instead of whenever the
 * CPUs still borrowing it lazily next run a user task.  refcount mode: those
 * borrowers hold references, so make them let go first.  shootdown/hazard:
 * borrowers hold none, so our mmdrop is the last one, and its
 * lazy_mm_before_free() makes them let go (a drop here first would only
 * double the IPIs).  mmput: the teardown flush of the last thread's mmput
 * ended every borrow already; our mmdrop calls nobody.  Thread context,
 * interrupts on: the IPIs are fine.
 */
static void process_reap(struct process *p)
{
    /* Nobody else looks at a claimed zombie: no lock needed for its lists. */
    while (!list_empty(&p->dead_threads)) {
        struct task *t = list_first_entry(&p->dead_threads, struct task, thread_link);
        list_del(&t->thread_link);
        kthread_join(t);        /* waits for its last switch; frees it */
    }
    if (lazy_mm_mode == LAZY_MM_REFCOUNT)
        lazy_mm_drop_borrowers(p->mm);
    mmdrop(p->mm);
    process_free(p);
}

/*
 * Under process_lock: look for a child of parent matching pid (-1: any).
 * Returns 1 and *zombie if one is a zombie nobody claimed, 0 if there are
 * matching children still running, -SD_ECHILD if there is none.  The
 * kernel's children (parent NULL) include the orphans it adopted: both
 * process_wait() and the reaper may collect those (the reaper looks at them
 * only).  So that "-SD_ECHILD" from process_wait(-1) means every child is
 * gone *and freed*, orphans the reaper is still freeing count as running.
 */
static int find_zombie(struct process *parent, int pid, bool reaper, struct process **zombie)
{
    struct list_head *head = parent ? &parent->children : &kernel_children;
    int r = -SD_ECHILD;
    if (!parent && !reaper && pid == -1 && reaper_busy)
        r = 0;
    struct list_head *pos;
    list_for_each(pos, head) {
        struct process *c = list_entry(pos, struct process, sibling);
        if (reaper && !c->adopted)
            continue;
        if (pid != -1 && c->pid != pid)
            continue;
        if (c->claimed)
            continue;
        if (c->state == PROC_ZOMBIE) {
            *zombie = c;
            return 1;
        }
        r = 0;
    }
    return r;
}

static int find_zombie_locked(struct process *parent, int pid, bool reaper, struct process **zombie)
{
    uint64_t flags = spin_lock_irqsave(&process_lock);
    int r = find_zombie(parent, pid, reaper, zombie);
    spin_unlock_irqrestore(&process_lock, flags);
    return r;
}

int process_wait_child(struct process *parent, int pid, int *kstatus, int *user_status)
{
    struct wait_queue *wq = parent ? &parent->child_wq : &kernel_child_wq;
    for (;;) {
        struct process *z = NULL;
        int r;
        wait_event(wq, (r = find_zombie_locked(parent, pid, false, &z)) != 0 || current_process_dying());
        if (r < 0)
            return r;
        if (r == 0)
            return -SD_EAGAIN;          /* the caller's process is being ended */

        /* Copy the status out before claiming: a bad pointer must not lose
         * the child.  The zombie cannot go away meanwhile unless another
         * thread of the same parent claims it - checked below. */
        uint64_t flags = spin_lock_irqsave(&process_lock);
        int status = z->exit_status, zpid = z->pid;
        spin_unlock_irqrestore(&process_lock, flags);
        if (user_status && copy_to_user(user_status, &status, sizeof(status)))
            return -SD_EFAULT;

        flags = spin_lock_irqsave(&process_lock);
        struct process *again = NULL;
        bool ok = find_zombie(parent, zpid, false, &again) == 1 && again == z;
        if (ok) {
            z->claimed = true;
            list_del(&z->sibling);
            list_init(&z->sibling);
        }
        spin_unlock_irqrestore(&process_lock, flags);
        if (!ok)
            continue;                   /* a sibling thread took it: look again */
        if (kstatus)
            *kstatus = status;
        process_reap(z);
        return zpid;
    }
}

int process_wait(int pid, int *status)
{
    return process_wait_child(NULL, pid, status, NULL);
}

/* Frees orphans the kernel adopted once they exit. */
static void reaper_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct process *z = NULL;
        wait_event(&kernel_child_wq, find_zombie_locked(NULL, -1, true, &z) == 1);
        uint64_t flags = spin_lock_irqsave(&process_lock);
        /* process_wait(-1) may have collected it meanwhile. */
        struct process *again = NULL;
        bool ok = find_zombie(NULL, z->pid, true, &again) == 1 && again == z;
        if (ok) {
            z->claimed = true;
            list_del(&z->sibling);
            list_init(&z->sibling);
            reaper_busy++;
        }
        spin_unlock_irqrestore(&process_lock, flags);
        if (!ok)
            continue;
        process_reap(z);
        flags = spin_lock_irqsave(&process_lock);
        reaper_busy--;
        wake_up_all(&kernel_child_wq);      /* a process_wait(-1) may wait for this */
        spin_unlock_irqrestore(&process_lock, flags);
    }
}

void process_init(void)
{
    struct task *t = kthread_create(reaper_thread, NULL, "reaper");
    BUG_ON(!t);
    kthread_start(t);
}

/* ---- thread_join ---- */

/* Under process_lock: 1 with *t taken off dead_threads, 0 still live,
 * -SD_ESRCH no such thread. */
static int find_dead_thread(struct process *p, int tid, struct task **out)
{
    uint64_t flags = spin_lock_irqsave(&process_lock);
    int r = -SD_ESRCH;
    struct list_head *pos;
    list_for_each(pos, &p->dead_threads) {
        struct task *t = list_entry(pos, struct task, thread_link);
        if (t->id == tid) {
            list_del(&t->thread_link);
            list_init(&t->thread_link);
            p->nr_threads--;
            *out = t;
            r = 1;
            goto out;
        }
    }
    list_for_each(pos, &p->threads) {
        if (list_entry(pos, struct task, thread_link)->id == tid) {
            r = 0;
            break;
        }
    }
out:
    spin_unlock_irqrestore(&process_lock, flags);
    return r;
}

int process_join_thread(int tid, int *code)
{
    struct task *me = current_task();
    struct process *p = me->process;
    if (tid == me->id)
        return -SD_EINVAL;
    struct task *t = NULL;
    int r;
    wait_event(&p->thread_wq, (r = find_dead_thread(p, tid, &t)) != 0 || current_process_dying());
    if (r < 0)
        return r;
    if (r == 0)
        return -SD_EAGAIN;              /* being ended */
    *code = kthread_join(t);
    return 0;
}

/* ---- faults ---- */

static const char *vector_name(unsigned v)
{
    static const char *const names[] = {
        [0] = "#DE", [1] = "#DB", [3] = "#BP", [4] = "#OF", [5] = "#BR", [6] = "#UD",
        [7] = "#NM", [10] = "#TS", [11] = "#NP", [12] = "#SS", [13] = "#GP", [14] = "#PF",
        [16] = "#MF", [17] = "#AC", [19] = "#XM", [21] = "#CP",
    };
    if (v < sizeof(names) / sizeof(names[0]) && names[v])
        return names[v];
    return "exception";
}

__noreturn void process_kill_fault(unsigned vector, uint64_t error_code, uintptr_t addr, uintptr_t rip)
{
    struct process *p = current_process();
    if (!p)
        panic("process_kill_fault: vector %u in kernel thread '%s'", vector, current_task()->name);
    if (vector == EXC_PF)
        printk("pid %d (%s): killed by #PF at %#lx, rip %#lx (error %#lx:%s%s%s%s)\n", p->pid, p->name,
               (unsigned long)addr, (unsigned long)rip, (unsigned long)error_code,
               error_code & 1 ? " protection" : " not-present", error_code & 2 ? " write" : " read",
               error_code & 4 ? " user" : " kernel", error_code & 16 ? " exec" : "");
    else
        printk("pid %d (%s): killed by %s (vector %u) at %#lx, rip %#lx (error %#lx)\n", p->pid, p->name,
               vector_name(vector), vector, (unsigned long)addr, (unsigned long)rip,
               (unsigned long)error_code);
    /* We came from an exception of this thread's user mode: the kernel holds
     * nothing here, and ending the thread may sleep (mmput). */
    arch_irq_enable();
    process_set_dying(p, SD_STATUS_FAULT(vector));
    process_exit_thread(0);
}
