/*
 * tests/test_ipc.c - the IPC core (kernel/ipc.h) driven by kernel threads:
 * endpoint names and ids, send/receive rendezvous, call/reply with exact
 * contents from several clients on every CPU, waiters failed when their
 * endpoint goes away, and the hand-off (a call and a reply on one CPU
 * switch straight to the other side, and the pair still yields the CPU to
 * others).  Ring 3 and the system-call copies are covered by the
 * user programs (tests/test_user_ipc.c).
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/ipc.h>
#include <kernel/wait.h>
#include <kernel/sched.h>
#include <kernel/cpumask.h>
#include <kernel/debug/counters.h>
#include <lib/string.h>
#include <stdatomic.h>

static void test_endpoint_names(struct ktest *t)
{
    unsigned before = ipc_endpoint_count();
    int a = ipc_endpoint_create("ktest-a", NULL);
    ASSERT_GT(t, a, 0);
    EXPECT_EQ(t, ipc_endpoint_create("ktest-a", NULL), -SD_EEXIST);
    EXPECT_EQ(t, ipc_endpoint_create("", NULL), -SD_EINVAL);
    EXPECT_EQ(t, ipc_endpoint_lookup("ktest-a"), a);
    EXPECT_EQ(t, ipc_endpoint_lookup("ktest-b"), -SD_ENOENT);
    EXPECT_EQ(t, ipc_endpoint_count(), before + 1);
    EXPECT_EQ(t, ipc_endpoint_destroy(a), 0);
    EXPECT_EQ(t, ipc_endpoint_destroy(a), -SD_EINVAL);
    EXPECT_EQ(t, ipc_endpoint_lookup("ktest-a"), -SD_ENOENT);

    /* A stale id does not name the slot's next endpoint. */
    int b = ipc_endpoint_create("ktest-a", NULL);
    ASSERT_GT(t, b, 0);
    EXPECT_NE(t, a, b);
    struct sd_ipc_msg m = { .label = 1 };
    EXPECT_EQ(t, ipc_send(a, &m), -SD_EINVAL);
    EXPECT_EQ(t, ipc_recv(a, &m), -SD_EINVAL);
    EXPECT_EQ(t, ipc_send(0, &m), -SD_EINVAL);
    EXPECT_EQ(t, ipc_send(-5, &m), -SD_EINVAL);
    EXPECT_EQ(t, ipc_reply(&m), -SD_ENOENT);     /* no call received */
    EXPECT_EQ(t, ipc_endpoint_destroy(b), 0);

    /* The table fills up and says so. */
    int ids[IPC_MAX_ENDPOINTS];
    unsigned made = 0;
    for (unsigned i = 0; i < IPC_MAX_ENDPOINTS; i++) {
        char name[16] = "ktest-fill-";
        name[11] = (char)('A' + i / 26);
        name[12] = (char)('a' + i % 26);
        int id = ipc_endpoint_create(name, NULL);
        if (id < 0) {
            EXPECT_EQ(t, id, -SD_EAGAIN);
            break;
        }
        ids[made++] = id;
    }
    EXPECT_EQ(t, made, IPC_MAX_ENDPOINTS - before);
    for (unsigned i = 0; i < made; i++)
        EXPECT_EQ(t, ipc_endpoint_destroy(ids[i]), 0);
    EXPECT_EQ(t, ipc_endpoint_count(), before);
}

/* ---- send / receive ---- */

#define SEND_ROUNDS 500

static int ktest_ep;

static void sender(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < SEND_ROUNDS; i++) {
        struct sd_ipc_msg m = { .label = i };
        for (int w = 0; w < 6; w++)
            m.words[w] = (uint64_t)i * 7 + (uint64_t)w;
        if (ipc_send(ktest_ep, &m) != 0)
            kthread_exit(1);
    }
    kthread_exit(0);
}

static void test_send_recv(struct ktest *t)
{
    ktest_ep = ipc_endpoint_create("ktest-send", NULL);
    ASSERT_GT(t, ktest_ep, 0);
    struct task *th = kthread_create(sender, NULL, "ipc_sender");
    ASSERT_TRUE(t, th != NULL);
    kthread_bind(th, last_online_cpu());
    int tid = th->id;
    kthread_start(th);
    unsigned bad = 0;
    for (unsigned i = 0; i < SEND_ROUNDS; i++) {
        struct sd_ipc_msg m;
        memset(&m, 0xa5, sizeof(m));
        if (ipc_recv(ktest_ep, &m) != 0 || m.label != i || m.sender != tid) {
            bad++;
            continue;
        }
        for (int w = 0; w < 6; w++)
            if (m.words[w] != (uint64_t)i * 7 + (uint64_t)w)
                bad++;
    }
    EXPECT_EQ(t, kthread_join(th), 0);
    EXPECT_EQ(t, bad, 0u);
    EXPECT_EQ(t, ipc_endpoint_destroy(ktest_ep), 0);
}

