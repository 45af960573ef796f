/*
 * kernel/futex.h - the kernel's own use of futexes (kernel/proc/futex.c;
 * the system calls are futex_wait and futex_wake, docs/syscalls.md).
 */
#pragma once
#include <kernel/compiler.h>

/* futex_wake for the current process: wake at most n waiters of the user
 * word at addr (found by its key: shared object or this mm).  How many
 * were woken, or -SD_EINVAL / -SD_EFAULT for a bad address.  Thread
 * context (it takes mm->lock). */
long futex_wake_word(uintptr_t addr, uint64_t n);
