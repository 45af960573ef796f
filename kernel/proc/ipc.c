/*
 * kernel/proc/ipc.c - synchronous IPC over named endpoints (see kernel/ipc.h).
 *
 * Locks.  Each endpoint has its own lock, ep->lock, on the endpoint's own
 * cache lines: it guards the endpoint's queues of waiting senders and
 * receivers, its list of callers waiting for a reply (ep->pending), and the
 * waiters on them.  Two threads talking through one endpoint share that
 * endpoint's lines and nothing else of IPC; unrelated endpoints on other
 * CPUs never touch each other's lines.  The endpoint table (names, which
 * slots are in use, the count) has its own lock, ipc_table_lock, taken only
 * to create, look up or destroy an endpoint - never to send or receive.
 * Order: ipc_table_lock, then one endpoint lock (destroy); two endpoint
 * locks never nest (kernel/lock_order.h, docs/locking.md).  No IPC lock is
 * held while copying from or to user memory.
 *
 * Lifetime of a slot.  The table is a static array that is never freed, so
 * a slot's lock always exists: the message path maps an id to its slot
 * without any lock, takes the slot's lock, and only then checks that the
 * slot is in use with the id's generation (ep_lock_get).  A slot's `used`,
 * `gen`, `name` and `owner` change only with BOTH locks held (create,
 * destroy), so a holder of either lock reads them stable: the message path
 * under ep->lock, lookups under the table lock (T1).
 *
 * A blocked thread is described by a struct ipc_waiter on its own kernel
 * stack.  Each waiter belongs to one endpoint, w->ep (the one it sends to,
 * calls or receives on), whose lock guards it for its whole wait.  It is
 * on exactly one list of that endpoint while it waits:
 *
 *   QUEUED       on ep->senders (a send or call nobody received yet) or
 *                ep->receivers (a receive nobody sent to yet)
 *   AWAIT_REPLY  on ep->pending: a call whose message was received;
 *                server_tid is the thread that owes the reply
 *   DONE         on no list; result (and *dst) are final
 *
 * Whoever completes a waiter (moves it to DONE) does so under w->ep->lock,
 * and in this order: result (and *dst) written, the task woken, and last
 * the store-release of DONE (C1).  DONE is the completer's last touch of
 * the waiter: a waiter that sees it has its answer, and nobody will read
 * its stack frame or wake its task again, so it may return and even exit.
 *
 * Sleeping: a waiter has exactly one sleeper, its own task, so it needs no
 * wait queue.  The sleeper queues itself and marks itself BLOCKED under
 * w->ep->lock, checks its state, and calls schedule() once the lock is
 * dropped; the completer's wake_up_task makes it runnable again.  Woken, it
 * first looks at its state without the lock (W1, a load-acquire that pairs
 * with C1): DONE means done, without touching the lock.  Anything else (a
 * wake-up that came before C1, or from kthread_stop) takes w->ep->lock and
 * looks again, and under the lock the state is final or the waiter sleeps
 * once more - nobody is between a wake and its DONE while we hold it.
 *
 * Reply duty.  A thread that received a call owes that caller the reply,
 * and answers only its latest call: an older caller still waiting on it is
 * failed with -SD_EIO rather than left waiting forever.  The caller's
 * waiter stays on the pending list of the endpoint it called, under that
 * endpoint's lock; the server remembers in its own task which slot its
 * latest call came from (task->ipc_reply_slot, read and written only by
 * the server itself).  When the new call comes through the same endpoint
 * as the old one, the old caller is failed under that lock as the new one
 * is queued (take_reply_duty).  When it comes through another endpoint,
 * the server fails the old caller itself, in its own context, after its
 * receive returned and the new endpoint's lock was dropped (note_reply_duty):
 * it takes the old endpoint's lock alone, so two endpoint locks never nest.
 * The server is still in the kernel then, so it cannot reply to the old
 * call first, and the old caller waits at most until that moment.  The
 * receiver learns that it received a call from its own waiter (took_call),
 * written by the completer before C1 and read after W1 or under the lock.
 *
 * Hand-off: a thread that completes a waiter and then sleeps itself (the
 * caller whose message a waiting server took, the server that answered a
 * waiting caller and waits for the next message) completes it on its way
 * to sleep (waiter_sleep's `wake`), and when the woken task sleeps on this
 * CPU it switches straight to it in the same run-queue lock hold
 * (complete_and_sleep; docs/scheduler.md, "Hand-off").  Both waiters
 * belong to the endpoint whose lock is held: ipc_reply_recv hands off only
 * when the call it answers came through the endpoint it receives on (a
 * server's loop, the fast path); an answer to a call of another endpoint
 * is completed first under that endpoint's lock, without a hand-off.
 *
 * Exit.  When a process's last thread has exited, its endpoints are
 * destroyed and the callers still waiting for a reply from one of its
 * threads fail with -SD_ESRCH (ipc_release_owner).  Which slots that
 * touches is recorded as it happens (struct ipc_owner, a bit per slot in
 * the process), so an exit takes the locks of those slots only - none for
 * a process that never made an endpoint or received a call, like most
 * forked children.  (Taking every endpoint's lock made each exit cost 64
 * lock rounds; make bench's fork measured it.)
 *
 * This is the round trip's cost: with ipc_call on one side and
 * ipc_reply_recv on the other, a call and its reply are two system calls,
 * two holds of the endpoint's lock and, on one CPU, two run-queue lock
 * holds (each a wake-up and a switch) - as many switches and run-queue
 * holds as two yields, and no other lock (tests/test_ipc_locks.c counts
 * them).  Earlier shapes measured (make bench, Bochs; docs/syscalls.md has
 * the table): a wait queue per waiter cost four more lock holds per sleep
 * and made a round trip four times two yields; reply and recv as two
 * system calls, and the woken waiter taking the (then global) IPC lock to
 * read its state, made it about three times; a wake-up and a schedule()
 * for each side, two run-queue lock holds each, 2.3 times.
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

struct endpoint;

struct ipc_waiter {
    struct task *task;
    struct endpoint *ep;            /* whose lock guards everything below */
    struct list_head link;          /* see the states above */
    /* The messages stay in the buffers of the sleeping side's caller (on
     * its stack, alive until it returns, so until DONE): a completer reads
     * a queued sender's from src and writes a receiver's message or a
     * caller's reply into dst - one copy from sender to receiver. */
    const struct sd_ipc_msg *src;   /* QUEUED sender: its message */
    struct sd_ipc_msg *dst;         /* receiver: its message; caller: the reply */
    bool is_call;
    bool took_call;                 /* receiver: the message was a call, it owes the reply */
    int server_tid;                 /* AWAIT_REPLY: who owes the reply */
    struct ipc_owner *server_owner; /* ... and its process's part (compared, never followed) */
    _Atomic int state;              /* enum waiter_state; written under ep->lock */
    int result;                     /* DONE: 0 or -SD_E* */
};

