/*
 * tests/test_sync.c - wait queues, mutexes, semaphores and completions under
 * stress from every CPU, with exact totals: a lost wake-up shows up as a
 * hang (the runner's timeout) or a wrong count, never as a silent pass.
 */
#include "ktest_suite.h"
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/cpumask.h>
#include <stdatomic.h>

/*
 * Report a stress test's progress while its threads run: one line each time
 * another tenth of `total` is done.  With more vCPUs than host cores (8 CPUs
 * on 2 busy cores) these tests can run for minutes, and the runner judges a
 * boot by the silence of its serial log, not its length: so a test that
 * still advances keeps printing, and one that lost a wake-up stops printing
 * at the tenth where it stuck and is stopped there, with that line last.
 * `done` is read without the lock that guards it: a torn or stale value only
 * delays a line.
 */
static void report_progress(const char *what, const volatile uint64_t *done, uint64_t total)
{
    uint64_t step = total / 10 ? total / 10 : 1;
    uint64_t next = step;
    for (;;) {
        uint64_t now = *done;
        if (now >= total)
            return;
        if (now >= next) {
            ktest_log("%s: %llu of %llu", what, (unsigned long long)now,
                      (unsigned long long)total);
            next = (now / step + 1) * step;
        }
        msleep(50);
    }
}

/* ---- bounded producer/consumer: a mutex and two semaphores ---- */

#define PC_SLOTS 16
#define PC_ITEMS 100000

struct pc_buffer {
    struct mutex lock;
    struct semaphore free_slots, full_slots;
    uint64_t items[PC_SLOTS];
    unsigned head, tail;
    _Atomic uint64_t consumed_sum;
    _Atomic uint64_t consumed_count;
    unsigned per_producer, per_consumer;
};

static void producer(void *arg)
{
    struct pc_buffer *b = arg;
    unsigned me = (unsigned)current_task()->id;
    for (unsigned i = 0; i < b->per_producer; i++) {
        down(&b->free_slots);
        mutex_lock(&b->lock);
        b->items[b->head++ % PC_SLOTS] = (uint64_t)me * 1000003u + i;
        mutex_unlock(&b->lock);
        up(&b->full_slots);
    }
    kthread_exit((int)me);
}

static void consumer(void *arg)
{
    struct pc_buffer *b = arg;
    for (unsigned i = 0; i < b->per_consumer; i++) {
        down(&b->full_slots);
        mutex_lock(&b->lock);
        uint64_t v = b->items[b->tail++ % PC_SLOTS];
        mutex_unlock(&b->lock);
        up(&b->free_slots);
        atomic_fetch_add(&b->consumed_sum, v);
        atomic_fetch_add(&b->consumed_count, 1);
    }
}

static void test_producer_consumer(struct ktest *t)
{
    static struct pc_buffer b;
    /* One producer and one consumer per two CPUs (at least one each): every
     * CPU has a thread to run, without piling more waiters on the three locks
     * than there are CPUs to serve them. */
    unsigned n = nr_cpus_online / 2 ? nr_cpus_online / 2 : 1;
    /* ... but no more than 4 of each: with more vCPUs than host cores, a
     * crowd of waiters on one ticket lock turns every host preemption of a
     * queued waiter into a stall for all of them (16 CPUs took minutes). */
    if (n > 4)
        n = 4;
    struct task *prod[MAX_CPUS], *cons[MAX_CPUS];
    uint64_t expect = 0;

    mutex_init(&b.lock, "pc.lock");
    sema_init(&b.free_slots, PC_SLOTS, "pc.free");
    sema_init(&b.full_slots, 0, "pc.full");
    b.head = b.tail = 0;
    atomic_store(&b.consumed_sum, 0);
    atomic_store(&b.consumed_count, 0);
    b.per_producer = PC_ITEMS / n;
    b.per_consumer = PC_ITEMS / n;

    for (unsigned i = 0; i < n; i++) {
        prod[i] = kthread_run(producer, &b, "producer");
        cons[i] = kthread_run(consumer, &b, "consumer");
        ASSERT_TRUE(t, prod[i] && cons[i]);
    }
    report_progress("items consumed", (const volatile uint64_t *)&b.consumed_count,
                    (uint64_t)b.per_consumer * n);
    for (unsigned i = 0; i < n; i++) {
        unsigned id = (unsigned)kthread_join(prod[i]);
        for (unsigned k = 0; k < b.per_producer; k++)
            expect += (uint64_t)id * 1000003u + k;
    }
    for (unsigned i = 0; i < n; i++)
        kthread_join(cons[i]);
    EXPECT_EQ(t, atomic_load(&b.consumed_count), (uint64_t)b.per_producer * n);
    EXPECT_EQ(t, atomic_load(&b.consumed_sum), expect);
    EXPECT_EQ(t, b.head, b.tail);
    EXPECT_EQ(t, b.free_slots.count, (long)PC_SLOTS);
    EXPECT_EQ(t, b.full_slots.count, 0l);
}

