/*
 * user/include/ulib.h - the user runtime: console output, small helpers,
 * threads.  The string functions and vsnprintf are the kernel's own
 * (lib/string.h, lib/format.h), compiled a second time for user space.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <lib/format.h>
#include <lib/string.h>
#include <usys.h>

/* Console output through SYS_write; one system call per printf, so lines
 * of different threads and processes do not interleave mid-line. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int puts(const char *s);                /* s and a newline */

/* Print "NAME: message" and exit(1): how test programs report a failure. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
/* Wait for child `pid` and die unless it exited with status 0 (`what`
 * names it in the message, with how it ended). */
void wait_ok(int pid, const char *what);
/* The program's name (argv[0]), for messages; set by check_init(). */
extern const char *prog_name;

/* The environment: "NAME=VALUE" strings, NULL-terminated (set by crt0 from
 * the initial stack; empty for a program started by SYS_spawn).  getenv
 * returns NAME's value or NULL. */
extern char **environ;
const char *getenv(const char *name);

/* Decimal string to number; no sign handling beyond a leading '-'. */
long atol(const char *s);

/* A small fast pseudo-random generator (xorshift64*), per caller state. */
static inline uint64_t rand_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Nanoseconds since boot (SYS_clock). */
static inline uint64_t clock_ns(void)
{
    struct sd_clock c;
    return sys_clock(&c) == 0 ? c.ns : 0;
}

/* The cycle counter (the TSC), as the kernel's clock reads it. */
static inline uint64_t read_cycles(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* ---- threads (user/lib/thread.c) ---- */
struct uthread {
    int tid;
    void *stack;            /* the mmap'd stack, unmapped by thread_join */
    size_t stack_size;      /* 0: the caller's stack (thread_create_on) */
    /* 1 while the thread runs; its exit makes the kernel store 0 and wake
     * thread_join, which sleeps on it (futex).  The struct must stay where
     * it is until the join. */
    volatile uint32_t running;
};
#define UTHREAD_STACK_SIZE (64 * 1024)
/* Start fn(arg) in a new thread of this process with a stack from mmap;
 * fn's return value is the thread's exit code.  0 or a negated error. */
int thread_create(struct uthread *t, int (*fn)(void *), void *arg);
/* The same on a stack the caller owns (static memory, say): no mmap, and
 * thread_join leaves the stack alone.  user/bench.c uses it so that thread
 * stacks come and go without munmap calls, which flush and may free page
 * tables (IPIs to lazy CPUs) and would disturb what it measures. */
int thread_create_on(struct uthread *t, int (*fn)(void *), void *arg, void *stack, size_t size);
/* Wait for it, free its stack (unless thread_create_on); its exit code in
 * *code.  0 or an error. */
int thread_join(struct uthread *t, int *code);

/* A mutex for the threads of a process (user/lib/mutex.c): no system call
 * while uncontended, futex_wait/futex_wake when it is.  Zero-initialised
 * (UMUTEX_INIT) means unlocked. */
struct umutex {
    _Atomic uint32_t state;     /* 0 unlocked, 1 locked, 2 locked with waiters */
};
#define UMUTEX_INIT { 0 }
void umutex_lock(struct umutex *m);
void umutex_unlock(struct umutex *m);

/* ---- shared memory and futexes (docs/syscalls.md) ---- */
/* len bytes of zeroed memory shared with every child forked after this
 * (both sides see each other's writes), readable and writable; NULL when
 * out of memory.  A futex word in it is shared too: futex_wait in one
 * process is woken by futex_wake in another. */
static inline void *mmap_shared(size_t len)
{
    long r = sys_mmap(NULL, len, SD_PROT_READ | SD_PROT_WRITE | SD_MAP_SHARED);
    return sys_is_err(r) ? NULL : (void *)r;
}
/* Sleep while *word == expected (0: no timeout); 0 when woken, else a
 * negated error (-SD_EAGAIN: it did not hold expected, -SD_ETIMEDOUT). */
static inline int futex_wait(volatile uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    return sys_futex_wait(word, expected, timeout_ns);
}
/* Wake at most n sleepers of *word, in any process that shares it. */
static inline long futex_wake(volatile uint32_t *word, uint64_t n)
{
    return sys_futex_wake(word, n);
}

/* Pin the calling thread to one CPU (modulo the CPU count) and check. */
int pin_to_cpu(int cpu);