/*
 * One slot of the table.  Aligned to a cache line, lock first: the lock and
 * the queues a message touches share no line with another endpoint.  The
 * lists are initialized when the slot is first used and stay valid for
 * ever; `pending` outlives a destroy (the callers on it wait for their
 * server's reply, not for the endpoint).
 */
struct endpoint {
    struct spinlock lock;
    unsigned slot;                  /* its index in endpoints[], set with `used` */
    bool used;                      /* T1: written under both locks */
    unsigned gen;                   /* bumped on destroy: stale ids stop matching */
    struct ipc_owner *owner;        /* NULL: made by a kernel thread */
    struct list_head senders;       /* QUEUED senders and callers, FIFO */
    struct list_head receivers;     /* QUEUED receivers, FIFO */
    struct list_head pending;       /* AWAIT_REPLY callers of this endpoint */
    char name[SD_NAME_MAX];
} __cacheline_aligned;

static DEFINE_SPINLOCK(ipc_table_lock, LOCK_RANK_IPC_TABLE);
static struct endpoint endpoints[IPC_MAX_ENDPOINTS] = {
    [0 ... IPC_MAX_ENDPOINTS - 1] = { .lock = SPINLOCK_INIT("endpoint.lock", LOCK_RANK_IPC_ENDPOINT) },
};
static unsigned endpoints_used;         /* under ipc_table_lock */