/* ---- call / reply: one server, a client on every CPU ---- */

#define CALL_ROUNDS 200
#define LABEL_STOP 0xdead

/* The reply: names the caller and echoes the words reversed. */
static struct sd_ipc_msg answer(const struct sd_ipc_msg *m)
{
    struct sd_ipc_msg r = { .label = m->label + 1 };
    for (int w = 0; w < 6; w++)
        r.words[w] = m->words[5 - w];
    r.words[0] ^= (uint64_t)m->sender << 32;
    return r;
}

static void server(void *arg)
{
    int ep = (int)(uintptr_t)arg;
    for (;;) {
        struct sd_ipc_msg m;
        if (ipc_recv(ep, &m) != 0)
            kthread_exit(1);
        struct sd_ipc_msg r = answer(&m);
        if (ipc_reply(&r) != 0)
            kthread_exit(2);
        if (m.label == LABEL_STOP)
            kthread_exit(0);
    }
}

/* The same server as one loop of ipc_reply_recv.  Its first call has
 * nobody to answer (the reply is dropped, the receive goes on); on the
 * first message a reply_recv on a bad endpoint must fail and leave the
 * call unanswered, so that the next one answers it. */
static void server_reply_recv(void *arg)
{
    int ep = (int)(uintptr_t)arg;
    struct sd_ipc_msg m, r = { .label = 0 };
    if (ipc_reply_recv(ep, &r, &m) != 0)
        kthread_exit(1);
    r = answer(&m);
    struct sd_ipc_msg none;
    if (ipc_reply_recv(0, &r, &none) != -SD_EINVAL)
        kthread_exit(3);
    while (m.label != LABEL_STOP) {
        r = answer(&m);
        if (ipc_reply_recv(ep, &r, &m) != 0)
            kthread_exit(2);
    }
    r = answer(&m);
    kthread_exit(ipc_reply(&r) == 0 ? 0 : 4);
}

struct client_arg {
    int ep;
    unsigned index;
    _Atomic unsigned *bad;
};

static void client(void *arg)
{
    struct client_arg *c = arg;
    int me = current_task()->id;
    for (unsigned i = 0; i < CALL_ROUNDS; i++) {
        struct sd_ipc_msg q = { .label = (uint64_t)c->index << 20 | i }, r;
        for (int w = 0; w < 6; w++)
            q.words[w] = ((uint64_t)c->index << 40) | ((uint64_t)i << 8) | (uint64_t)w;
        if (ipc_call(c->ep, &q, &r) != 0 || r.label != q.label + 1) {
            atomic_fetch_add(c->bad, 1);
            continue;
        }
        for (int w = 0; w < 6; w++) {
            uint64_t want = q.words[5 - w] ^ (w == 0 ? (uint64_t)me << 32 : 0);
            if (r.words[w] != want)
                atomic_fetch_add(c->bad, 1);
        }
    }
}

/* A client thread (not started yet) calling ep from cpu; NULL if none. */
static struct task *make_client(struct client_arg *a, int ep, unsigned index, _Atomic unsigned *bad,
                                unsigned cpu)
{
    *a = (struct client_arg){ .ep = ep, .index = index, .bad = bad };
    struct task *th = kthread_create(client, a, "ipc_client");
    if (th)
        kthread_bind(th, cpu);
    return th;
}

