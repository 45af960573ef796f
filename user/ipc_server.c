/*
 * ipc_server [CLIENTS [COUNT]]: one server, several client processes.
 *
 * Makes an endpoint, spawns CLIENTS (3) ipc_client processes that make
 * COUNT (200) calls each, answers every call after checking its words and
 * that the kernel named the right sender, and checks that every client saw
 * each of its sequence numbers answered in order.  Exit 0 if all was exact.
 */
#include "ipc_proto.h"

#define MAX_CLIENTS 8

int main(int argc, char **argv)
{
    prog_name = "ipc_server";
    int clients = argc > 1 ? (int)atol(argv[1]) : 3;
    long count = argc > 2 ? atol(argv[2]) : 200;
    if (clients < 1 || clients > MAX_CLIENTS)
        die("1..%d clients", MAX_CLIENTS);
    char name[SD_NAME_MAX], idx[12], cnt[24];
    snprintf(name, sizeof(name), "ipc-server-%d", sys_getpid());
    int ep = sys_ipc_create(name);
    if (ep < 0)
        die("ipc_create(%s): %d", name, ep);
    int r;
    if ((r = sys_ipc_create(name)) != -SD_EEXIST)
        die("second ipc_create(%s) = %d, want -EEXIST", name, r);
    if ((r = sys_ipc_lookup(name)) != ep)
        die("ipc_lookup(%s) = %d, want %d", name, r, ep);
    if ((r = sys_ipc_lookup("no-such-endpoint")) != -SD_ENOENT)
        die("ipc_lookup of an unknown name = %d", r);
    struct sd_ipc_msg nothing = { 0 };
    if ((r = sys_ipc_reply(&nothing)) != -SD_ENOENT)
        die("ipc_reply with no call = %d, want -ENOENT", r);
    if ((r = sys_ipc_send(12345, &nothing)) != -SD_EINVAL)
        die("ipc_send to a bad endpoint = %d, want -EINVAL", r);

    pin_to_cpu(0);
    int pids[MAX_CLIENTS];
    snprintf(cnt, sizeof(cnt), "%ld", count);
    for (int c = 0; c < clients; c++) {
        snprintf(idx, sizeof(idx), "%d", c);
        const char *av[] = { "ipc_client", name, idx, cnt, NULL };
        pids[c] = sys_spawn("ipc_client", av);
        if (pids[c] < 0)
            die("spawn client %d: %d", c, pids[c]);
    }
    long next_seq[MAX_CLIENTS] = { 0 };
    int tid_of[MAX_CLIENTS] = { 0 };
    if ((r = sys_ipc_reply_recv(ep, &nothing, (struct sd_ipc_msg *)8)) != -SD_EFAULT)
        die("ipc_reply_recv into a bad buffer = %d, want -EFAULT", r);
    if ((r = sys_ipc_reply_recv(12345, &nothing, &nothing)) != -SD_EINVAL)
        die("ipc_reply_recv on a bad endpoint = %d, want -EINVAL", r);
    /* Odd calls are answered by ipc_reply_recv (the answer and the next
     * receive in one call), even ones by ipc_reply then ipc_recv. */
    struct sd_ipc_msg req, reply;
    bool replied = true;
    for (long n = 0; n < clients * count; n++) {
        if (replied && (r = sys_ipc_recv(ep, &req)) != 0)
            die("recv: %d", r);
        if (!replied && (r = sys_ipc_reply_recv(ep, &reply, &req)) != 0)
            die("reply_recv: %d", r);
        unsigned c = (unsigned)(req.label >> 32), seq = (unsigned)req.label;
        if (c >= (unsigned)clients || !request_ok(&req))
            die("bad request: label %#lx", (unsigned long)req.label);
        if (seq != next_seq[c])
            die("client %u: seq %u, want %ld", c, seq, next_seq[c]);
        if (tid_of[c] == 0)
            tid_of[c] = req.sender;
        else if (tid_of[c] != req.sender)
            die("client %u: sender %d, before %d", c, req.sender, tid_of[c]);
        next_seq[c]++;
        make_reply(&reply, &req);
        replied = n % 2 == 0 || n == clients * count - 1;
        if (replied && (r = sys_ipc_reply(&reply)) != 0)
            die("reply: %d", r);
    }
    for (int c = 0; c < clients; c++) {
        int status;
        if (sys_wait(pids[c], &status) != pids[c] || status != 0)
            die("client %d ended with status %#x", c, status);
    }
    printf("ipc_server: %d clients x %ld calls ok\n", clients, count);
    return 0;
}