/* Ids are gen * IPC_MAX_ENDPOINTS + slot with gen >= 1, so they are > 0 and
 * a destroyed endpoint's id does not name its slot's next endpoint. */
#define IPC_GEN_MAX (0x7fffffff / IPC_MAX_ENDPOINTS - 1)

static unsigned ep_slot(const struct endpoint *ep)
{
    return (unsigned)(ep - endpoints);
}

static int ep_id(const struct endpoint *ep)
{
    return (int)(ep->gen * IPC_MAX_ENDPOINTS + ep_slot(ep));
}

/* The slot an id names, or NULL if no id can name one; no lock.  (Past
 * the range check the id is positive: unsigned arithmetic, a mask and a
 * shift instead of a signed division's fix-ups, twice a round trip.) */
static struct endpoint *slot_of(long id)
{
    if (id < IPC_MAX_ENDPOINTS || id > 0x7fffffff)
        return NULL;
    return &endpoints[(unsigned long)id % IPC_MAX_ENDPOINTS];
}

/* Under ep->lock (or ipc_table_lock): does ep hold the endpoint `id` (an
 * id slot_of() accepted)? */
static bool ep_is(const struct endpoint *ep, long id)
{
    return ep->used && ep->gen == (unsigned)((unsigned long)id / IPC_MAX_ENDPOINTS);
}

/* The endpoint `id` with its lock held, or NULL (no lock held). */
static struct endpoint *ep_lock_get(long id)
{
    struct endpoint *ep = slot_of(id);
    if (!ep)
        return NULL;
    spin_lock(&ep->lock);
    if (!ep_is(ep, id)) {
        spin_unlock(&ep->lock);
        return NULL;
    }
    return ep;
}

/* A message as delivered: the kernel stamps the sender. */
static void deliver(struct sd_ipc_msg *dst, const struct sd_ipc_msg *src, int sender)
{
    *dst = *src;
    dst->sender = sender;
    dst->reserved = 0;
}

static void waiter_init(struct ipc_waiter *w, struct endpoint *ep, const struct sd_ipc_msg *src,
                        struct sd_ipc_msg *dst)
{
    w->task = current_task();
    w->ep = ep;
    w->src = src;
    w->dst = dst;
    list_init(&w->link);
    w->is_call = false;
    w->took_call = false;
    w->server_tid = 0;
    w->server_owner = NULL;
    atomic_init(&w->state, W_QUEUED);
    w->result = 0;
}

/* Under w->ep->lock: finish w with result and wake it.  w must be off every
 * list.  The order is the one at the top: DONE last (C1). */
static void waiter_complete(struct ipc_waiter *w, int result)
{
    struct task *t = w->task;
    w->result = result;
    wake_up_task(t);
    atomic_store_explicit(&w->state, W_DONE, memory_order_release);    /* C1 */
}

/*
 * Under ep->lock, which it drops, with the current task BLOCKED on a
 * waiter of ep: complete `wake` (a waiter of ep, result 0; NULL: nobody)
 * and sleep.  When wake's task sleeps on this CPU, the two become one
 * switch (sched_handoff_prepare, kernel/sched/core.c): its task is made
 * runnable and reserved to run next here, then DONE (C1, the same order
 * as waiter_complete: result, wake-up, DONE last), then the switch goes
 * straight to it - one run-queue lock hold instead of one for the wake-up
 * and one for schedule().  After C1 only wake's task is touched, which the
 * reservation keeps from running (or exiting) anywhere until the switch.
 */
