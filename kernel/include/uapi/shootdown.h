/*
 * uapi/shootdown.h - the interface between user programs and the kernel:
 * system call numbers, error numbers, flags, the wait status and the IPC
 * message.  Included by the kernel and by user/ alike, so it uses only
 * fixed-width types and no kernel headers.
 *
 * Calling convention (x86-64, the SYSCALL instruction): the number in RAX,
 * arguments in RDI, RSI, RDX, R10, R8, R9; the result in RAX.  A result in
 * [-4095, -1] is a negated error number (SD_E*); anything else is success.
 * RCX and R11 are clobbered (SYSCALL keeps the return address and RFLAGS
 * there); every other register is preserved.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>

/* ---- system call numbers ---- */
enum {
    SYS_exit = 0,           /* (int code) -> never returns; ends every thread of the process */
    SYS_spawn = 1,          /* (const char *name, const char *const *argv) -> pid */
    SYS_wait = 2,           /* (int pid or -1 for any child, int *status or NULL) -> pid */
    SYS_fork = 3,           /* () -> child pid in the parent, 0 in the child */
    SYS_thread_create = 4,  /* (void (*entry)(void *), void *stack_top, void *arg, uint32_t *clear_word or NULL) -> tid */
    SYS_thread_exit = 5,    /* (int code) -> never returns; the last thread ends the process */
    SYS_thread_join = 6,    /* (int tid, int *code or NULL) -> 0 */
    SYS_yield = 7,          /* () -> 0 */
    SYS_sleep = 8,          /* (unsigned ms) -> 0 */
    SYS_getpid = 9,         /* () -> pid */
    SYS_gettid = 10,        /* () -> tid */
    SYS_getcpu = 11,        /* () -> the CPU the caller runs on */
    SYS_cpu_count = 12,     /* () -> number of online CPUs */
    SYS_write = 13,         /* (const char *buf, size_t len) -> bytes written to the console */
    SYS_mmap = 14,          /* (void *hint or NULL, size_t len, int prot [| SD_MAP_SHARED]) -> address (anonymous, zeroed) */
    SYS_munmap = 15,        /* (void *addr, size_t len) -> 0 */
    SYS_mprotect = 16,      /* (void *addr, size_t len, int prot) -> 0 */
    SYS_set_affinity = 17,  /* (int tid or 0 for self, uint64_t cpumask of CPUs 0..63) -> 0 */
    SYS_ipc_create = 18,    /* (const char *name) -> endpoint id */
    SYS_ipc_lookup = 19,    /* (const char *name) -> endpoint id */
    SYS_ipc_send = 20,      /* (int ep, const struct sd_ipc_msg *msg) -> 0 */
    SYS_ipc_recv = 21,      /* (int ep, struct sd_ipc_msg *msg) -> 0; msg->sender = sender's tid */
    SYS_ipc_call = 22,      /* (int ep, const struct sd_ipc_msg *req, struct sd_ipc_msg *reply) -> 0 */
    SYS_ipc_reply = 23,     /* (const struct sd_ipc_msg *reply) -> 0: to the last call this thread received */
    SYS_clock = 24,         /* (struct sd_clock *out) -> 0: time since boot, the cycle counter's rate */
    SYS_futex_wait = 25,    /* (uint32_t *addr, uint32_t expected, uint64_t timeout_ns or 0) -> 0 when woken */
    SYS_futex_wake = 26,    /* (uint32_t *addr, uint64_t n) -> waiters woken (at most n) */
    SYS_tlb_stats = 27,     /* (struct sd_tlb_stats *out) -> 0: the TLB counters summed, lazy_mm mode, PCID */
    SYS_lazy_trip = 28,     /* (uint64_t *cycles, uint64_t n) -> 0: n kernel-thread lazy round trips, timed */
    SYS_shm_create = 29,    /* (const char *name, size_t len) -> 0: a named shared memory object */
    SYS_shm_map = 30,       /* (const char *name, int prot) -> address of a shared mapping of all of it */
    SYS_shm_unlink = 31,    /* (const char *name) -> 0: the name goes; the memory when its last mapping does */
    SYS_ipc_reply_recv = 36, /* (int ep, const struct sd_ipc_msg *reply, struct sd_ipc_msg *msg) -> 0: reply, then recv */
    SYS_COUNT
};

