/*
 * fork_stress [cycles]: fork/exit/wait cycles (300 by default), several
 * children at a time.  Each child writes to a page it shares copy-on-write
 * with the parent and checks what it reads; the exit codes must come back
 * and the parent's page keep its values.
 */
#include <ulib.h>

static uint64_t shared[512] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
    prog_name = "fork_stress";
    long cycles = argc > 1 ? atol(argv[1]) : 300;
    int batch = sys_cpu_count() * 2;
    if (batch < 2)
        batch = 2;
    if (batch > 16)
        batch = 16;
    for (int i = 0; i < 512; i++)
        shared[i] = (uint64_t)i * 3;
    long done = 0;
    while (done < cycles) {
        int pids[16], n = 0;
        for (; n < batch && done + n < cycles; n++) {
            int pid = sys_fork();
            if (pid < 0)
                die("fork #%ld: %d", done + n, pid);
            if (pid == 0) {
                int code = (int)((done + n) % 200);
                if (shared[code] != (uint64_t)code * 3)
                    sys_exit(250);
                shared[code] = 0xdead;
                if (shared[code] != 0xdead)
                    sys_exit(251);
                sys_exit(code);
            }
            pids[n] = pid;
        }
        for (int i = 0; i < n; i++) {
            int status;
            int r = sys_wait(pids[i], &status);
            if (r != pids[i] || status != SD_STATUS_EXIT((int)((done + i) % 200)))
                die("wait(%d) = %d status %#x, want exit %d", pids[i], r, status, (int)((done + i) % 200));
        }
        done += n;
    }
    for (int i = 0; i < 512; i++)
        if (shared[i] != (uint64_t)i * 3)
            die("the parent's page changed at %d", i);
    printf("fork_stress: %ld cycles ok\n", done);
    return 0;
}
