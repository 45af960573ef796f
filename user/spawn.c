/*
 * spawn: spawn and wait from user space - exit codes come back exactly,
 * wait by pid and for any child, errors for unknown programs, too many or
 * too long arguments, and waiting without children.
 */
#include <ulib.h>

static int spawn_code(int code, const char *how)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", code);
    const char *argv[] = { "exitcode", num, how, NULL };
    int pid = sys_spawn("exitcode", argv);
    if (pid <= 0)
        die("spawn exitcode %d: %d", code, pid);
    return pid;
}

static void expect_exit(int pid, int status, int code)
{
    if (SD_WIFFAULTED(status))
        die("child %d faulted (vector %d), want exit %d", pid, SD_WFAULTVEC(status), code);
    if (SD_WEXITCODE(status) != code)
        die("child %d exit code %d, want %d", pid, SD_WEXITCODE(status), code);
}

int main(void)
{
    prog_name = "spawn";
    static const int codes[] = { 0, 1, 42, 127, 255 };
    int status;

    /* One at a time, by pid, exit and thread_exit. */
    for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        for (int t = 0; t < 2; t++) {
            int pid = spawn_code(codes[i], t ? "thread" : NULL);
            int r = sys_wait(pid, &status);
            if (r != pid)
                die("wait(%d) = %d", pid, r);
            expect_exit(pid, status, codes[i]);
        }
    }

    /* Several at once, collected with wait(-1). */
    enum { N = 8 };
    int pids[N], seen[N] = { 0 };
    for (int i = 0; i < N; i++)
        pids[i] = spawn_code(10 + i, NULL);
    for (int n = 0; n < N; n++) {
        int r = sys_wait(-1, &status);
        int i;
        for (i = 0; i < N && pids[i] != r; i++)
            ;
        if (i == N || seen[i])
            die("wait(-1) = %d: not a child still running", r);
        seen[i] = 1;
        expect_exit(r, status, 10 + i);
    }
    int r = sys_wait(-1, &status);
    if (r != -SD_ECHILD)
        die("wait without children = %d, want -ECHILD", r);
    /* A status pointer may be NULL. */
    int pid = spawn_code(3, NULL);
    if ((r = sys_wait(pid, NULL)) != pid)
        die("wait(%d, NULL) = %d", pid, r);

    /* Errors. */
    const char *none[] = { "no-such-program", NULL };
    if ((r = sys_spawn("no-such-program", none)) != -SD_ENOENT)
        die("spawn of an unknown program = %d, want -ENOENT", r);
    const char *many[SD_ARGS_MAX + 2];
    for (int i = 0; i < SD_ARGS_MAX + 1; i++)
        many[i] = "x";
    many[SD_ARGS_MAX + 1] = NULL;
    if ((r = sys_spawn("exitcode", many)) != -SD_E2BIG)
        die("spawn with %d arguments = %d, want -E2BIG", SD_ARGS_MAX + 1, r);
    static char longarg[SD_ARG_LEN_MAX + 8];
    memset(longarg, 'y', sizeof(longarg) - 1);
    const char *toolong[] = { "exitcode", longarg, NULL };
    r = sys_spawn("exitcode", toolong);
    if (r != -SD_E2BIG && r != -SD_ENAMETOOLONG)
        die("spawn with a %d-byte argument = %d, want -E2BIG", (int)sizeof(longarg) - 1, r);
    if ((r = sys_wait(-1, &status)) != -SD_ECHILD)
        die("a failed spawn left a child: wait = %d", r);

    /* A grandchild: hello via args. */
    const char *hello[] = { "hello", NULL };
    pid = sys_spawn("hello", hello);
    if (pid <= 0 || sys_wait(pid, &status) != pid)
        die("spawn/wait hello failed: %d", pid);
    expect_exit(pid, status, 0);
    puts("spawn: ok");
    return 0;
}
