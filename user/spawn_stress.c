/*
 * spawn_stress [cycles]: spawn/exit/wait cycles (200 by default), several
 * children at a time so they spread over the CPUs; every exit code must
 * come back.
 */
#include <ulib.h>

int main(int argc, char **argv)
{
    prog_name = "spawn_stress";
    long cycles = argc > 1 ? atol(argv[1]) : 200;
    int batch = sys_cpu_count() * 2;
    if (batch < 2)
        batch = 2;
    if (batch > 16)
        batch = 16;
    long done = 0;
    while (done < cycles) {
        int pids[16], codes[16], n = 0;
        for (; n < batch && done + n < cycles; n++) {
            char num[16];
            codes[n] = (int)((done + n) % 251);
            snprintf(num, sizeof(num), "%d", codes[n]);
            const char *av[] = { "exitcode", num, NULL };
            pids[n] = sys_spawn("exitcode", av);
            if (pids[n] < 0)
                die("spawn #%ld: %d", done + n, pids[n]);
        }
        for (int i = 0; i < n; i++) {
            int status;
            int r = sys_wait(pids[i], &status);
            if (r != pids[i] || status != SD_STATUS_EXIT(codes[i]))
                die("wait(%d) = %d status %#x, want exit %d", pids[i], r, status, codes[i]);
        }
        done += n;
    }
    printf("spawn_stress: %ld cycles ok\n", done);
    return 0;
}
