/*
 * kernel/syscall.h - system call handlers and their registration.
 *
 * Each file registers the system calls it implements next to them:
 *
 *     static long sys_getpid(const struct syscall_args *a) { ... }
 *     DEFINE_SYSCALL(SYS_getpid, sys_getpid);
 *
 * The entries gather in the .syscalls section (linker.ld); the dispatcher
 * (kernel/proc/syscall.c) builds its table from them at boot and panics on a
 * number registered twice.  An unregistered number returns -SD_ENOSYS.
 * Arguments arrive raw: handlers validate them (user pointers through
 * arch/uaccess.h) and return a result or a negated SD_E* error.
 */
#pragma once
#include <kernel/compiler.h>
#include <uapi/shootdown.h>

struct syscall_args {
    uint64_t nr;
    uint64_t a[6];
};

typedef long (*syscall_fn_t)(const struct syscall_args *args);

struct syscall_entry {
    uint64_t nr;
    syscall_fn_t fn;
    const char *name;
};

/* Every handler, gathered by the linker from section .syscalls (linker.ld). */
extern const struct syscall_entry __syscalls_start[], __syscalls_end[];

#define DEFINE_SYSCALL(number, handler)                                         \
    static const struct syscall_entry __syscall_##handler __used               \
        __section(".syscalls") __aligned(8) = { (number), (handler), #handler }

void syscall_init(void);        /* build the table (boot CPU) */
/* Run system call args->nr (arch entry code, with interrupts on): the
 * handler's result, or -SD_ENOSYS for an unregistered number. */
long syscall_invoke(const struct syscall_args *args);
/* The last step before any return to user mode: run the scheduler while it
 * asked for the CPU (a system call is a preemption point). */
void exit_to_user_work(void);