/* ---- error numbers (returned negated) ---- */
#define SD_EPERM        1
#define SD_ENOENT       2
#define SD_ESRCH        3
#define SD_EIO          5
#define SD_E2BIG        7
#define SD_ENOEXEC      8
#define SD_ECHILD       10
#define SD_EAGAIN       11
#define SD_ENOMEM       12
#define SD_EFAULT       14
#define SD_EBUSY        16
#define SD_EEXIST       17
#define SD_EINVAL       22
#define SD_ENAMETOOLONG 36
#define SD_ENOSYS       38
#define SD_ETIMEDOUT    110

/* ---- mmap / mprotect protections ---- */
#define SD_PROT_NONE    0
#define SD_PROT_READ    1
#define SD_PROT_WRITE   2
#define SD_PROT_EXEC    4
/* mmap only, or'ed into prot: the pages are shared with every process
 * that inherits the mapping over fork (writes are seen both ways, no
 * copy-on-write), not private. */
#define SD_MAP_SHARED   0x10

/* ---- limits ---- */
#define SD_NAME_MAX     32      /* program and endpoint names, with the NUL */
#define SD_ARGS_MAX     16      /* argv entries */
#define SD_ARG_LEN_MAX  128     /* one argument or environment string, with the NUL */
#define SD_ENV_MAX      16      /* environment strings (NAME=VALUE) of a new program */
#define SD_SHM_MAX      (256ull << 20)  /* bytes of one shared memory object (shared mmap, shm_create) */

/*
 * ---- the wait status ----
 * Bits 0..7: the exit code (exit / the last thread_exit).  Bit 8: set when
 * the process was killed because of a fault; bits 16..23 then hold the
 * exception vector (14 = page fault, 13 = general protection, 6 = invalid
 * opcode, 0 = divide error...).
 */
#define SD_WIFFAULTED(s)    (((s) >> 8) & 1)
#define SD_WEXITCODE(s)     ((s) & 0xff)
#define SD_WFAULTVEC(s)     (((s) >> 16) & 0xff)
#define SD_STATUS_EXIT(code)     ((code) & 0xff)
#define SD_STATUS_FAULT(vector)  ((1 << 8) | (((vector) & 0xff) << 16))

/* ---- IPC ---- */
struct sd_ipc_msg {
    uint64_t label;         /* what the message means: the sender's choice */
    uint64_t words[6];      /* payload */
    int32_t sender;         /* filled in by the kernel on receive: the sender's tid */
    int32_t reserved;
};

/* ---- the clock (SYS_clock) ---- */
struct sd_clock {
    uint64_t ns;            /* nanoseconds since boot (the kernel's ktime_ns) */
    uint64_t cycles;        /* the cycle counter (rdtsc) at the moment `ns` was read */
    uint64_t cycle_hz;      /* its rate, as the kernel measured it at boot */
    uint64_t tick_ns;       /* one scheduler tick: sleeps end at a tick, never before their time */
};

/*
 * ---- the TLB counters (SYS_tlb_stats) ----
 * A snapshot of the kernel's event counters of the groups tlb, switch, lazy
 * and mm, each summed over the online CPUs, named "group.name" as the
 * kernel prints them (docs/tlb.md, "Counters"), with the lazy_mm= mode and
 * whether PCID-tagged TLBs are in use.  Two snapshots around a workload give
 * its counts; the counters never go back.
 */
#define SD_STATS_MAX        64
#define SD_STAT_NAME_MAX    40      /* "group.name" with the NUL */
struct sd_stat {
    char name[SD_STAT_NAME_MAX];
    uint64_t value;
};
struct sd_tlb_stats {
    char lazy_mm[16];       /* "refcount", "shootdown" or "hazard" */
    uint32_t pcid;          /* 1: PCID-tagged TLBs in use (pcid=on and the CPU has it) */
    uint32_t cpus;          /* online CPUs */
    uint32_t count;         /* entries of stat[] filled, in the kernel's order (the same every call) */
    uint32_t reserved;
    struct sd_stat stat[SD_STATS_MAX];
};

/* ---- user address-space layout ---- */
#define SD_USER_BASE        0x0000000000400000ull   /* programs are linked here */
#define SD_USER_STACK_TOP   0x00007ffffff00000ull   /* main thread's stack top */
#define SD_USER_STACK_SIZE  (256ull * 1024)
#define SD_USER_MMAP_BASE   0x0000100000000000ull   /* mmap without a hint starts here */
#define SD_USER_TOP         0x0000800000000000ull   /* first non-user address */