static void run_call_reply(struct ktest *t, void (*serve)(void *))
{
    int ep = ipc_endpoint_create("ktest-call", NULL);
    ASSERT_GT(t, ep, 0);
    struct task *srv = kthread_create(serve, (void *)(uintptr_t)ep, "ipc_server");
    ASSERT_TRUE(t, srv != NULL);
    kthread_bind(srv, 0);
    kthread_start(srv);

    static struct client_arg args[8];
    struct task *clients[8];
    _Atomic unsigned bad = 0;
    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        if (n == 8)
            break;
        clients[n] = make_client(&args[n], ep, n, &bad, cpu);
        ASSERT_TRUE(t, clients[n] != NULL);
        kthread_start(clients[n]);
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        kthread_join(clients[i]);
    struct sd_ipc_msg stop = { .label = LABEL_STOP }, r;
    EXPECT_EQ(t, ipc_call(ep, &stop, &r), 0);
    EXPECT_EQ(t, r.label, (uint64_t)LABEL_STOP + 1);
    EXPECT_EQ(t, kthread_join(srv), 0);
    EXPECT_EQ(t, atomic_load(&bad), 0u);
    EXPECT_EQ(t, ipc_endpoint_destroy(ep), 0);
}

static void test_call_reply(struct ktest *t)
{
    run_call_reply(t, server);
}

/* A server looping on ipc_reply_recv answers every call exactly like one
 * that receives and replies in two steps. */
static void test_call_reply_recv(struct ktest *t)
{
    run_call_reply(t, server_reply_recv);
}

/* ---- waiters on a destroyed endpoint are released ---- */

static _Atomic int blocked_result;
static _Atomic bool blocked_started;

static void blocked_receiver(void *arg)
{
    struct sd_ipc_msg m;
    atomic_store(&blocked_started, true);
    atomic_store(&blocked_result, ipc_recv((int)(uintptr_t)arg, &m));
}

static void blocked_caller(void *arg)
{
    struct sd_ipc_msg q = { .label = 3 }, r;
    atomic_store(&blocked_started, true);
    atomic_store(&blocked_result, ipc_call((int)(uintptr_t)arg, &q, &r));
}

/* How the endpoint goes away: ipc_endpoint_destroy, or its owner ends. */
static struct ipc_owner fake_owner;     /* a process's part, without the process */

static void run_destroy_case(struct ktest *t, void (*fn)(void *), bool by_owner)
{
    struct ipc_owner *owner = by_owner ? &fake_owner : NULL;
    int ep = ipc_endpoint_create("ktest-gone", owner);
    ASSERT_GT(t, ep, 0);
    atomic_store(&blocked_started, false);
    atomic_store(&blocked_result, 1);
    struct task *th = kthread_run(fn, (void *)(uintptr_t)ep, "ipc_blocked");
    ASSERT_TRUE(t, th != NULL);
    while (!atomic_load(&blocked_started))
        yield();
    msleep(20);                     /* let it block (the result holds either way) */
    if (by_owner)
        ipc_release_owner(owner);
    else
        EXPECT_EQ(t, ipc_endpoint_destroy(ep), 0);
    kthread_join(th);
    EXPECT_EQ(t, atomic_load(&blocked_result), -SD_EINVAL);
    EXPECT_EQ(t, ipc_endpoint_lookup("ktest-gone"), -SD_ENOENT);
}

static void test_destroy_wakes_waiters(struct ktest *t)
{
    run_destroy_case(t, blocked_receiver, false);
    run_destroy_case(t, blocked_caller, false);
    run_destroy_case(t, blocked_receiver, true);
    run_destroy_case(t, blocked_caller, true);
}

/* ---- a waiting receiver sleeps ----
 * A thread in ipc_recv with nobody sending is BLOCKED and off its CPU, and
 * nothing switches to it until a message comes: it sleeps, it does not
 * spin through schedule().  Counted by its switches_in, not timed. */
static void test_waiter_sleeps(struct ktest *t)
{
    int ep = ipc_endpoint_create("ktest-sleep", NULL);
    ASSERT_GT(t, ep, 0);
    atomic_store(&blocked_started, false);
    atomic_store(&blocked_result, 1);
    struct task *th = kthread_run(blocked_receiver, (void *)(uintptr_t)ep, "ipc_sleeper");
    ASSERT_TRUE(t, th != NULL);
    bool asleep = false;
    for (int i = 0; i < 2000 && !asleep; i++) {
        msleep(1);
        asleep = atomic_load(&blocked_started) && atomic_load(&th->state) == TASK_BLOCKED &&
                 !atomic_load(&th->on_cpu);
    }
    EXPECT_TRUE(t, asleep);
    uint64_t switches = READ_ONCE(th->switches_in);
    msleep(20);
    uint64_t switches_after = READ_ONCE(th->switches_in);
    int state_after = atomic_load(&th->state);
    EXPECT_EQ(t, switches_after, switches);
    EXPECT_EQ(t, state_after, TASK_BLOCKED);
    struct sd_ipc_msg m = { .label = 5 };
    EXPECT_EQ(t, ipc_send(ep, &m), 0);
    kthread_join(th);
    EXPECT_EQ(t, atomic_load(&blocked_result), 0);
    EXPECT_EQ(t, ipc_endpoint_destroy(ep), 0);
}

