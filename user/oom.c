/*
 * oom [MiB per child]: fork until the kernel runs out of memory.
 *
 * Each child fills MiB (16 by default) of fresh anonymous memory, then
 * waits for the parent's go: it polls for the endpoint "oom-go-<parent
 * pid>" (for at most 3 s, so that children outlive a parent that died by
 * no more than that).  A child whose page fault finds no memory is killed
 * with #PF; that is an allowed ending.  The parent forks until fork fails,
 * says go, collects every child, and exits 0 if memory really ran out: fork
 * failed with -SD_ENOMEM, or it failed with -SD_EAGAIN (the process limit,
 * which zombies of killed children count towards) after at least one child
 * was killed for want of memory.  The parent itself may be killed by #PF
 * too: after each fork its own stack and data are shared copy-on-write, and
 * its next write needs a free page that may no longer exist.
 * Exit 1 (after collecting them all): fork failed with another error, or
 * with -SD_EAGAIN while memory had never run out.
 */
#include <ulib.h>

#define MAX_CHILDREN 4096

static void child(long mib, int parent)
{
    long len = mib << 20;
    long m = sys_mmap(NULL, (size_t)len, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        sys_exit(m == -SD_ENOMEM ? 0 : 20);
    for (long off = 0; off < len; off += 4096)
        ((volatile char *)m)[off] = 1;
    char name[SD_NAME_MAX];
    snprintf(name, sizeof(name), "oom-go-%d", parent);
    for (int i = 0; i < 300 && sys_ipc_lookup(name) < 0; i++)
        sys_sleep(10);
    sys_exit(0);
}

int main(int argc, char **argv)
{
    prog_name = "oom";
    long mib = argc > 1 ? atol(argv[1]) : 16;
    int me = sys_getpid();
    int forked = 0, fork_error = 0;
    while (forked < MAX_CHILDREN) {
        int pid = sys_fork();
        if (pid == 0)
            child(mib, me);
        if (pid < 0) {
            fork_error = pid;
            break;
        }
        forked++;
        sys_sleep(1);       /* let it fill its memory */
    }
    char name[SD_NAME_MAX];
    snprintf(name, sizeof(name), "oom-go-%d", me);
    int ep = sys_ipc_create(name);
    if (ep < 0)
        die("ipc_create(%s): %d", name, ep);
    int exited = 0, killed = 0, status, r;
    while ((r = sys_wait(-1, &status)) > 0) {
        if (SD_WIFFAULTED(status) && SD_WFAULTVEC(status) == 14)
            killed++;
        else if (status == 0)
            exited++;
        else
            die("child %d ended with status %#x", r, status);
    }
    if (r != -SD_ECHILD)
        die("wait = %d", r);
    if (exited + killed != forked)
        die("%d children forked, %d collected", forked, exited + killed);
    printf("oom: fork failed with %d after %d children (%d exited, %d killed by #PF)\n", fork_error,
           forked, exited, killed);
    if (fork_error != -SD_ENOMEM && !(fork_error == -SD_EAGAIN && killed > 0))
        die("fork failed with %d before memory ran out", fork_error);
    return 0;
}
