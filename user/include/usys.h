/*
 * user/include/usys.h - the system calls, one C function each.
 *
 * The SYSCALL convention (uapi/shootdown.h): number in RAX, arguments in
 * RDI RSI RDX R10 R8 R9, result in RAX; the CPU itself overwrites RCX (the
 * return address) and R11 (RFLAGS), so they are clobbered.  "memory" tells
 * the compiler the kernel may read or write any memory we pointed it at.
 * Results are the kernel's: >= 0 success, -SD_E* failure.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <uapi/shootdown.h>

static inline long __syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define __sc(nr, a1, a2, a3, a4, a5, a6) \
    __syscall6((nr), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6))

/* The raw form, for programs that pass arbitrary arguments (fuzz, efault). */
static inline long sys_raw(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    return __syscall6(nr, a1, a2, a3, a4, a5, a6);
}

static inline __attribute__((noreturn)) void sys_exit(int code)
{
    __sc(SYS_exit, code, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}
static inline int sys_spawn(const char *name, const char *const *argv)
{ return (int)__sc(SYS_spawn, name, argv, 0, 0, 0, 0); }
static inline int sys_wait(int pid, int *status)
{ return (int)__sc(SYS_wait, pid, status, 0, 0, 0, 0); }
static inline int sys_fork(void)
{ return (int)__sc(SYS_fork, 0, 0, 0, 0, 0, 0); }
static inline int sys_thread_create(void (*entry)(void *), void *stack_top, void *arg)
{ return (int)__sc(SYS_thread_create, entry, stack_top, arg, 0, 0, 0); }
/* The same with clear_word: a word the kernel sets to 0 and futex-wakes
 * when the thread has exited (how thread_join sleeps, user/lib/thread.c). */
static inline int sys_thread_create_cw(void (*entry)(void *), void *stack_top, void *arg,
                                       volatile uint32_t *clear_word)
{ return (int)__sc(SYS_thread_create, entry, stack_top, arg, clear_word, 0, 0); }
static inline __attribute__((noreturn)) void sys_thread_exit(int code)
{
    __sc(SYS_thread_exit, code, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}
static inline int sys_thread_join(int tid, int *code)
{ return (int)__sc(SYS_thread_join, tid, code, 0, 0, 0, 0); }
static inline int sys_yield(void)
{ return (int)__sc(SYS_yield, 0, 0, 0, 0, 0, 0); }
static inline int sys_sleep(unsigned ms)
{ return (int)__sc(SYS_sleep, ms, 0, 0, 0, 0, 0); }
static inline int sys_getpid(void)
{ return (int)__sc(SYS_getpid, 0, 0, 0, 0, 0, 0); }
static inline int sys_gettid(void)
{ return (int)__sc(SYS_gettid, 0, 0, 0, 0, 0, 0); }
static inline int sys_getcpu(void)
{ return (int)__sc(SYS_getcpu, 0, 0, 0, 0, 0, 0); }
static inline int sys_cpu_count(void)
{ return (int)__sc(SYS_cpu_count, 0, 0, 0, 0, 0, 0); }
static inline long sys_write(const void *buf, size_t len)
{ return __sc(SYS_write, buf, len, 0, 0, 0, 0); }
/* Returns the address, or a negated error: test with sys_is_err(). */
static inline long sys_mmap(void *hint, size_t len, int prot)
{ return __sc(SYS_mmap, hint, len, prot, 0, 0, 0); }
static inline int sys_munmap(void *addr, size_t len)
{ return (int)__sc(SYS_munmap, addr, len, 0, 0, 0, 0); }
static inline int sys_mprotect(void *addr, size_t len, int prot)
{ return (int)__sc(SYS_mprotect, addr, len, prot, 0, 0, 0); }
static inline int sys_set_affinity(int tid, uint64_t cpumask)
{ return (int)__sc(SYS_set_affinity, tid, cpumask, 0, 0, 0, 0); }
static inline int sys_ipc_create(const char *name)
{ return (int)__sc(SYS_ipc_create, name, 0, 0, 0, 0, 0); }
static inline int sys_ipc_lookup(const char *name)
{ return (int)__sc(SYS_ipc_lookup, name, 0, 0, 0, 0, 0); }
static inline int sys_ipc_send(int ep, const struct sd_ipc_msg *msg)
{ return (int)__sc(SYS_ipc_send, ep, msg, 0, 0, 0, 0); }
static inline int sys_ipc_recv(int ep, struct sd_ipc_msg *msg)
{ return (int)__sc(SYS_ipc_recv, ep, msg, 0, 0, 0, 0); }
static inline int sys_ipc_call(int ep, const struct sd_ipc_msg *req, struct sd_ipc_msg *reply)
{ return (int)__sc(SYS_ipc_call, ep, req, reply, 0, 0, 0); }
static inline int sys_ipc_reply(const struct sd_ipc_msg *reply)
{ return (int)__sc(SYS_ipc_reply, reply, 0, 0, 0, 0, 0); }
static inline int sys_ipc_reply_recv(int ep, const struct sd_ipc_msg *reply, struct sd_ipc_msg *msg)
{ return (int)__sc(SYS_ipc_reply_recv, ep, reply, msg, 0, 0, 0); }

static inline int sys_clock(struct sd_clock *out)
{ return (int)__sc(SYS_clock, out, 0, 0, 0, 0, 0); }

static inline int sys_futex_wait(volatile uint32_t *addr, uint32_t expected, uint64_t timeout_ns)
{ return (int)__sc(SYS_futex_wait, addr, expected, timeout_ns, 0, 0, 0); }
static inline long sys_futex_wake(volatile uint32_t *addr, uint64_t n)
{ return __sc(SYS_futex_wake, addr, n, 0, 0, 0, 0); }

static inline int sys_shm_create(const char *name, size_t len)
{ return (int)__sc(SYS_shm_create, name, len, 0, 0, 0, 0); }
static inline long sys_shm_map(const char *name, int prot)
{ return __sc(SYS_shm_map, name, prot, 0, 0, 0, 0); }
static inline int sys_shm_unlink(const char *name)
{ return (int)__sc(SYS_shm_unlink, name, 0, 0, 0, 0, 0); }

/* Whether a long result (mmap's address) is an error. */
static inline int sys_is_err(long r)
{
    return r < 0 && r >= -4095;
}

/* Measuring (docs/syscalls.md, "Measuring"). */
static inline int sys_tlb_stats(struct sd_tlb_stats *out)
{ return (int)__sc(SYS_tlb_stats, out, 0, 0, 0, 0, 0); }
static inline int sys_lazy_trip(uint64_t *cycles, uint64_t n)
{ return (int)__sc(SYS_lazy_trip, cycles, n, 0, 0, 0, 0); }