static void complete_and_sleep(struct endpoint *ep, struct ipc_waiter *wake)
{
    uint64_t flags;
    struct task *t = wake ? wake->task : NULL;
    if (t && sched_handoff_prepare(t, &flags)) {
        wake->result = 0;
        atomic_store_explicit(&wake->state, W_DONE, memory_order_release);    /* C1 */
        spin_unlock(&ep->lock);
        sched_handoff_switch(t, flags);
        return;
    }
    if (wake)
        waiter_complete(wake, 0);
    spin_unlock(&ep->lock);
    schedule();
}

/* Under ep->lock: fail the callers of ep still waiting for a reply from
 * `server` (its older calls). */
static void fail_old_calls(struct endpoint *ep, const struct task *server)
{
    struct list_head *pos, *tmp;
    list_for_each_safe(pos, tmp, &ep->pending) {
        struct ipc_waiter *old = list_entry(pos, struct ipc_waiter, link);
        if (old->server_tid == server->id) {
            list_del(&old->link);
            waiter_complete(old, -SD_EIO);
        }
    }
}

/*
 * Mark ep's slot as one o's exit must visit (struct ipc_owner).  The bit
 * is tested first: the line is shared by the process's threads and is
 * written once per slot.
 *
 * Ordering: the exit reads the bits after every thread of o's process has
 * exited, and each bit is set by one of its threads, in its own context,
 * before it exits: for an endpoint it made, in ipc_endpoint_create(); for
 * a call it received, in note_reply_duty(), which runs before its receive
 * returns.  Each exit passes process_lock on to the last one, which then
 * reads the bits.
 */
static void owner_note_slot(struct ipc_owner *o, const struct endpoint *ep)
{
    uint64_t bit = 1ull << ep->slot;
    if (o && !(atomic_load_explicit(&o->slots, memory_order_relaxed) & bit))
        atomic_fetch_or_explicit(&o->slots, bit, memory_order_relaxed);
}

/* Under ep->lock: the receiver waiting on `rw` took caller's message and
 * now owes it a reply.  Its older calls through ep fail here; those
 * through another endpoint fail in note_reply_duty(), in the receiver's
 * own context (the header: two endpoint locks never nest). */
static void take_reply_duty(struct endpoint *ep, struct ipc_waiter *caller, struct ipc_waiter *rw)
{
    fail_old_calls(ep, rw->task);
    atomic_store_explicit(&caller->state, W_AWAIT_REPLY, memory_order_relaxed);
    caller->server_tid = rw->task->id;
    caller->server_owner = rw->task->ipc_owner;
    list_add_tail(&caller->link, &ep->pending);
    rw->took_call = true;
}

/*
 * The current task received a call through ep (no IPC lock held): ep's
 * slot is now the one it owes a reply through, and one its process's exit
 * must visit (owner_note_slot).  A call still waiting on it through
 * another endpoint is older (take_reply_duty failed the ones of ep
 * already) and fails now, under that endpoint's lock alone.
 */
static void note_reply_duty(struct endpoint *ep, struct task *me)
{
    unsigned old = me->ipc_reply_slot, now = ep->slot + 1;
    me->ipc_reply_slot = now;
    if (me->ipc_noted_slot != now) {    /* a server's loop: equal, nothing to do */
        me->ipc_noted_slot = now;
        owner_note_slot(me->ipc_owner, ep);
    }
    if (old && old != now) {
        struct endpoint *old_ep = &endpoints[old - 1];
        spin_lock(&old_ep->lock);
        fail_old_calls(old_ep, me);
        spin_unlock(&old_ep->lock);
    }
}

