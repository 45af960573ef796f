/*
 * kernel/proc/spawn.c - making processes: spawn (a program from a boot
 * module) and fork (a copy of the caller).
 *
 * Order of the steps, so that a failure anywhere frees exactly what was made
 * (the tests count frames, heap bytes, mms and processes):
 *   process_alloc (slot, -SD_EAGAIN) -> mm_create -> elf_load -> stack + argv
 *   -> start block -> process_start (creates the thread, the last thing that
 *   can fail).  Any failure: mmput(mm) (tears down whatever was mapped,
 *   frees the mm), kfree, process_free.
 */
#include "process_internal.h"
#include <kernel/elf.h>
#include <kernel/mm.h>
#include <kernel/kmalloc.h>
#include <kernel/syscall.h>
#include <arch/user.h>
#include <arch/uaccess.h>
#include <lib/string.h>

/* Map the stack and write the argument block; *sp gets the initial RSP. */
static int setup_stack(struct mm *mm, const char *const argv[], unsigned argc, const char *const envp[],
                       unsigned envc, uintptr_t *sp)
{
    uint8_t *buf = kmalloc(ARGV_AREA_MAX);
    if (!buf)
        return -SD_ENOMEM;
    size_t len;
    int err = argv_layout(argv, argc, envp, envc, SD_USER_STACK_TOP, buf, ARGV_AREA_MAX, &len, sp);
    if (!err)
        err = mm_map_anon(mm, SD_USER_STACK_TOP - SD_USER_STACK_SIZE, SD_USER_STACK_SIZE,
                          SD_PROT_READ | SD_PROT_WRITE);
    if (!err)
        err = mm_write(mm, *sp, buf, len);
    kfree(buf);
    return err;
}

int process_spawn_as(struct process *parent, const char *name, const char *const argv[], unsigned argc,
                     const char *const envp[], unsigned envc)
{
    size_t size;
    const void *image = elf_find_module(name, &size);
    if (!image)
        return -SD_ENOENT;
    if (argc > SD_ARGS_MAX || envc > SD_ENV_MAX)
        return -SD_E2BIG;

    int err;
    struct process *p = process_alloc(name, &err);
    if (!p)
        return err;
    struct mm *mm = mm_create();
    if (!mm) {
        process_free(p);
        return -SD_ENOMEM;
    }
    struct user_start *st = kzalloc(sizeof(*st));
    uintptr_t entry = 0, sp = 0;
    int pid = 0;
    err = st ? 0 : -SD_ENOMEM;
    if (!err)
        err = elf_load(mm, name, image, size, &entry);
    if (!err)
        err = setup_stack(mm, argv, argc, envp, envc, &sp);
    if (!err) {
        st->rip = entry;
        st->rsp = sp;
        st->arg = argc;
        pid = process_pid(p);     /* p may be gone as soon as it starts */
        err = process_start(p, parent, mm, st, NULL);
    }
    if (err) {
        kfree(st);
        mmput(mm);
        process_free(p);
        return err;
    }
    return pid;
}

/* The entries of a NULL-terminated vector, or max + 1 when it has more. */
static unsigned vector_count(const char *const v[], unsigned max)
{
    unsigned n = 0;
    while (v && v[n] && n <= max)
        n++;
    return n;
}

int process_spawn_env(const char *name, const char *const argv[], const char *const envp[])
{
    const char *def[2] = { name, NULL };
    if (!argv)
        argv = def;
    unsigned argc = vector_count(argv, SD_ARGS_MAX), envc = vector_count(envp, SD_ENV_MAX);
    if (argc > SD_ARGS_MAX || envc > SD_ENV_MAX)
        return -SD_E2BIG;
    return process_spawn_as(NULL, name, argv, argc, envp, envc);
}

int process_spawn(const char *name, const char *const argv[])
{
    return process_spawn_env(name, argv, NULL);
}

/* spawn(name, argv): the arguments are copied in before anything is made. */
static long sys_spawn(const struct syscall_args *a)
{
    struct {
        char name[SD_NAME_MAX];
        char args[SD_ARGS_MAX][SD_ARG_LEN_MAX];
        const char *argv[SD_ARGS_MAX + 1];
    } *k = kmalloc(sizeof(*k));
    if (!k)
        return -SD_ENOMEM;

    long r = strncpy_from_user(k->name, (const char *)a->a[0], sizeof(k->name));
    unsigned argc = 0;
    if (r >= 0 && a->a[1] == 0) {
        k->argv[argc++] = k->name;
    } else if (r >= 0) {
        const char *const *uargv = (const char *const *)a->a[1];
        for (;;) {
            const char *uarg;
            if (copy_from_user(&uarg, &uargv[argc], sizeof(uarg))) {
                r = -SD_EFAULT;
                break;
            }
            if (!uarg)
                break;
            if (argc == SD_ARGS_MAX) {
                r = -SD_E2BIG;
                break;
            }
            long n = strncpy_from_user(k->args[argc], uarg, SD_ARG_LEN_MAX);
            if (n < 0) {
                r = n == -SD_ENAMETOOLONG ? -SD_E2BIG : n;
                break;
            }
            k->argv[argc] = k->args[argc];
            argc++;
        }
    }
    if (r >= 0) {
        k->argv[argc] = NULL;
        r = process_spawn_as(current_process(), k->name, k->argv, argc, NULL, 0);
    }
    kfree(k);
    return r;
}
DEFINE_SYSCALL(SYS_spawn, sys_spawn);

/* fork(): a new process with a copy-on-write copy of the mm and one thread,
 * a copy of the caller that returns 0. */
static long sys_fork(const struct syscall_args *a)
{
    (void)a;
    struct task *me = current_task();
    struct process *parent = me->process;
    int err;

    struct process *p = process_alloc(parent->name, &err);
    if (!p)
        return err;
    struct user_start *st = kzalloc(sizeof(*st));
    if (!st) {
        process_free(p);
        return -SD_ENOMEM;
    }
    struct mm *mm = mm_fork_thread(me->mm, arch_user_frame_sp(current_user_frame()));
    if (!mm) {
        kfree(st);
        process_free(p);
        return -SD_ENOMEM;
    }
    st->fork = true;
    st->frame = *current_user_frame();
    arch_syscall_set_return(&st->frame, 0);
    arch_fpu_save_current();
    int pid = process_pid(p);         /* p may be gone as soon as it starts */
    err = process_start(p, parent, mm, st, &me->arch);
    if (err) {
        kfree(st);
        mmput(mm);
        process_free(p);
        return err;
    }
    return pid;
}
DEFINE_SYSCALL(SYS_fork, sys_fork);
