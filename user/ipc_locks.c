/*
 * ipc_locks NAME CPU ROUNDS NULLS: the user side of tests/test_ipc_locks.c,
 * which counts the spinlocks a user task takes between markers.
 *
 * Two threads of this process, both pinned to CPU, talk through the
 * endpoint NAME (made by the test): the server answers each call and waits
 * for the next in one ipc_reply_recv, the main thread calls.  The phases
 * are separated by a lookup of NAME, which takes the endpoint table's lock
 * and nothing else - the marker the test counts:
 *
 *   lookup   (marker 1)  then setup: the server thread, pinning, warm-up
 *   lookup   (marker 2)  ROUNDS calls, each answered (window A)
 *   lookup   (marker 3)  NULLS getpid and NULLS clock calls (window B)
 *   lookup   (marker 4)  then the server is stopped and joined
 *
 * Every reply is checked; exits 0 when all were right.
 */
#include "ipc_proto.h"

#define STOP_LABEL 0x5709ul
#define WARMUP 8

static int ep;
static int cpu;

static int server(void *arg)
{
    (void)arg;
    if (pin_to_cpu(cpu) < 0)
        return 1;
    struct sd_ipc_msg req, reply;
    if (sys_ipc_recv(ep, &req) < 0)
        return 2;
    while (req.label != STOP_LABEL) {
        make_reply(&reply, &req);
        if (sys_ipc_reply_recv(ep, &reply, &req) < 0)
            return 3;
    }
    make_reply(&reply, &req);
    return sys_ipc_reply(&reply) < 0 ? 4 : 0;
}

static void call(uint64_t seq, int me)
{
    struct sd_ipc_msg req, reply;
    make_request(&req, 1, (unsigned)seq);
    int r = sys_ipc_call(ep, &req, &reply);
    if (r != 0 || !reply_ok(&reply, &req, me))
        die("call %lu: %d, reply label %#lx", (unsigned long)seq, r, (unsigned long)reply.label);
}

static void marker(const char *name)
{
    if (sys_ipc_lookup(name) != ep)
        die("lookup %s no longer finds endpoint %d", name, ep);
}

int main(int argc, char **argv)
{
    prog_name = "ipc_locks";
    if (argc != 5)
        die("usage: ipc_locks NAME CPU ROUNDS NULLS");
    const char *name = argv[1];
    cpu = (int)atol(argv[2]);
    long rounds = atol(argv[3]), nulls = atol(argv[4]);
    ep = sys_ipc_lookup(name);                  /* marker 1 */
    if (ep < 0)
        die("lookup %s: %d", name, ep);
    if (pin_to_cpu(cpu) < 0 || sys_getcpu() != cpu)
        die("cannot run on CPU %d", cpu);
    struct uthread t;
    if (thread_create(&t, server, NULL) < 0)
        die("thread_create");
    int me = sys_gettid();
    for (int i = 0; i < WARMUP; i++)
        call((uint64_t)i, me);

    marker(name);                               /* marker 2: window A */
    for (long i = 0; i < rounds; i++)
        call((uint64_t)(WARMUP + i), me);

    marker(name);                               /* marker 3: window B */
    struct sd_clock c;
    int pid = sys_getpid();
    for (long i = 0; i < nulls; i++) {
        if (sys_getpid() != pid)
            die("getpid changed");
        if (sys_clock(&c) != 0)
            die("clock failed");
    }

    marker(name);                               /* marker 4 */
    struct sd_ipc_msg req, reply;
    memset(&req, 0, sizeof(req));
    req.label = STOP_LABEL;
    if (sys_ipc_call(ep, &req, &reply) != 0 || reply.label != STOP_LABEL + 1)
        die("stop: reply label %#lx", (unsigned long)reply.label);
    int code = -1;
    if (thread_join(&t, &code) < 0 || code != 0)
        die("server thread ended with %d", code);
    return 0;
}