/*
 * Called with w->ep->lock held and w queued (or already DONE); sleeps until
 * w is DONE and returns its result, with the lock released.  A thread asked
 * to stop (its process is exiting) gives up its place and returns
 * -SD_ESRCH.  `wake` (or NULL) is a waiter of the same endpoint this thread
 * has taken off its list and filled in but not completed: it is completed
 * (result 0) on the way, before the first sleep or the return, and its
 * task is switched to directly when it can be (complete_and_sleep).
 *
 * Lost wake-ups: the task is BLOCKED before it looks at w->state (under
 * w->ep->lock) and at should_stop.  A completer finishes w under that same
 * lock (w never changes endpoint), which we hold from the look until we
 * are BLOCKED and the lock is dropped: it runs before the look (we see
 * DONE) or after it (its wake_up_task finds us BLOCKED).  kthread_stop()
 * stores should_stop and then wakes the task without any IPC lock: our
 * sequentially consistent BLOCKED store before the load of should_stop
 * pairs with its store before the load of our state in wake_up_task(), so
 * at least one of the two sees the other.  The look without the lock
 * after schedule() (W1) only ends the wait early: what it misses, the
 * look under the lock sees.
 */
static int waiter_sleep(struct ipc_waiter *w, struct ipc_waiter *wake)
{
    struct endpoint *ep = w->ep;
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
        complete_and_sleep(ep, wake);   /* drops ep->lock */
        wake = NULL;
        /* W1: pairs with C1 in waiter_complete() and complete_and_sleep(). */
        if (atomic_load_explicit(&w->state, memory_order_acquire) == W_DONE) {
            set_current_state(TASK_RUNNABLE);
            return w->result;
        }
        spin_lock(&ep->lock);
    }
    if (wake)
        waiter_complete(wake, 0);
    spin_unlock(&ep->lock);
    set_current_state(TASK_RUNNABLE);
    return result;
}

/* ---- endpoints ---- */

int ipc_endpoint_create(const char *name, struct ipc_owner *owner)
{
    size_t len = strnlen(name, SD_NAME_MAX);
    if (len == 0 || len >= SD_NAME_MAX)
        return -SD_EINVAL;
    struct endpoint *free_ep = NULL;
    spin_lock(&ipc_table_lock);
    for (unsigned i = 0; i < IPC_MAX_ENDPOINTS; i++) {
        struct endpoint *ep = &endpoints[i];
        if (ep->used && strcmp(ep->name, name) == 0) {
            spin_unlock(&ipc_table_lock);
            return -SD_EEXIST;
        }
        if (!ep->used && !free_ep)
            free_ep = ep;
    }
    if (!free_ep) {
        spin_unlock(&ipc_table_lock);
        return -SD_EAGAIN;
    }
    struct endpoint *ep = free_ep;
    spin_lock(&ep->lock);               /* T1: both locks */
    if (!ep->pending.next) {            /* the slot's first use */
        list_init(&ep->senders);
        list_init(&ep->receivers);
        list_init(&ep->pending);
    }
    if (ep->gen == 0 || ep->gen >= IPC_GEN_MAX)
        ep->gen = 1;
    memcpy(ep->name, name, len + 1);
    ep->owner = owner;
    ep->slot = ep_slot(ep);
    owner_note_slot(owner, ep);
    ep->used = true;
    int id = ep_id(ep);
    spin_unlock(&ep->lock);
    endpoints_used++;
    spin_unlock(&ipc_table_lock);
    return id;
}

int ipc_endpoint_lookup(const char *name)
{
    int id = -SD_ENOENT;
    spin_lock(&ipc_table_lock);
    for (unsigned i = 0; i < IPC_MAX_ENDPOINTS; i++) {
        if (endpoints[i].used && strncmp(endpoints[i].name, name, SD_NAME_MAX) == 0) {
            id = ep_id(&endpoints[i]);
            break;
        }
    }
    spin_unlock(&ipc_table_lock);
    return id;
}

/* Under ipc_table_lock and ep->lock: free ep; everyone queued on it gets
 * -SD_EINVAL.  Its pending callers stay: they wait for a server, whose
 * reply finds them through the slot. */
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
    bool found = false;
    spin_lock(&ipc_table_lock);
    struct endpoint *ep = slot_of(id);
    if (ep) {
        spin_lock(&ep->lock);
        found = ep_is(ep, id);
        if (found)
            ep_destroy_locked(ep);
        spin_unlock(&ep->lock);
    }
    spin_unlock(&ipc_table_lock);
    return found ? 0 : -SD_EINVAL;
}

