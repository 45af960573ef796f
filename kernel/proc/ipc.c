/*
 * kernel/proc/ipc.c - synchronous IPC over named endpoints (see kernel/ipc.h).
 *
 * Everything is guarded by one lock, ipc_lock: the endpoint table, the
 * queues of waiting senders and receivers of each endpoint, and the list of
 * callers waiting for a reply.  IPC is a rendezvous, so each operation does
 * a handful of list moves under it; one lock keeps the protocol easy to
 * check, and it is never held while copying from or to user memory.
 *
 * A blocked thread is described by a struct ipc_waiter on its own kernel
 * stack.  The waiter is on exactly one list while it waits:
 *
 *   QUEUED       on ep->senders (a send or call nobody received yet) or
 *                ep->receivers (a receive nobody sent to yet)
 *   AWAIT_REPLY  on pending_replies: a call whose message was received;
 *                server_tid is the thread that owes the reply
 *   DONE         on no list; result (and *dst) are final
 *
 * Whoever completes a waiter (moves it to DONE) does so under ipc_lock, and
 * in this order: result (and *dst) written, the task woken, and last the
 * store-release of DONE (C1).  DONE is the completer's last touch of the
 * waiter: a waiter that sees it has its answer, and nobody will read its
 * stack frame or wake its task again, so it may return and even exit.
 *
 * Sleeping: a waiter has exactly one sleeper, its own task, so it needs no
 * wait queue.  The sleeper queues itself and marks itself BLOCKED under
 * ipc_lock, checks its state, and calls schedule() once the lock is
 * dropped; the completer's wake_up_task makes it runnable again.  Woken, it
 * first looks at its state without the lock (W1, a load-acquire that pairs
 * with C1): DONE means done, without touching ipc_lock.  Anything else (a
 * wake-up that came before C1, or from kthread_stop) takes the lock and
 * looks again, and under the lock the state is final or the waiter sleeps
 * once more - nobody is between a wake and its DONE while we hold it.
 *
 * Hand-off: a thread that completes a waiter and then sleeps itself (the
 * caller whose message a waiting server took, the server that answered a
 * waiting caller and waits for the next message) completes it on its way
 * to sleep (waiter_sleep's `wake`), and when the woken task sleeps on this
 * CPU it switches straight to it in the same run-queue lock hold
 * (complete_and_sleep; docs/scheduler.md, "Hand-off").
 *
 * This is the round trip's cost: with ipc_call on one side and
 * ipc_reply_recv on the other, a call and its reply are two system calls,
 * two holds of ipc_lock and, on one CPU, two run-queue lock holds (each a
 * wake-up and a switch) - as many switches and run-queue holds as two
 * yields.  Earlier shapes measured (make bench, Bochs; docs/syscalls.md has
 * the table): a wait queue per waiter cost four more lock holds per sleep
 * and made a round trip four times two yields; reply and recv as two
 * system calls, and the woken waiter taking ipc_lock to read its state,
 * made it about three times; a wake-up and a schedule() for each side, two
 * run-queue lock holds each, 2.3 times.
 */
#include <kernel/ipc.h>
#include <kernel/list.h>
#include <kernel/sched.h>
#include <kernel/spinlock.h>
#include <kernel/syscall.h>
#include <kernel/wait.h>
#include <arch/uaccess.h>
#include <lib/string.h>

enum waiter_state { W_QUEUED, W_AWAIT_REPLY, W_DONE };

struct ipc_waiter {
    struct task *task;
    struct list_head link;          /* see the states above; guarded by ipc_lock */
    /* The messages stay in the buffers of the sleeping side's caller (on
     * its stack, alive until it returns, so until DONE): a completer reads
     * a queued sender's from src and writes a receiver's message or a
     * caller's reply into dst - one copy from sender to receiver. */
    const struct sd_ipc_msg *src;   /* QUEUED sender: its message */
    struct sd_ipc_msg *dst;         /* receiver: its message; caller: the reply */
    bool is_call;
    int server_tid;                 /* AWAIT_REPLY: who owes the reply */
    struct process *server_process; /* ... and its process (compared, never followed) */
    _Atomic int state;              /* enum waiter_state; written under ipc_lock */
    int result;                     /* DONE: 0 or -SD_E* */
};

