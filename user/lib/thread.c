/* user/lib/thread.c - threads over SYS_thread_create with mmap'd stacks;
 * thread_join sleeps on a futex word the kernel clears at the thread's exit. */
#include <ulib.h>

/* Placed at the top of the new stack; thread_trampoline (crt0.asm) reads
 * it, calls fn(arg) and hands the result to SYS_thread_exit. */
struct thread_start {
    int (*fn)(void *);
    void *arg;
};

void thread_trampoline(void *start);

/* Start fn(arg) on [stack, stack + size): the start record sits at the
 * very top; the stack grows down below it. */
static int start_on(struct uthread *t, int (*fn)(void *), void *arg, void *stack, size_t size)
{
    struct thread_start *s = (struct thread_start *)(((uintptr_t)stack + size) & ~(uintptr_t)15) - 1;
    s->fn = fn;
    s->arg = arg;
    t->running = 1;     /* before the thread exists: its exit clears it */
    int tid = sys_thread_create_cw(thread_trampoline, s, s, &t->running);
    if (tid >= 0)
        t->tid = tid;
    return tid < 0 ? tid : 0;
}

int thread_create(struct uthread *t, int (*fn)(void *), void *arg)
{
    long m = sys_mmap(NULL, UTHREAD_STACK_SIZE, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        return (int)m;
    t->stack = (void *)m;
    t->stack_size = UTHREAD_STACK_SIZE;
    int r = start_on(t, fn, arg, t->stack, t->stack_size);
    if (r < 0)
        sys_munmap(t->stack, t->stack_size);
    return r;
}

int thread_create_on(struct uthread *t, int (*fn)(void *), void *arg, void *stack, size_t size)
{
    t->stack = stack;
    t->stack_size = 0;          /* the caller's: thread_join leaves it */
    return start_on(t, fn, arg, stack, size);
}

int thread_join(struct uthread *t, int *code)
{
    /* Sleep until the kernel cleared the word at the thread's exit
     * (kernel/proc/process.c): futex_wait returns at once (-SD_EAGAIN) if
     * it already did.  thread_join then only collects the exit code. */
    while (t->running)
        sys_futex_wait(&t->running, 1, 0);
    int r = sys_thread_join(t->tid, code);
    if (r < 0)
        return r;
    if (t->stack_size)
        sys_munmap(t->stack, t->stack_size);
    return 0;
}