/*
 * One server for two endpoints, answering each call with the next
 * ipc_reply_recv on the OTHER endpoint: every answer takes the slow path
 * (the reply under one endpoint's lock, then the receive under the
 * other's), while a client per endpoint on every CPU calls at once.  The
 * server takes calls from the two in turn, so each endpoint gets the same
 * number: two clients per CPU, one per endpoint.
 */
struct two_eps {
    int ep[2];
    unsigned calls;             /* per endpoint */
};

static void server_two_endpoints(void *arg)
{
    struct two_eps *e = arg;
    struct sd_ipc_msg m, r = { .label = 0 };
    if (ipc_recv(e->ep[0], &m) != 0)
        kthread_exit(1);
    for (unsigned k = 1; k < 2 * e->calls; k++) {
        r = answer(&m);
        if (ipc_reply_recv(e->ep[k % 2], &r, &m) != 0)
            kthread_exit(2);
    }
    r = answer(&m);
    kthread_exit(ipc_reply(&r) == 0 ? 0 : 3);
}

static void test_reply_recv_two_endpoints(struct ktest *t)
{
    static struct two_eps e;
    e.ep[0] = ipc_endpoint_create("ktest-two-0", NULL);
    e.ep[1] = ipc_endpoint_create("ktest-two-1", NULL);
    ASSERT_GT(t, e.ep[0], 0);
    ASSERT_GT(t, e.ep[1], 0);
    static struct client_arg args[8];
    struct task *clients[8];
    _Atomic unsigned bad = 0;
    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        if (n == 8)
            break;
        for (unsigned side = 0; side < 2; side++, n++) {
            clients[n] = make_client(&args[n], e.ep[side], n, &bad, cpu);
            ASSERT_TRUE(t, clients[n] != NULL);
        }
    }
    e.calls = n / 2 * CALL_ROUNDS;
    struct task *srv = kthread_create(server_two_endpoints, &e, "ipc_server");
    ASSERT_TRUE(t, srv != NULL);
    kthread_bind(srv, 0);
    kthread_start(srv);
    for (unsigned i = 0; i < n; i++)
        kthread_start(clients[i]);
    for (unsigned i = 0; i < n; i++)
        kthread_join(clients[i]);
    EXPECT_EQ(t, kthread_join(srv), 0);
    EXPECT_EQ(t, atomic_load(&bad), 0u);
    EXPECT_EQ(t, ipc_endpoint_destroy(e.ep[0]), 0);
    EXPECT_EQ(t, ipc_endpoint_destroy(e.ep[1]), 0);
}

/* ---- a thread answers only its latest call ---- */

/* One call, its result and reply kept for the test. */
struct one_call {
    int ep;
    uint64_t label;
    _Atomic int result;
    _Atomic uint64_t reply_label;
};

static void one_caller(void *arg)
{
    struct one_call *c = arg;
    struct sd_ipc_msg q = { .label = c->label }, r = { .label = 0 };
    int res = ipc_call(c->ep, &q, &r);
    atomic_store(&c->reply_label, r.label);
    atomic_store(&c->result, res);
}

static int result_of(struct one_call *c)
{
    return atomic_load(&c->result);
}

static uint64_t reply_of(struct one_call *c)
{
    return atomic_load(&c->reply_label);
}

static struct task *start_caller(struct one_call *c, int ep, uint64_t label)
{
    c->ep = ep;
    c->label = label;
    atomic_store(&c->result, 1);        /* not a result: still waiting */
    atomic_store(&c->reply_label, 0);
    struct task *th = kthread_create(one_caller, c, "ipc_caller");
    if (th) {
        kthread_bind(th, last_online_cpu());
        kthread_start(th);
    }
    return th;
}

/*
 * The test thread serves.  A call received makes the older unanswered one
 * fail with -SD_EIO - through the same endpoint (failed under its lock as
 * the new call is queued) and through another one (failed by the server
 * itself once its receive returns: the two endpoint locks never nest).
 * ipc_reply_recv then answers a call of another endpoint before it
 * receives (the slow path, without a hand-off).
 */
