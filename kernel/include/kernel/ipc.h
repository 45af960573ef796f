/*
 * kernel/ipc.h - microkernel IPC: named endpoints and synchronous messages.
 *
 * An endpoint is a rendezvous point with a name (SD_NAME_MAX bytes with
 * the NUL) and an id.  Nothing is buffered: a send waits until a receiver
 * takes the message, a receive waits until a sender comes, and a call is a
 * send that then waits for the receiver's reply.  The kernel fills in
 * msg->sender (the sender's task id) on receive.  A thread that received a
 * call owes that caller a reply; ipc_reply() answers the call it received
 * last (a new call received before replying to the old one fails the old
 * caller with -SD_EIO, so nobody waits forever).
 *
 * These are the kernel-side operations on kernel buffers; the system calls
 * (kernel/proc/ipc.c) copy the messages from and to user memory around them, and
 * the in-kernel tests call them from kernel threads.
 *
 * Lifetime: an endpoint lives until its owner process exits
 * (ipc_release_owner(), called by the process exit path) or until
 * ipc_endpoint_destroy(); endpoints made by kernel threads (owner NULL) live
 * until destroyed.  The table is static: endpoints use no heap.
 */
#pragma once
#include <stdint.h>
#include <uapi/shootdown.h>

#define IPC_MAX_ENDPOINTS 64

/*
 * A process's part in IPC, embedded in its struct process: the endpoint
 * slots (bit i: endpoints[i]) its exit must visit - those it made an
 * endpoint in, and those through which one of its threads received a call
 * (and so may owe a reply).  Bits are set as that happens and never
 * cleared before the exit, which visits just these slots instead of all
 * IPC_MAX_ENDPOINTS: a process that never used IPC exits without an IPC
 * lock.  Owners are compared by address; only ipc.c reads `slots`.
 */
struct ipc_owner {
    _Atomic uint64_t slots;
};
_Static_assert(IPC_MAX_ENDPOINTS <= 64, "struct ipc_owner has a bit per endpoint slot");

/* An id (> 0), -SD_EEXIST, -SD_EINVAL (empty name), -SD_EAGAIN (table full).
 * owner: the process whose exit destroys it (NULL: nobody's). */
int ipc_endpoint_create(const char *name, struct ipc_owner *owner);
/* An id or -SD_ENOENT. */
int ipc_endpoint_lookup(const char *name);
/* 0 or -SD_EINVAL; tasks waiting on it return -SD_EINVAL. */
int ipc_endpoint_destroy(int ep);
/* Destroy o's endpoints and fail (-SD_ESRCH) the callers waiting for a
 * reply from o's threads.  Called when o's process's last thread has
 * exited (nothing of o changes any more). */
void ipc_release_owner(struct ipc_owner *o);
/* Endpoints alive (for leak checks). */
unsigned ipc_endpoint_count(void);

/* 0 or -SD_EINVAL (bad endpoint, or destroyed while waiting), -SD_ESRCH
 * (the calling thread is being stopped, or the server went away). */
int ipc_send(int ep, const struct sd_ipc_msg *msg);
int ipc_recv(int ep, struct sd_ipc_msg *msg);
int ipc_call(int ep, const struct sd_ipc_msg *req, struct sd_ipc_msg *reply);
/* 0 or -SD_ENOENT: no call waiting for a reply from this thread. */
int ipc_reply(const struct sd_ipc_msg *reply);
/* ipc_reply() then ipc_recv(ep, msg), in one step (a server's loop); a
 * reply whose caller gave up is dropped.  -SD_EINVAL (bad ep) replies to
 * nobody - unless the call answered came through another endpoint and ep
 * was destroyed between the reply and the receive. */
int ipc_reply_recv(int ep, const struct sd_ipc_msg *reply, struct sd_ipc_msg *msg);
