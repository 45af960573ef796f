/*
 * kernel/process.h - user processes and their threads.
 *
 * A process owns an address space (struct mm, one mm_users reference per
 * thread) and has one or more threads; each thread is a struct task with
 * task->mm set.  Processes form a tree: spawn and fork make children, wait
 * collects an exited child's status and frees it.  The kernel is the parent
 * of processes started with process_spawn() and of orphans (docs/processes.md,
 * part "processes, exit, fault paths").
 *
 * This is also the kernel-side API the in-kernel tests use to run user
 * programs.  Programs are the multiboot2 modules listed in grub.cfg; a
 * module's command line is its program name.
 *
 * How a program starts (what user/lib/crt0.asm relies on):
 *   - RIP = the ELF entry point; RDI = argc; all other general registers 0
 *     (arch_enter_user), fresh FPU state.
 *   - RSP is 16-byte aligned and points at argc (a 64-bit word); above it
 *     argv[0] .. argv[argc-1] (pointers), then a NULL pointer, then the
 *     environment envp[0] .. (pointers to "NAME=VALUE" strings, none for a
 *     program started by SYS_spawn), then a NULL pointer; the strings
 *     themselves lie above that, below SD_USER_STACK_TOP.  There is no
 *     auxiliary vector.  That is the System V layout minus auxv:
 *         rsp -> argc | argv[0] ... argv[argc-1] | NULL | envp[0] ... | NULL | (pad) | "arg0\0" ... "NAME=VALUE\0" ... | SD_USER_STACK_TOP
 *   - The stack is a read/write VMA [SD_USER_STACK_TOP - SD_USER_STACK_SIZE,
 *     SD_USER_STACK_TOP); nothing is mapped right below it.
 * A thread made by SYS_thread_create starts at `entry` with RDI = arg and
 * RSP = (stack_top rounded down to 16) - 8, where the kernel stored a 0
 * return address: entry is entered exactly like a called C function, and
 * must end with SYS_thread_exit (returning jumps to 0 and kills the process).
 */
#pragma once
#include <kernel/compiler.h>

struct process;
struct task;

#define PROCESS_MAX         64  /* processes alive or not yet waited for */
#define PROCESS_THREADS_MAX 64  /* threads of one process, live or not yet joined */

/* Start program `name` (a boot module) with argv (NULL-terminated, argv[0]
 * is the name by convention; NULL means { name, NULL }) as a child of the
 * kernel.  Returns the pid or a negated SD_E* error (-SD_ENOENT no such
 * program, -SD_ENOEXEC bad ELF, -SD_ENOMEM, -SD_EAGAIN too many processes,
 * -SD_E2BIG arguments). */
int process_spawn(const char *name, const char *const argv[]);
/* The same with an environment: envp NULL-terminated "NAME=VALUE" strings (at
 * most SD_ENV_MAX, each shorter than SD_ARG_LEN_MAX, else -SD_E2BIG). */
int process_spawn_env(const char *name, const char *const argv[], const char *const envp[]);
/* Wait for a child of the kernel (pid, or -1 for any) to exit; stores its
 * status (uapi SD_W* macros) and frees it.  Returns the pid or -SD_ECHILD. */
int process_wait(int pid, int *status);
/* Processes alive or not yet waited for (for leak checks). */
unsigned process_count(void);
/* The ctx_id of the mm of the kernel's child pid (a process_spawn()
 * result not yet waited for), or 0: how the TLB trace names its mm. */
uint64_t process_mm_ctx(int pid);
/* The process of the current task, or NULL for a kernel thread. */
struct process *current_process(void);
/* Kill the current process because of a fault in user mode: one report line
 * (pid, name, fault, address, RIP), exit status SD_STATUS_FAULT(vector).
 * Called from the exception handler of a user thread; enables interrupts. */
__noreturn void process_kill_fault(unsigned vector, uint64_t error_code, uintptr_t addr, uintptr_t rip);

/*
 * Ending the other threads of a process (exit, a fault): the process is
 * marked dying and each of its other threads is woken (if asleep: its
 * kthread_should_stop() turns true, so msleep returns early and the blocking
 * system calls here give up) and interrupted (an IPI to its CPU).  Each then
 * ends itself in process_exit_if_dying(), which the user-entry code calls
 * on every return to user mode (system call and interrupt returns).
 */
void process_exit_if_dying(void);
/* True if the current task belongs to a process that is being ended:
 * blocking system calls check it in their wait loops and return early. */
bool current_process_dying(void);
/* Boot: start the reaper thread that frees exited orphans. */
void process_init(void);