struct endpoint {
    bool used;
    unsigned gen;                   /* bumped on destroy: stale ids stop matching */
    char name[SD_NAME_MAX];
    struct process *owner;          /* NULL: made by a kernel thread */
    struct list_head senders;       /* QUEUED senders and callers, FIFO */
    struct list_head receivers;     /* QUEUED receivers, FIFO */
};

static DEFINE_SPINLOCK(ipc_lock, LOCK_RANK_IPC);
static struct endpoint endpoints[IPC_MAX_ENDPOINTS];
static struct list_head pending_replies = LIST_HEAD_INIT(pending_replies);
static unsigned endpoints_used;

/* Ids are gen * IPC_MAX_ENDPOINTS + slot with gen >= 1, so they are > 0 and
 * a destroyed endpoint's id does not name its slot's next endpoint. */
#define IPC_GEN_MAX (0x7fffffff / IPC_MAX_ENDPOINTS - 1)

static int ep_id(const struct endpoint *ep)
{
    return (int)(ep->gen * IPC_MAX_ENDPOINTS + (unsigned)(ep - endpoints));
}

/* Under ipc_lock. */
static struct endpoint *ep_get(long id)
{
    if (id < IPC_MAX_ENDPOINTS || id > 0x7fffffff)
        return NULL;
    struct endpoint *ep = &endpoints[id % IPC_MAX_ENDPOINTS];
    if (!ep->used || ep->gen != (unsigned)(id / IPC_MAX_ENDPOINTS))
        return NULL;
    return ep;
}

/* A message as delivered: the kernel stamps the sender. */
static void deliver(struct sd_ipc_msg *dst, const struct sd_ipc_msg *src, int sender)
{
    *dst = *src;
    dst->sender = sender;
    dst->reserved = 0;
}

static void waiter_init(struct ipc_waiter *w, const struct sd_ipc_msg *src, struct sd_ipc_msg *dst)
{
    w->task = current_task();
    w->src = src;
    w->dst = dst;
    list_init(&w->link);
    w->is_call = false;
    w->server_tid = 0;
    w->server_process = NULL;
    atomic_init(&w->state, W_QUEUED);
    w->result = 0;
}

/* Under ipc_lock: finish w with result and wake it.  w must be off every
 * list.  The order is the one at the top: DONE last (C1). */
static void waiter_complete(struct ipc_waiter *w, int result)
{
    struct task *t = w->task;
    w->result = result;
    wake_up_task(t);
    atomic_store_explicit(&w->state, W_DONE, memory_order_release);    /* C1 */
}

/*
 * Under ipc_lock, which it drops, with the current task BLOCKED on a
 * waiter of its own: complete `wake` (result 0; NULL: nobody) and sleep.
 * When wake's task sleeps on this CPU, the two become one switch
 * (sched_handoff_prepare, kernel/sched/core.c): its task is made
 * runnable and reserved to run next here, then DONE (C1, the same order
 * as waiter_complete: result, wake-up, DONE last), then the switch goes
 * straight to it - one run-queue lock hold instead of one for the wake-up
 * and one for schedule().  After C1 only wake's task is touched, which the
 * reservation keeps from running (or exiting) anywhere until the switch.
 */
static void complete_and_sleep(struct ipc_waiter *wake)
{
    uint64_t flags;
    struct task *t = wake ? wake->task : NULL;
    if (t && sched_handoff_prepare(t, &flags)) {
        wake->result = 0;
        atomic_store_explicit(&wake->state, W_DONE, memory_order_release);    /* C1 */
        spin_unlock(&ipc_lock);
        sched_handoff_switch(t, flags);
        return;
    }
    if (wake)
        waiter_complete(wake, 0);
    spin_unlock(&ipc_lock);
    schedule();
}

