/*
 * kernel/proc/run.c - the run= boot option: start one user program with the
 * arguments and environment the rest of the command line gives, print its
 * end, and end the machine so that the host sees its exit status
 * (docs/processes.md, "Running one program").
 *
 *     run=PROG [ARG | NAME=VALUE]... [-- ARG...]
 *
 * run= takes the rest of the line (CMDLINE_REST): it is the last option.
 * Words are split at blanks, double quotes group blanks into one word.  A
 * word NAME=VALUE (NAME: letters, digits, '_', not starting with a digit)
 * goes to the environment, any other word to argv; after a word "--" every
 * word goes to argv.  argv[0] is PROG.
 *
 * The end: one line `run: exit status N` (N 0..255, what the host's
 * `make run` exits with) and arch_machine_exit(EXIT_RUN_ENDED).  QEMU's exit
 * status carries only 7 bits of a code and Bochs's none, so the line holds
 * the status and the exit device says that the kernel wrote it (a panic ends
 * with EXIT_PANIC instead).  N is the program's exit code, 128 + the vector
 * when a fault killed it (as a shell reports a signal), RUN_STATUS_BAD_ARGS
 * when the line could not be made into a program's arguments, and
 * RUN_STATUS_NO_PROGRAM when there is no such program.
 */
#include <kernel/run.h>
#include <kernel/boot_options.h>
#include <kernel/bootinfo.h>
#include <kernel/elf.h>
#include <kernel/kmalloc.h>
#include <kernel/printk.h>
#include <kernel/process.h>
#include <kernel/sched.h>
#include <uapi/shootdown.h>
#include <lib/cmdline.h>
#include <lib/string.h>
#include <arch/machine.h>

#define RUN_STATUS_BAD_ARGS   126   /* a shell's "cannot execute" */
#define RUN_STATUS_NO_PROGRAM 127   /* a shell's "command not found" */
#define RUN_STATUS_FAULT_BASE 128   /* + the exception vector */

static char run_line[BOOT_CMDLINE_MAX];
CMDLINE_REST(run, run_line, "run one user program with arguments and NAME=VALUE environment words, "
                            "then end the machine with its exit status (the last option)");

struct run_request {
    char words[SD_ARGS_MAX + SD_ENV_MAX][SD_ARG_LEN_MAX];
    const char *argv[SD_ARGS_MAX + 1];
    const char *envp[SD_ENV_MAX + 1];
    unsigned argc, envc;
};

static bool is_env_word(const char *w)
{
    const char *eq = strchr(w, '=');
    if (!eq || eq == w || (w[0] >= '0' && w[0] <= '9'))
        return false;
    for (const char *c = w; c < eq; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    return true;
}

/* Split run_line into r; on an error print why and return false. */
static bool split_line(struct run_request *r)
{
    size_t pos = 0;
    unsigned used = 0;
    bool only_args = false, bad;
    char *w = r->words[0];

    while (cmdline_next_arg(run_line, &pos, w, SD_ARG_LEN_MAX, &bad)) {
        if (bad) {
            printk("run: error: the word '%s...' is longer than %d characters or has an unclosed quote\n",
                   w, SD_ARG_LEN_MAX - 1);
            return false;
        }
        if (r->argc > 0 && !only_args && !strcmp(w, "--")) {
            only_args = true;
            continue;
        }
        if (r->argc > 0 && !only_args && is_env_word(w)) {
            if (r->envc == SD_ENV_MAX) {
                printk("run: error: more than %d environment words (SD_ENV_MAX)\n", SD_ENV_MAX);
                return false;
            }
            r->envp[r->envc++] = w;
        } else {
            if (r->argc == SD_ARGS_MAX) {
                printk("run: error: more than %d arguments, the program's name included (SD_ARGS_MAX)\n",
                       SD_ARGS_MAX);
                return false;
            }
            r->argv[r->argc++] = w;
        }
        w = r->words[++used];
    }
    r->argv[r->argc] = NULL;
    r->envp[r->envc] = NULL;
    return true;
}

static void list_programs(void)
{
    printk("run: the programs are:");
    for (unsigned i = 0; i < boot_info.module_count; i++)
        printk_raw(" %s", boot_info.modules[i].cmdline);
    printk_raw("\n");
}

/* Start the program and wait for it; the status the host gets. */
static int run_program(struct run_request *r)
{
    size_t size;
    if (!split_line(r))
        return RUN_STATUS_BAD_ARGS;
    const char *name = r->argv[0];
    if (strlen(name) >= SD_NAME_MAX || !elf_find_module(name, &size)) {
        printk("run: error: no user program '%s'\n", name);
        list_programs();
        return RUN_STATUS_NO_PROGRAM;
    }
    printk("run: starting '%s' with %u argument%s and %u environment word%s\n", name, r->argc,
           r->argc == 1 ? "" : "s", r->envc, r->envc == 1 ? "" : "s");
    int pid = process_spawn_env(name, r->argv, r->envp);
    if (pid < 0) {
        printk("run: error: starting '%s' failed: error %d\n", name, -pid);
        return pid == -SD_E2BIG ? RUN_STATUS_BAD_ARGS : RUN_STATUS_NO_PROGRAM;
    }
    int status;
    process_wait(pid, &status);
    if (SD_WIFFAULTED(status)) {
        printk("run: '%s' (pid %d) was killed by exception vector %d\n", name, pid, SD_WFAULTVEC(status));
        return RUN_STATUS_FAULT_BASE + SD_WFAULTVEC(status);
    }
    printk("run: '%s' (pid %d) exited with %d\n", name, pid, SD_WEXITCODE(status));
    return SD_WEXITCODE(status);
}

static void run_thread(void *arg)
{
    (void)arg;
    struct run_request *r = kzalloc(sizeof(*r));
    int status = r ? run_program(r) : RUN_STATUS_BAD_ARGS;
    kfree(r);
    /* The host reads this line (tools/vmlib.py, RUN_STATUS). */
    printk("run: exit status %d\n", status);
    arch_machine_exit(EXIT_RUN_ENDED);
}

bool run_requested(void)
{
    return run_line[0] != '\0';
}

bool run_start(void)
{
    if (!run_requested())
        return false;
    struct task *t = kthread_create(run_thread, NULL, "run");
    if (!t) {
        printk("run: error: no memory for the run thread\n");
        printk("run: exit status %d\n", RUN_STATUS_BAD_ARGS);
        arch_machine_exit(EXIT_RUN_ENDED);
    }
    kthread_start(t);
    return true;
}