/*
 * Only the slots o's process ever made an endpoint in or received a call
 * through (struct ipc_owner): elsewhere it owns nothing and nobody waits
 * for its reply.  A slot's bit outlives the endpoint in it - a destroyed
 * endpoint's callers still wait on its pending list, and the slot may have
 * been reused - so each slot is judged by what it holds now.  Nothing of
 * o changes meanwhile: its process has no thread left.  The table lock
 * keeps endpoints from being made or destroyed meanwhile; the endpoint
 * locks are taken one at a time under it.
 */
void ipc_release_owner(struct ipc_owner *o)
{
    if (!o)
        return;
    uint64_t slots = atomic_exchange_explicit(&o->slots, 0, memory_order_relaxed);
    if (!slots)
        return;
    spin_lock(&ipc_table_lock);
    for (; slots; slots &= slots - 1) {
        struct endpoint *ep = &endpoints[__builtin_ctzll(slots)];
        spin_lock(&ep->lock);
        if (ep->used && ep->owner == o)
            ep_destroy_locked(ep);
        struct list_head *pos, *tmp;
        list_for_each_safe(pos, tmp, &ep->pending) {
            struct ipc_waiter *w = list_entry(pos, struct ipc_waiter, link);
            if (w->server_owner == o) {
                list_del(&w->link);
                waiter_complete(w, -SD_ESRCH);
            }
        }
        spin_unlock(&ep->lock);
    }
    spin_unlock(&ipc_table_lock);
}

unsigned ipc_endpoint_count(void)
{
    spin_lock(&ipc_table_lock);
    unsigned n = endpoints_used;
    spin_unlock(&ipc_table_lock);
    return n;
}

/* ---- messages ---- */