/* Under ipc_lock: server received caller's message and now owes it a
 * reply.  A thread answers only its latest call: an older caller still
 * waiting on it is failed rather than left waiting forever. */
static void take_reply_duty(struct ipc_waiter *caller, struct task *server)
{
    struct list_head *pos, *tmp;
    list_for_each_safe(pos, tmp, &pending_replies) {
        struct ipc_waiter *old = list_entry(pos, struct ipc_waiter, link);
        if (old->server_tid == server->id) {
            list_del(&old->link);
            waiter_complete(old, -SD_EIO);
        }
    }
    atomic_store_explicit(&caller->state, W_AWAIT_REPLY, memory_order_relaxed);
    caller->server_tid = server->id;
    caller->server_process = server->process;
    list_add_tail(&caller->link, &pending_replies);
}

/*
 * Called with ipc_lock held and w queued (or already DONE); sleeps until w
 * is DONE and returns its result, with ipc_lock released.  A thread asked
 * to stop (its process is exiting) gives up its place and returns
 * -SD_ESRCH.  `wake` (or NULL) is a waiter this thread has taken off its
 * list and filled in but not completed: it is completed (result 0) on the
 * way, before the first sleep or the return, and its task is switched to
 * directly when it can be (complete_and_sleep).
 *
 * Lost wake-ups: the task is BLOCKED before it looks at w->state (under
 * ipc_lock) and at should_stop.  A completer finishes w under ipc_lock,
 * which we hold from the look until we are BLOCKED and the lock is
 * dropped: it runs before the look (we see DONE) or after it (its
 * wake_up_task finds us BLOCKED).  kthread_stop() stores should_stop and
 * then wakes the task without ipc_lock: our sequentially consistent
 * BLOCKED store before the load of should_stop pairs with its store before
 * the load of our state in wake_up_task(), so at least one of the two sees
 * the other.  The look without the lock after schedule() (W1) only ends
 * the wait early: what it misses, the look under the lock sees.
 */
static int waiter_sleep(struct ipc_waiter *w, struct ipc_waiter *wake)
{
    int result;
    for (;;) {
        set_current_state(TASK_BLOCKED);
        if (atomic_load_explicit(&w->state, memory_order_relaxed) == W_DONE) {
            result = w->result;
            break;
        }
        if (kthread_should_stop()) {
            list_del(&w->link);
            atomic_store_explicit(&w->state, W_DONE, memory_order_relaxed);
            result = -SD_ESRCH;
            break;
        }
        complete_and_sleep(wake);       /* drops ipc_lock */
        wake = NULL;
        /* W1: pairs with C1 in waiter_complete() and complete_and_sleep(). */
        if (atomic_load_explicit(&w->state, memory_order_acquire) == W_DONE) {
            set_current_state(TASK_RUNNABLE);
            return w->result;
        }
        spin_lock(&ipc_lock);
    }
    if (wake)
        waiter_complete(wake, 0);
    spin_unlock(&ipc_lock);
    set_current_state(TASK_RUNNABLE);
    return result;
}

/* ---- endpoints ---- */

int ipc_endpoint_create(const char *name, struct process *owner)
{
    size_t len = strnlen(name, SD_NAME_MAX);
    if (len == 0 || len >= SD_NAME_MAX)
        return -SD_EINVAL;
    struct endpoint *free_ep = NULL;
    spin_lock(&ipc_lock);
    for (unsigned i = 0; i < IPC_MAX_ENDPOINTS; i++) {
        struct endpoint *ep = &endpoints[i];
        if (ep->used && strcmp(ep->name, name) == 0) {
            spin_unlock(&ipc_lock);
            return -SD_EEXIST;
        }
        if (!ep->used && !free_ep)
            free_ep = ep;
    }
    if (!free_ep) {
        spin_unlock(&ipc_lock);
        return -SD_EAGAIN;
    }
    struct endpoint *ep = free_ep;
    if (ep->gen == 0 || ep->gen >= IPC_GEN_MAX)
        ep->gen = 1;
    ep->used = true;
    memcpy(ep->name, name, len + 1);
    ep->owner = owner;
    list_init(&ep->senders);
    list_init(&ep->receivers);
    endpoints_used++;
    int id = ep_id(ep);
    spin_unlock(&ipc_lock);
    return id;
}