/* Start a caller of ep with label and take its call here (this thread
 * then owes it the reply); NULL if either failed. */
static struct task *take_call(struct ktest *t, struct one_call *c, int ep, uint64_t label)
{
    struct sd_ipc_msg m;
    struct task *th = start_caller(c, ep, label);
    EXPECT_TRUE(t, th != NULL);
    if (!th)
        return NULL;
    EXPECT_EQ(t, ipc_recv(ep, &m), 0);
    EXPECT_EQ(t, m.label, label);
    return th;
}

static void test_latest_call_only(struct ktest *t)
{
    int e1 = ipc_endpoint_create("ktest-latest-1", NULL);
    int e2 = ipc_endpoint_create("ktest-latest-2", NULL);
    ASSERT_GT(t, e1, 0);
    ASSERT_GT(t, e2, 0);
    static struct one_call a, b, c, d;
    struct sd_ipc_msg m, r;

    /* Another endpoint: a (through e1) fails when b (through e2) is taken. */
    struct task *ta = take_call(t, &a, e1, 0xa0);
    ASSERT_TRUE(t, ta != NULL);
    struct task *tb = take_call(t, &b, e2, 0xb0);
    ASSERT_TRUE(t, tb != NULL);
    /* a was failed before that receive returned: stopping it now changes
     * nothing.  (Were it still waiting, the stop would end it with
     * -SD_ESRCH instead of leaving this test hanging.) */
    kthread_stop(ta);
    EXPECT_EQ(t, result_of(&a), -SD_EIO);

    /* The same endpoint: b fails when c (through e2 too) is taken. */
    struct task *tc = take_call(t, &c, e2, 0xc0);
    ASSERT_TRUE(t, tc != NULL);
    kthread_stop(tb);
    EXPECT_EQ(t, result_of(&b), -SD_EIO);

    /* reply_recv on e1 answers c (a call of e2), then receives d on e1. */
    struct task *td = start_caller(&d, e1, 0xd0);
    ASSERT_TRUE(t, td != NULL);
    r = (struct sd_ipc_msg){ .label = 0xc1 };
    ASSERT_EQ(t, ipc_reply_recv(e1, &r, &m), 0);
    EXPECT_EQ(t, m.label, 0xd0u);
    kthread_join(tc);
    EXPECT_EQ(t, result_of(&c), 0);
    EXPECT_EQ(t, reply_of(&c), 0xc1u);

    /* d is the one owed now; answered once. */
    r = (struct sd_ipc_msg){ .label = 0xd1 };
    EXPECT_EQ(t, ipc_reply(&r), 0);
    kthread_join(td);
    EXPECT_EQ(t, result_of(&d), 0);
    EXPECT_EQ(t, reply_of(&d), 0xd1u);
    EXPECT_EQ(t, ipc_reply(&r), -SD_ENOENT);
    EXPECT_EQ(t, ipc_endpoint_destroy(e1), 0);
    EXPECT_EQ(t, ipc_endpoint_destroy(e2), 0);
}

/* ---- the hand-off (sched_handoff_*, docs/scheduler.md) ---- */

DECLARE_COUNTER(switch, handoff);

static uint64_t handoffs_on(unsigned cpu)
{
    return counter_read_cpu(&counter_desc__switch__handoff, cpu);
}

/* A client and a server bound to one CPU: a call finds the server asleep
 * in ipc_reply_recv and a reply finds the client asleep in ipc_call, both
 * on this CPU, so each can switch straight to the other - two hand-offs a
 * round trip.  One is refused only when a reschedule is pending (the tick
 * ended the pair's slice, the balancer pulled a task) or the other side was
 * preempted before it slept; at least one a round is a wide margin. */
