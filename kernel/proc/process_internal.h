/*
 * kernel/proc/process_internal.h - what the process files share (and the
 * tests poke at); nobody else needs struct process.
 */
#pragma once
#include <kernel/ipc.h>      /* ipc_release_owner(): the last thread of a process exited */
#include <kernel/process.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/list.h>
#include <uapi/shootdown.h>
#include <arch/trap.h>

enum process_state {
    PROC_ALIVE,         /* has at least one live thread */
    PROC_ZOMBIE,        /* every thread exited; status waits for wait() */
};

/*
 * All fields below `name` are protected by process_lock unless marked.
 * (The lock order: docs/locking.md.)  The order fills the holes: 256
 * bytes, one kmalloc-256 object.  (That matters more than it seems: a
 * 264-byte process moved to kmalloc-512 and left the bench process's
 * kmalloc-256 slab with nothing alive between two thread spawns, so each
 * spawn's 256-byte user_start made and poisoned a new slab - 2,400 Bochs
 * cycles on make bench's thread row; kernel/mm/slab.c gives empty slabs
 * back at once.)
 */
struct process {
    int pid;                        /* never reused while the kernel runs (until it wraps) */
    char name[SD_NAME_MAX];
    enum process_state state;
    struct process *parent;         /* NULL: the kernel */
    int exit_status;                /* SD_STATUS_*: valid once dying or a zombie */
    bool adopted;                   /* an orphan the kernel took over: the reaper collects it */
    bool claimed;                   /* a waiter is collecting this zombie */
    _Atomic bool dying;             /* exit() or a fault: every thread must end (set under the lock) */
    struct ipc_owner ipc;           /* kernel/proc/ipc.c's (not process_lock's) */
    struct mm *mm;                  /* set once at start; an mm_count reference (process_reap) */
    struct list_head children;      /* its children, through their `sibling` */
    struct list_head sibling;       /* in the parent's children (or kernel_children) */
    struct list_head threads;       /* live threads, through task.thread_link */
    struct list_head dead_threads;  /* exited threads not yet joined (task.thread_link) */
    unsigned live_threads;
    unsigned nr_threads;            /* live + dead_threads + reserved slots */
    struct wait_queue child_wq;     /* its threads waiting in wait() */
    struct wait_queue thread_wq;    /* its threads waiting in thread_join() */
};
_Static_assert(sizeof(struct process) <= 256, "struct process stays one kmalloc-256 object (above)");

/* How a new user thread starts (kmalloc'd, freed by the thread itself). */
struct user_start {
    bool fork;
    uintptr_t rip, rsp;
    uint64_t arg;
    uintptr_t clear_word;           /* task.clear_word of the new thread */
    struct trap_frame frame;        /* fork: the parent's frame, returning 0 */
    /* Tests only (tests/test_process_life.c): run this kernel function as
     * the thread's body instead of entering user mode; the process and mm
     * machinery around it is the real one. */
    void (*kernel_fn)(void *arg);
};


/* process.c */
struct process *process_alloc(const char *name, int *err);
void process_free(struct process *p);
/* Make the first thread of a new process p (not linked yet) on mm (whose
 * mm_users reference the thread takes over) and link p under parent (NULL:
 * the kernel); then start the thread.  On error nothing was linked and the
 * caller still owns p and the mm reference.  fpu_from: NULL (fresh FPU
 * state), or the forking task's arch part, whose FPU image the child gets. */
int process_start(struct process *p, struct process *parent, struct mm *mm, struct user_start *st,
                  const struct arch_task *fpu_from);
/* Add and start another thread in the current process. */
int process_add_thread(struct user_start *st);
/* End the calling thread (last one: the process becomes a zombie). */
__noreturn void process_exit_thread(int code);
/* Mark p dying with this status (first one wins) and kick its other threads. */
void process_set_dying(struct process *p, int status);
/* Wait for a child of parent (NULL: the kernel's own children) - pid or -1.
 * user_status: copy the status out with copy_to_user (before the child is
 * freed, so a bad pointer loses nothing); else store it in *kstatus. */
int process_wait_child(struct process *parent, int pid, int *kstatus, int *user_status);
/* thread_join for the current process. */
int process_join_thread(int tid, int *code);
/* Spawn name with already-copied arguments and environment (envp may be
 * NULL when envc is 0) as a child of parent. */
int process_spawn_as(struct process *parent, const char *name, const char *const argv[], unsigned argc,
                     const char *const envp[], unsigned envc);
int process_pid(const struct process *p);
/* Find a live thread of the current process by tid (0: the caller) and take a
 * reference (task_put when done), or NULL. */
struct task *process_get_thread(int tid);

/* sys_mem.c: map len bytes (page multiple) at a free range at or after
 * hint - shm's pages from its first on if shm, else private anonymous
 * memory.  The address or a negated error. */
struct shm;
long map_anywhere(struct mm *mm, uintptr_t hint, size_t len, unsigned prot, struct shm *shm);

/* argv.c: the initial stack image (see kernel/process.h).  buf[cap] receives
 * the bytes of [stack_top - *len, stack_top); *sp the initial RSP.  Returns 0
 * or -SD_E2BIG.  ARGV_AREA_MAX holds the most arguments and environment
 * strings of the longest length, with their pointers. */
#define ARGV_AREA_MAX 8192
int argv_layout(const char *const argv[], unsigned argc, const char *const envp[], unsigned envc,
                uintptr_t stack_top, uint8_t *buf, size_t cap, size_t *len, uintptr_t *sp);