int ipc_endpoint_lookup(const char *name)
{
    int id = -SD_ENOENT;
    spin_lock(&ipc_lock);
    for (unsigned i = 0; i < IPC_MAX_ENDPOINTS; i++) {
        if (endpoints[i].used && strncmp(endpoints[i].name, name, SD_NAME_MAX) == 0) {
            id = ep_id(&endpoints[i]);
            break;
        }
    }
    spin_unlock(&ipc_lock);
    return id;
}

/* Under ipc_lock: free ep; everyone waiting on it gets -SD_EINVAL. */
static void ep_destroy_locked(struct endpoint *ep)
{
    struct list_head *lists[2] = { &ep->senders, &ep->receivers };
    for (int i = 0; i < 2; i++) {
        while (!list_empty(lists[i])) {
            struct ipc_waiter *w = list_first_entry(lists[i], struct ipc_waiter, link);
            list_del(&w->link);
            waiter_complete(w, -SD_EINVAL);
        }
    }
    ep->used = false;
    ep->gen++;
    ep->name[0] = '\0';
    ep->owner = NULL;
    endpoints_used--;
}

int ipc_endpoint_destroy(int id)
{
    spin_lock(&ipc_lock);
    struct endpoint *ep = ep_get(id);
    if (ep)
        ep_destroy_locked(ep);
    spin_unlock(&ipc_lock);
    return ep ? 0 : -SD_EINVAL;
}

void ipc_release_owner(struct process *p)
{
    if (!p)
        return;
    spin_lock(&ipc_lock);
    for (unsigned i = 0; i < IPC_MAX_ENDPOINTS; i++)
        if (endpoints[i].used && endpoints[i].owner == p)
            ep_destroy_locked(&endpoints[i]);
    struct list_head *pos, *tmp;
    list_for_each_safe(pos, tmp, &pending_replies) {
        struct ipc_waiter *w = list_entry(pos, struct ipc_waiter, link);
        if (w->server_process == p) {
            list_del(&w->link);
            waiter_complete(w, -SD_ESRCH);
        }
    }
    spin_unlock(&ipc_lock);
}

unsigned ipc_endpoint_count(void)
{
    spin_lock(&ipc_lock);
    unsigned n = endpoints_used;
    spin_unlock(&ipc_lock);
    return n;
}

/* ---- messages ---- */

static int do_send(int id, const struct sd_ipc_msg *msg, bool call, struct sd_ipc_msg *reply)
{
    struct ipc_waiter w;
    waiter_init(&w, msg, reply);
    w.is_call = call;
    struct ipc_waiter *wake = NULL;

    spin_lock(&ipc_lock);
    struct endpoint *ep = ep_get(id);
    if (!ep) {
        spin_unlock(&ipc_lock);
        return -SD_EINVAL;
    }
    if (!list_empty(&ep->receivers)) {
        /* A receiver is waiting: hand the message over directly. */
        struct ipc_waiter *r = list_first_entry(&ep->receivers, struct ipc_waiter, link);
        list_del(&r->link);
        deliver(r->dst, msg, w.task->id);
        if (!call) {
            waiter_complete(r, 0);
            spin_unlock(&ipc_lock);
            return 0;
        }
        take_reply_duty(&w, r->task);   /* r owes us the reply */
        wake = r;                       /* completed by waiter_sleep, ... */
    } else {
        list_add_tail(&w.link, &ep->senders);
    }
    return waiter_sleep(&w, wake);              /* ... which drops ipc_lock */
}

