/*
 * kernel/proc/syscall.c - the system-call table and dispatcher (see
 * kernel/syscall.h; the entry from user mode is arch/x86_64/syscall_entry.asm
 * and user.c, the calling convention is in docs/syscalls.md).
 *
 * Handlers register themselves with DEFINE_SYSCALL in the files that
 * implement them; the linker gathers the entries in .syscalls, in no
 * particular order.  syscall_init() turns them into a table indexed by
 * number, so a call costs one bounds check and one indirect call.
 */
#include <kernel/syscall.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/sched.h>
#include <kernel/preempt.h>
#include <kernel/process.h>
#include <kernel/rcu.h>

/*
 * Room for the ABI's numbers (uapi/shootdown.h) and for test-only calls
 * above them (tests register numbers from SYSCALL_TABLE_SIZE / 2 up).
 * Written once at boot, before any user code runs; read-only after.
 */
#define SYSCALL_TABLE_SIZE 256
STATIC_ASSERT(SYS_COUNT <= SYSCALL_TABLE_SIZE / 2, "the test range must stay above the ABI's");

static const struct syscall_entry *syscall_table[SYSCALL_TABLE_SIZE];

void syscall_init(void)
{
    unsigned n = 0;
    for (const struct syscall_entry *e = __syscalls_start; e < __syscalls_end; e++, n++) {
        if (e->nr >= SYSCALL_TABLE_SIZE)
            panic("syscall_init: %s has number %lu, beyond the table (%d)", e->name,
                  (unsigned long)e->nr, SYSCALL_TABLE_SIZE);
        if (syscall_table[e->nr])
            panic("syscall_init: number %lu registered twice (%s and %s)", (unsigned long)e->nr,
                  syscall_table[e->nr]->name, e->name);
        syscall_table[e->nr] = e;
    }
    printk("syscall: %u system calls registered\n", n);
}

long syscall_invoke(const struct syscall_args *args)
{
    /* nr is the whole of user RAX: any 64-bit value must be safe here. */
    if (args->nr >= SYSCALL_TABLE_SIZE || !syscall_table[args->nr])
        return -SD_ENOSYS;
    return syscall_table[args->nr]->fn(args);
}

void exit_to_user_work(void)
{
    /* A process being ended (exit, a fault in another thread) stops here. */
    process_exit_if_dying();
    /*
     * Interrupts are on and we hold nothing: a tick that asked for the CPU
     * during the call is honoured now rather than at the next tick.  The
     * loop closes the race of a request arriving while schedule() returns.
     */
    while (need_resched())
        schedule();
    /* Back to user mode next: a quiescent state (kernel/rcu/rcu.c). */
    rcu_qs();
}
