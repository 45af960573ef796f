/*
 * ipc_client NAME INDEX COUNT: look endpoint NAME up (waiting until the
 * server has made it) and make COUNT calls, checking every reply word.
 */
#include "ipc_proto.h"

int main(int argc, char **argv)
{
    prog_name = "ipc_client";
    if (argc != 4)
        die("usage: ipc_client NAME INDEX COUNT");
    unsigned index = (unsigned)atol(argv[2]);
    long count = atol(argv[3]);
    int ep = -1;
    for (int tries = 0; tries < 1000 && (ep = sys_ipc_lookup(argv[1])) < 0; tries++)
        sys_sleep(2);
    if (ep < 0)
        die("lookup %s: %d", argv[1], ep);
    /* Spread the clients over the CPUs. */
    pin_to_cpu((int)index + 1);
    int me = sys_gettid();
    for (long seq = 0; seq < count; seq++) {
        struct sd_ipc_msg req, reply;
        make_request(&req, index, (unsigned)seq);
        memset(&reply, 0x5a, sizeof(reply));
        int r = sys_ipc_call(ep, &req, &reply);
        if (r != 0)
            die("client %u call %ld: %d", index, seq, r);
        if (!reply_ok(&reply, &req, me))
            die("client %u call %ld: wrong reply (label %#lx, words[5] %ld, my tid %d)", index, seq,
                (unsigned long)reply.label, (long)reply.words[5], me);
    }
    return 0;
}