/* ---- ping-pong between two CPUs with completions ---- */

#define PINGPONG_ROUNDS 5000

struct pingpong {
    struct completion ping, pong;
    unsigned rounds_seen;
};

static void ponger(void *arg)
{
    struct pingpong *p = arg;
    for (unsigned i = 0; i < PINGPONG_ROUNDS; i++) {
        wait_for_completion(&p->ping);
        p->rounds_seen++;
        complete(&p->pong);
    }
}

static void test_pingpong(struct ktest *t)
{
    static struct pingpong p;
    completion_init(&p.ping, "ping");
    completion_init(&p.pong, "pong");
    p.rounds_seen = 0;

    unsigned cpu, other = 0;
    for_each_online_cpu(cpu)
        other = cpu;                /* the last CPU; CPU 0 on -smp 1 */
    struct task *th = kthread_create(ponger, &p, "ponger");
    ASSERT_TRUE(t, th != NULL);
    kthread_bind(th, other);
    kthread_start(th);
    for (unsigned i = 0; i < PINGPONG_ROUNDS; i++) {
        complete(&p.ping);
        wait_for_completion(&p.pong);
        /* The completion orders the ponger's increment before our read. */
        if (p.rounds_seen != i + 1) {
            EXPECT_EQ(t, p.rounds_seen, i + 1);
            break;
        }
    }
    kthread_join(th);
    EXPECT_EQ(t, p.rounds_seen, (unsigned)PINGPONG_ROUNDS);
}

/* ---- mutex: exact counter with every CPU contending ---- */

struct mutex_stress {
    struct mutex lock;
    uint64_t counter;           /* only under lock, non-atomic on purpose */
    unsigned iterations;
};

static void mutex_worker(void *arg)
{
    struct mutex_stress *m = arg;
    for (unsigned i = 0; i < m->iterations; i++) {
        mutex_lock(&m->lock);
        uint64_t v = m->counter;
        if (i % 64 == 0)
            yield();            /* sleep-able section: others queue up */
        m->counter = v + 1;
        mutex_unlock(&m->lock);
    }
}

static void test_mutex_stress(struct ktest *t)
{
    static struct mutex_stress m;
    unsigned n = 2 * nr_cpus_online;
    struct task *ts[2 * MAX_CPUS];

    mutex_init(&m.lock, "stress.lock");
    m.counter = 0;
    m.iterations = 20000 / n;
    for (unsigned i = 0; i < n; i++) {
        ts[i] = kthread_run(mutex_worker, &m, "mutexer");
        ASSERT_TRUE(t, ts[i] != NULL);
    }
    report_progress("increments", &m.counter, (uint64_t)m.iterations * n);
    for (unsigned i = 0; i < n; i++)
        kthread_join(ts[i]);
    EXPECT_EQ(t, m.counter, (uint64_t)m.iterations * n);
    EXPECT_TRUE(t, m.lock.owner == NULL);
}

/* ---- completion_all releases every waiter ---- */

static void wait_done(void *arg)
{
    wait_for_completion(arg);
}

static void test_complete_all(struct ktest *t)
{
    static struct completion c;
    struct task *ts[8];
    completion_init(&c, "all");
    for (int i = 0; i < 8; i++) {
        ts[i] = kthread_run(wait_done, &c, "waiter");
        ASSERT_TRUE(t, ts[i] != NULL);
    }
    complete_all(&c);
    for (int i = 0; i < 8; i++)
        kthread_join(ts[i]);
    /* A late waiter passes too. */
    wait_for_completion(&c);
    EXPECT_EQ(t, c.done, ~0ul);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_producer_consumer),
    KTEST_CASE(test_pingpong),
    KTEST_CASE(test_mutex_stress),
    KTEST_CASE(test_complete_all),
    {0},
};
KTEST_SUITE(sync, cases);