static void test_handoff_one_cpu(struct ktest *t)
{
    unsigned cpu = last_online_cpu();
    int ep = ipc_endpoint_create("ktest-handoff", NULL);
    ASSERT_GT(t, ep, 0);
    struct task *srv = kthread_create(server_reply_recv, (void *)(uintptr_t)ep, "ipc_server");
    ASSERT_TRUE(t, srv != NULL);
    kthread_bind(srv, cpu);
    static struct client_arg arg;
    _Atomic unsigned bad = 0;
    arg = (struct client_arg){ .ep = ep, .index = 0, .bad = &bad };
    struct task *cl = kthread_create(client, &arg, "ipc_client");
    ASSERT_TRUE(t, cl != NULL);
    kthread_bind(cl, cpu);
    uint64_t before = handoffs_on(cpu);
    kthread_start(srv);
    kthread_start(cl);
    kthread_join(cl);
    uint64_t handoffs = handoffs_on(cpu) - before;
    struct sd_ipc_msg stop = { .label = LABEL_STOP }, r;
    EXPECT_EQ(t, ipc_call(ep, &stop, &r), 0);
    EXPECT_EQ(t, kthread_join(srv), 0);
    EXPECT_EQ(t, atomic_load(&bad), 0u);
    ktest_log("%llu hand-offs in %u round trips on cpu%u", (unsigned long long)handoffs,
              CALL_ROUNDS, cpu);
    EXPECT_GE(t, handoffs, (uint64_t)CALL_ROUNDS);
    EXPECT_EQ(t, ipc_endpoint_destroy(ep), 0);
}

/*
 * The woken side jumps the queue, so it must not get a fresh time slice:
 * then a pair handing the CPU back and forth would never use one up and
 * would keep a third task of that CPU off it for as long as it talks.  With
 * the slice handed on, the pair's shared slice ends after 1 + priority
 * ticks and the tick preempts it.  The client calls until a task started on
 * its CPU has run; FAIR_LIMIT round trips are many slices' worth (a few
 * hundred to a few thousand fit in one, under QEMU and Bochs alike).
 */
#define FAIR_LIMIT 200000u

static _Atomic bool third_ran;
static _Atomic unsigned fair_rounds;

static void third_task(void *arg)
{
    (void)arg;
    atomic_store(&third_ran, true);
}

static void fair_client(void *arg)
{
    int ep = (int)(uintptr_t)arg;
    unsigned i = 0;
    while (i < FAIR_LIMIT && !atomic_load(&third_ran)) {
        struct sd_ipc_msg q = { .label = (uint64_t)1 << 32 | i }, r;     /* never LABEL_STOP */
        if (ipc_call(ep, &q, &r) != 0 || r.label != q.label + 1)
            kthread_exit(1);
        atomic_store(&fair_rounds, ++i);
    }
    kthread_exit(0);
}

static void test_handoff_is_fair(struct ktest *t)
{
    unsigned cpu = last_online_cpu();
    int ep = ipc_endpoint_create("ktest-fair", NULL);
    ASSERT_GT(t, ep, 0);
    atomic_store(&third_ran, false);
    atomic_store(&fair_rounds, 0);
    struct task *srv = kthread_create(server_reply_recv, (void *)(uintptr_t)ep, "ipc_server");
    struct task *cl = kthread_create(fair_client, (void *)(uintptr_t)ep, "ipc_client");
    struct task *third = kthread_create(third_task, NULL, "third");
    ASSERT_TRUE(t, srv && cl && third);
    kthread_bind(srv, cpu);
    kthread_bind(cl, cpu);
    kthread_bind(third, cpu);
    kthread_start(srv);
    kthread_start(cl);
    /* The pair is talking (and handing off) before the third task comes. */
    for (int ms = 0; ms < 5000 && atomic_load(&fair_rounds) < 100; ms++)
        msleep(1);
    kthread_start(third);
    EXPECT_EQ(t, kthread_join(cl), 0);
    unsigned rounds = atomic_load(&fair_rounds);
    EXPECT_EQ(t, kthread_join(third), 0);
    struct sd_ipc_msg stop = { .label = LABEL_STOP }, r;
    EXPECT_EQ(t, ipc_call(ep, &stop, &r), 0);
    EXPECT_EQ(t, kthread_join(srv), 0);
    ktest_log("the third task ran after %u round trips on cpu%u", rounds, cpu);
    EXPECT_TRUE(t, atomic_load(&third_ran));
    EXPECT_LT(t, rounds, FAIR_LIMIT);
    EXPECT_EQ(t, ipc_endpoint_destroy(ep), 0);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_endpoint_names),
    KTEST_CASE(test_waiter_sleeps),
    KTEST_CASE(test_send_recv),
    KTEST_CASE(test_call_reply),
    KTEST_CASE(test_call_reply_recv),
    KTEST_CASE(test_destroy_wakes_waiters),
    KTEST_CASE(test_latest_call_only),
    KTEST_CASE(test_reply_recv_two_endpoints),
    KTEST_CASE(test_handoff_one_cpu),
    KTEST_CASE(test_handoff_is_fair),
    {0},
};
KTEST_SUITE(ipc, cases);
