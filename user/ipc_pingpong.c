/*
 * ipc_pingpong [CPUS [ROUNDS]]: round trips between two processes.
 *
 *   ipc_pingpong 1 2000   both on CPU 0
 *   ipc_pingpong 2 2000   server on CPU 0, client on CPU 1
 *
 * The parent makes an endpoint and serves; it spawns itself as the client
 * ("ipc_pingpong peer NAME CPU ROUNDS"), which makes ROUNDS calls and
 * checks every reply.  Prints one machine-readable line,
 *   ipc_pingpong: cpus=N rounds=R cycles_per_round=C
 * (C from the time-stamp counter; informational) and exits 0 if every reply
 * was right.
 */
#include "ipc_proto.h"

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static int peer(const char *name, int cpu, long rounds)
{
    int ep = -1;
    for (int tries = 0; tries < 1000 && (ep = sys_ipc_lookup(name)) < 0; tries++)
        sys_sleep(2);
    if (ep < 0)
        die("peer: lookup %s: %d", name, ep);
    if (pin_to_cpu(cpu) < 0)
        die("peer: cannot run on CPU %d", cpu);
    int me = sys_gettid();
    for (long i = 0; i < rounds; i++) {
        struct sd_ipc_msg req, reply;
        make_request(&req, 1, (unsigned)i);
        int r = sys_ipc_call(ep, &req, &reply);
        if (r != 0 || !reply_ok(&reply, &req, me))
            die("peer: round %ld: call %d, reply label %#lx", i, r, (unsigned long)reply.label);
    }
    return 0;
}

int main(int argc, char **argv)
{
    prog_name = "ipc_pingpong";
    if (argc == 5 && strcmp(argv[1], "peer") == 0)
        return peer(argv[2], (int)atol(argv[3]), atol(argv[4]));
    int cpus = argc > 1 ? (int)atol(argv[1]) : 2;
    long rounds = argc > 2 ? atol(argv[2]) : 2000;
    if (cpus != 1 && cpus != 2)
        die("CPUS is 1 or 2");
    int ncpu = sys_cpu_count();
    int peer_cpu = cpus == 2 && ncpu >= 2 ? 1 : 0;
    if (pin_to_cpu(0) < 0)
        die("cannot run on CPU 0");

    char name[SD_NAME_MAX], cpu_arg[12], rounds_arg[24];
    snprintf(name, sizeof(name), "pingpong-%d", sys_getpid());
    int ep = sys_ipc_create(name);
    if (ep < 0)
        die("ipc_create: %d", ep);
    snprintf(cpu_arg, sizeof(cpu_arg), "%d", peer_cpu);
    snprintf(rounds_arg, sizeof(rounds_arg), "%ld", rounds);
    const char *av[] = { "ipc_pingpong", "peer", name, cpu_arg, rounds_arg, NULL };
    int pid = sys_spawn("ipc_pingpong", av);
    if (pid < 0)
        die("spawn peer: %d", pid);

    uint64_t start = 0;
    for (long i = 0; i < rounds; i++) {
        struct sd_ipc_msg req, reply;
        int r = sys_ipc_recv(ep, &req);
        if (i == 0)
            start = rdtsc();        /* from the first message: spawn time left out */
        if (r != 0 || req.label != ((uint64_t)1 << 32 | (uint64_t)i) || !request_ok(&req))
            die("round %ld: recv %d, label %#lx", i, r, (unsigned long)req.label);
        make_reply(&reply, &req);
        if ((r = sys_ipc_reply(&reply)) != 0)
            die("round %ld: reply %d", i, r);
    }
    uint64_t cycles = rdtsc() - start;
    int status;
    if (sys_wait(pid, &status) != pid || status != 0)
        die("peer ended with status %#x", status);
    printf("ipc_pingpong: cpus=%d rounds=%ld cycles_per_round=%lu\n", peer_cpu == 0 ? 1 : 2, rounds,
           (unsigned long)(rounds > 1 ? cycles / (uint64_t)(rounds - 1) : cycles));
    return 0;
}