int ipc_send(int ep, const struct sd_ipc_msg *msg)
{
    return do_send(ep, msg, false, NULL);
}

int ipc_call(int ep, const struct sd_ipc_msg *req, struct sd_ipc_msg *reply)
{
    return do_send(ep, req, true, reply);
}

/*
 * Under ipc_lock, which it drops: take a waiting sender's message, or queue
 * w (a receiver of ep, its dst the buffer for the message) and sleep until
 * one arrives.  `wake` (or NULL): a caller just answered, completed here -
 * on the way to sleep, so that the switch can go straight to it
 * (waiter_sleep).
 */
static int recv_locked(struct endpoint *ep, struct ipc_waiter *w, struct ipc_waiter *wake)
{
    if (!list_empty(&ep->senders)) {
        /* A sender is waiting: take its message. */
        struct ipc_waiter *s = list_first_entry(&ep->senders, struct ipc_waiter, link);
        list_del(&s->link);
        deliver(w->dst, s->src, s->task->id);
        if (s->is_call)
            take_reply_duty(s, current_task());  /* s sleeps on until ipc_reply() */
        else
            waiter_complete(s, 0);
        if (wake)
            waiter_complete(wake, 0);
        spin_unlock(&ipc_lock);
        return 0;
    }
    list_add_tail(&w->link, &ep->receivers);
    return waiter_sleep(w, wake);               /* drops ipc_lock */
}

int ipc_recv(int id, struct sd_ipc_msg *out)
{
    struct ipc_waiter w;
    waiter_init(&w, NULL, out);
    spin_lock(&ipc_lock);
    struct endpoint *ep = ep_get(id);
    if (!ep) {
        spin_unlock(&ipc_lock);
        return -SD_EINVAL;
    }
    return recv_locked(ep, &w, NULL);
}

/* Under ipc_lock: answer the call this thread received last - its waiter,
 * off the list with the reply in it, for the caller to complete (result
 * 0); NULL if no caller waits for its reply (none received, or it gave
 * up). */
static struct ipc_waiter *reply_locked(const struct sd_ipc_msg *reply)
{
    struct task *me = current_task();
    struct list_head *pos;
    list_for_each(pos, &pending_replies) {
        struct ipc_waiter *w = list_entry(pos, struct ipc_waiter, link);
        if (w->server_tid == me->id) {
            list_del(&w->link);
            deliver(w->dst, reply, me->id);
            return w;
        }
    }
    return NULL;
}

int ipc_reply(const struct sd_ipc_msg *reply)
{
    spin_lock(&ipc_lock);
    struct ipc_waiter *w = reply_locked(reply);
    if (w)
        waiter_complete(w, 0);
    spin_unlock(&ipc_lock);
    return w ? 0 : -SD_ENOENT;
}

/*
 * A server's loop in one step, like seL4's ReplyRecv: answer the last call
 * and wait for the next message, in one kernel entry and one hold of
 * ipc_lock.  A reply nobody waits for any more is dropped (its caller gave
 * up: it was asked to stop) and the receive goes on; ipc_reply() is the one
 * that says whether a reply was taken.  With ipc_call on the other side, a
 * round trip is two system calls and two switches, like two yields.
 */
int ipc_reply_recv(int id, const struct sd_ipc_msg *reply, struct sd_ipc_msg *out)
{
    struct ipc_waiter w;
    waiter_init(&w, NULL, out);
    spin_lock(&ipc_lock);
    struct endpoint *ep = ep_get(id);
    if (!ep) {
        spin_unlock(&ipc_lock);
        return -SD_EINVAL;      /* before the reply: a bad call changes nothing */
    }
    return recv_locked(ep, &w, reply_locked(reply));
}

/* ---- system calls: copy the messages across the user boundary ---- */

