/*
 * kernel/process.h - user processes and their threads.
 *
 * A process owns an address space (struct mm, one mm_users reference per
 * thread) and has one or more threads; each thread is a struct task with
 * task->mm set.  Processes form a tree: spawn and fork make children, wait
 * collects an exited child's status and frees it.
 *
 * This is also the kernel-side API the in-kernel tests use to run user
 * programs.  Programs are the multiboot2 modules listed in grub.cfg; a
 * module's command line is its program name.
 */
#pragma once
#include <kernel/compiler.h>

struct process;
struct task;

/* Start program `name` (a boot module) with argv (NULL-terminated, argv[0]
 * is the name by convention) as a child of the kernel.  Returns the pid or a
 * negated SD_E* error (-SD_ENOENT no such program, -SD_ENOEXEC bad ELF,
 * -SD_ENOMEM, -SD_EAGAIN too many processes, -SD_E2BIG arguments). */
int process_spawn(const char *name, const char *const argv[]);
/* Wait for a child of the kernel (pid, or -1 for any) to exit; stores its
 * status (uapi SD_W* macros) and frees it.  Returns the pid or -SD_ECHILD. */
int process_wait(int pid, int *status);
/* Processes alive or not yet waited for (for leak checks). */
unsigned process_count(void);
/* The process of the current task, or NULL for a kernel thread. */
struct process *current_process(void);
/* Kill the current process because of a fault in user mode: one report line
 * (pid, name, fault, address, RIP), exit status SD_STATUS_FAULT(vector). */
__noreturn void process_kill_fault(unsigned vector, uint64_t error_code, uintptr_t addr, uintptr_t rip);