static int do_send(int id, const struct sd_ipc_msg *msg, bool call, struct sd_ipc_msg *reply)
{
    struct endpoint *ep = ep_lock_get(id);
    if (!ep)
        return -SD_EINVAL;
    struct ipc_waiter w;
    waiter_init(&w, ep, msg, reply);
    w.is_call = call;
    struct ipc_waiter *wake = NULL;

    if (!list_empty(&ep->receivers)) {
        /* A receiver is waiting: hand the message over directly. */
        struct ipc_waiter *r = list_first_entry(&ep->receivers, struct ipc_waiter, link);
        list_del(&r->link);
        deliver(r->dst, msg, w.task->id);
        if (!call) {
            waiter_complete(r, 0);
            spin_unlock(&ep->lock);
            return 0;
        }
        take_reply_duty(ep, &w, r);     /* r owes us the reply */
        wake = r;                       /* completed by waiter_sleep, ... */
    } else {
        list_add_tail(&w.link, &ep->senders);
    }
    return waiter_sleep(&w, wake);      /* ... which drops ep->lock */
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
 * Under ep->lock, which it drops: take a waiting sender's message, or queue
 * w (a receiver of ep, its dst the buffer for the message) and sleep until
 * one arrives.  `wake` (or NULL): a caller of ep just answered, completed
 * here - on the way to sleep, so that the switch can go straight to it
 * (waiter_sleep).  A call received makes this thread owe its reply
 * (note_reply_duty, once the lock is dropped).
 */
static int recv_locked(struct endpoint *ep, struct ipc_waiter *w, struct ipc_waiter *wake)
{
    int r = 0;
    if (!list_empty(&ep->senders)) {
        /* A sender is waiting: take its message. */
        struct ipc_waiter *s = list_first_entry(&ep->senders, struct ipc_waiter, link);
        list_del(&s->link);
        deliver(w->dst, s->src, s->task->id);
        if (s->is_call)
            take_reply_duty(ep, s, w);  /* s sleeps on until the reply */
        else
            waiter_complete(s, 0);
        if (wake)
            waiter_complete(wake, 0);
        spin_unlock(&ep->lock);
    } else {
        list_add_tail(&w->link, &ep->receivers);
        r = waiter_sleep(w, wake);      /* drops ep->lock */
    }
    if (r == 0 && w->took_call)
        note_reply_duty(ep, w->task);
    return r;
}

int ipc_recv(int id, struct sd_ipc_msg *out)
{
    struct endpoint *ep = ep_lock_get(id);
    if (!ep)
        return -SD_EINVAL;
    struct ipc_waiter w;
    waiter_init(&w, ep, NULL, out);
    return recv_locked(ep, &w, NULL);
}

/* Under ep->lock, ep being the endpoint the current thread's latest call
 * came through: answer that call - its waiter, off the list with the reply
 * in it, for the caller to complete (result 0); NULL if no caller waits
 * for its reply (it gave up, or was failed). */
static struct ipc_waiter *reply_locked(struct endpoint *ep, const struct task *me,
                                       const struct sd_ipc_msg *reply)
{
    struct list_head *pos;
    list_for_each(pos, &ep->pending) {
        struct ipc_waiter *w = list_entry(pos, struct ipc_waiter, link);
        if (w->server_tid == me->id) {
            list_del(&w->link);
            deliver(w->dst, reply, me->id);
            return w;
        }
    }
    return NULL;
}

/* The endpoint whose call `me` (the current thread) owes a reply, taken
 * off the thread (a reply is given once), or NULL. */
static struct endpoint *take_reply_slot(struct task *me)
{
    unsigned slot = me->ipc_reply_slot;
    me->ipc_reply_slot = 0;
    return slot ? &endpoints[slot - 1] : NULL;
}

int ipc_reply(const struct sd_ipc_msg *reply)
{
    struct task *me = current_task();
    struct endpoint *ep = take_reply_slot(me);
    if (!ep)
        return -SD_ENOENT;
    spin_lock(&ep->lock);
    struct ipc_waiter *w = reply_locked(ep, me, reply);
    if (w)
        waiter_complete(w, 0);
    spin_unlock(&ep->lock);
    return w ? 0 : -SD_ENOENT;
}

/*
 * A server's loop in one step, like seL4's ReplyRecv: answer the last call
 * and wait for the next message, in one kernel entry.  A reply nobody
 * waits for any more is dropped (its caller gave up: it was asked to stop)
 * and the receive goes on; ipc_reply() is the one that says whether a
 * reply was taken.  With ipc_call on the other side, a round trip is two
 * system calls and two switches, like two yields.
 *
 * The fast path - the call being answered came through `id` itself - is
 * one hold of that endpoint's lock, and the caller is switched to
 * directly.  Otherwise the reply goes first, under the lock of the
 * endpoint it is owed through, and then the receive; -SD_EINVAL (id names
 * no endpoint) before the reply changes nothing, but an endpoint destroyed
 * between the reply and the receive returns -SD_EINVAL with the reply
 * given.
 */
int ipc_reply_recv(int id, const struct sd_ipc_msg *reply, struct sd_ipc_msg *out)
{
    struct endpoint *ep = ep_lock_get(id);
    if (!ep)
        return -SD_EINVAL;      /* before the reply: a bad call changes nothing */
    struct ipc_waiter w;
    waiter_init(&w, ep, NULL, out);
    struct task *me = w.task;
    if (me->ipc_reply_slot == ep->slot + 1) {
        me->ipc_reply_slot = 0;         /* take_reply_slot(), inline */
        return recv_locked(ep, &w, reply_locked(ep, me, reply));
    }
    spin_unlock(&ep->lock);
    ipc_reply(reply);
    ep = ep_lock_get(id);
    if (!ep)
        return -SD_EINVAL;
    return recv_locked(ep, &w, NULL);
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
    return ipc_endpoint_create(name, current_task()->ipc_owner);
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