static long copy_name(char *name, uint64_t uname)
{
    long n = strncpy_from_user(name, (const char *)uname, SD_NAME_MAX);
    if (n == 0)
        return -SD_EINVAL;
    return n < 0 ? n : 0;
}

/* An endpoint id argument: anything that is not an int cannot be one. */
static int ep_arg(uint64_t v)
{
    return v > 0x7fffffff ? 0 : (int)v;
}

/* Output buffers are checked (and cleared) before blocking, so a bad
 * pointer fails at once instead of after a rendezvous. */
static long probe_out(uint64_t umsg)
{
    static const struct sd_ipc_msg zero;
    return copy_to_user((void *)umsg, &zero, sizeof(zero));
}

static long sys_ipc_create(const struct syscall_args *a)
{
    char name[SD_NAME_MAX];
    long r = copy_name(name, a->a[0]);
    if (r < 0)
        return r;
    return ipc_endpoint_create(name, current_task()->process);
}
DEFINE_SYSCALL(SYS_ipc_create, sys_ipc_create);

static long sys_ipc_lookup(const struct syscall_args *a)
{
    char name[SD_NAME_MAX];
    long r = copy_name(name, a->a[0]);
    if (r < 0)
        return r;
    return ipc_endpoint_lookup(name);
}
DEFINE_SYSCALL(SYS_ipc_lookup, sys_ipc_lookup);

static long sys_ipc_send(const struct syscall_args *a)
{
    struct sd_ipc_msg m;
    if (copy_from_user(&m, (const void *)a->a[1], sizeof(m)))
        return -SD_EFAULT;
    return ipc_send(ep_arg(a->a[0]), &m);
}
DEFINE_SYSCALL(SYS_ipc_send, sys_ipc_send);

static long sys_ipc_recv(const struct syscall_args *a)
{
    struct sd_ipc_msg m;
    if (probe_out(a->a[1]))
        return -SD_EFAULT;
    int r = ipc_recv(ep_arg(a->a[0]), &m);
    if (r < 0)
        return r;
    /* The buffer can have been unmapped while we waited: the message is
     * then lost (and a caller keeps waiting for a reply). */
    return copy_to_user((void *)a->a[1], &m, sizeof(m)) ? -SD_EFAULT : 0;
}
DEFINE_SYSCALL(SYS_ipc_recv, sys_ipc_recv);

/* A message in, an operation that may wait, a message out: ipc_call and
 * ipc_reply_recv.  The output buffer is checked before the wait. */
static long message_in_out(int ep, uint64_t uin, uint64_t uout,
                           int (*op)(int, const struct sd_ipc_msg *, struct sd_ipc_msg *))
{
    struct sd_ipc_msg in, out;
    if (copy_from_user(&in, (const void *)uin, sizeof(in)) || probe_out(uout))
        return -SD_EFAULT;
    int r = op(ep, &in, &out);
    if (r < 0)
        return r;
    return copy_to_user((void *)uout, &out, sizeof(out)) ? -SD_EFAULT : 0;
}

static long sys_ipc_call(const struct syscall_args *a)
{
    return message_in_out(ep_arg(a->a[0]), a->a[1], a->a[2], ipc_call);
}
DEFINE_SYSCALL(SYS_ipc_call, sys_ipc_call);

static long sys_ipc_reply(const struct syscall_args *a)
{
    struct sd_ipc_msg m;
    if (copy_from_user(&m, (const void *)a->a[0], sizeof(m)))
        return -SD_EFAULT;
    return ipc_reply(&m);
}
DEFINE_SYSCALL(SYS_ipc_reply, sys_ipc_reply);

static long sys_ipc_reply_recv(const struct syscall_args *a)
{
    return message_in_out(ep_arg(a->a[0]), a->a[1], a->a[2], ipc_reply_recv);
}
DEFINE_SYSCALL(SYS_ipc_reply_recv, sys_ipc_reply_recv);
