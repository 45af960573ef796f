/*
 * tests/test_sched.c - the scheduler: thread life cycle, preemption,
 * affinity, balancing, kthread_stop.  Results are judged by counts and by
 * progress within a bounded number of timer ticks, never by elapsed time.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/time.h>
#include <kernel/tick.h>
#include <kernel/cpumask.h>
#include <arch/cpu.h>
#include <stdatomic.h>

/* Wait (sleeping) until *flag is true or `ticks` ticks passed on CPU 0;
 * returns whether the flag became true. */
static bool wait_until(_Atomic bool *flag, uint64_t ticks)
{
    uint64_t end = sched_ticks(0) + ticks;
    while (!atomic_load(flag)) {
        if (sched_ticks(0) > end)
            return false;
        msleep(5);
    }
    return true;
}

/* ---- create and join thousands of threads ---- */

static _Atomic unsigned ran_count;
static void count_and_exit(void *arg)
{
    atomic_fetch_add(&ran_count, 1);
    kthread_exit((int)(uintptr_t)arg);
}

static void test_create_join_thousands(struct ktest *t)
{
    enum { BATCH = 64, ROUNDS = 32 };       /* 2048 threads */
    struct task *ts[BATCH];
    unsigned before = sched_task_count(), ncpu = nr_cpus_online;
    long code_sum = 0, expect_sum = 0;

    atomic_store(&ran_count, 0);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < BATCH; i++) {
            int code = r * BATCH + i;
            ts[i] = kthread_create(count_and_exit, (void *)(uintptr_t)code, "many");
            ASSERT_TRUE(t, ts[i] != NULL);
            if (i % 2)
                kthread_bind(ts[i], (unsigned)i % ncpu);
            kthread_start(ts[i]);
            expect_sum += code;
        }
        for (int i = 0; i < BATCH; i++)
            code_sum += kthread_join(ts[i]);
    }
    EXPECT_EQ(t, atomic_load(&ran_count), (unsigned)(BATCH * ROUNDS));
    EXPECT_EQ(t, code_sum, expect_sum);
    EXPECT_EQ(t, sched_task_count(), before);
}

/* ---- preemption: two spinners on one CPU both progress ---- */

struct spinner {
    _Atomic bool *stop;
    _Atomic uint64_t iterations;
};

static void spin_until_stopped(void *arg)
{
    struct spinner *s = arg;
    while (!atomic_load(s->stop)) {
        atomic_fetch_add_explicit(&s->iterations, 1, memory_order_relaxed);
        arch_cpu_relax();
    }
}

static void test_preemption(struct ktest *t)
{
    _Atomic bool stop = false;
    struct spinner s[2] = { { &stop, 0 }, { &stop, 0 } };
    unsigned cpu = last_online_cpu();
    struct task *th[2];

    for (int i = 0; i < 2; i++) {
        th[i] = kthread_create(spin_until_stopped, &s[i], "spinner");
        ASSERT_TRUE(t, th[i] != NULL);
        kthread_bind(th[i], cpu);
    }
    kthread_start(th[0]);
    kthread_start(th[1]);

    /* Each must be switched in at least 3 times: it was preempted in between. */
    uint64_t start = sched_ticks(cpu);
    bool ok = false;
    while (sched_ticks(cpu) - start < 100) {
        if (th[0]->switches_in >= 3 && th[1]->switches_in >= 3) {
            ok = true;
            break;
        }
        msleep(5);
    }
    atomic_store(&stop, true);
    kthread_join(th[0]);
    kthread_join(th[1]);
    EXPECT_TRUE(t, ok);
    EXPECT_GT(t, atomic_load(&s[0].iterations), 0ul);
    EXPECT_GT(t, atomic_load(&s[1].iterations), 0ul);
}

/* ---- affinity ---- */

struct affinity_probe {
    struct cpumask allowed;
    _Atomic unsigned wrong;
    _Atomic unsigned samples;
};

static void record_cpu(void *arg)
{
    struct affinity_probe *p = arg;
    for (int i = 0; i < 40; i++) {
        if (!cpumask_test_cpu(&p->allowed, this_cpu_id()))
            atomic_fetch_add(&p->wrong, 1);
        atomic_fetch_add(&p->samples, 1);
        if (i % 2)
            msleep(1);
        else
            yield();
    }
}

static void test_affinity(struct ktest *t)
{
    struct affinity_probe one = { 0 }, mask = { 0 };
    unsigned cpu = last_online_cpu();

    cpumask_set_cpu(&one.allowed, cpu);
    struct task *a = kthread_create(record_cpu, &one, "bound");
    ASSERT_TRUE(t, a != NULL);
    kthread_bind(a, cpu);

    /* A mask of every other online CPU (at least one). */
    unsigned c, n = 0;
    for_each_online_cpu(c)
        if (n++ % 2 == 0)
            cpumask_set_cpu(&mask.allowed, c);
    struct task *b = kthread_create(record_cpu, &mask, "masked");
    ASSERT_TRUE(t, b != NULL);
    kthread_set_affinity(b, &mask.allowed);

    kthread_start(a);
    kthread_start(b);
    kthread_join(a);
    kthread_join(b);
    EXPECT_EQ(t, atomic_load(&one.samples), 40u);
    EXPECT_EQ(t, atomic_load(&one.wrong), 0u);
    EXPECT_EQ(t, atomic_load(&mask.samples), 40u);
    EXPECT_EQ(t, atomic_load(&mask.wrong), 0u);
}

/* ---- balancing: 4N busy threads started on CPU 0 spread to every CPU ---- */

static _Atomic bool balance_stop;
static struct cpumask balance_seen;     /* updated with atomic bit sets */

static void busy_and_record(void *arg)
{
    (void)arg;
    while (!atomic_load(&balance_stop)) {
        cpumask_test_and_set_cpu_atomic(&balance_seen, this_cpu_id());
        arch_cpu_relax();
    }
}

static void test_balancing(struct ktest *t)
{
    unsigned n = nr_cpus_online, count = 4 * n;
    struct task *ts[4 * MAX_CPUS];
    _Atomic bool all_seen = false;

    atomic_store(&balance_stop, false);
    cpumask_clear(&balance_seen);
    for (unsigned i = 0; i < count; i++) {
        ts[i] = kthread_create(busy_and_record, NULL, "busy");
        ASSERT_TRUE(t, ts[i] != NULL);
        /* Created by the test thread, which is bound to CPU 0: all start
         * on CPU 0's queue, and any CPU is allowed. */
        kthread_start(ts[i]);
    }
    uint64_t end = sched_ticks(0) + 1000;
    while (sched_ticks(0) < end) {
        if (cpumask_equal(&balance_seen, &cpu_online_mask)) {
            atomic_store(&all_seen, true);
            break;
        }
        msleep(5);
    }
    atomic_store(&balance_stop, true);
    for (unsigned i = 0; i < count; i++)
        kthread_join(ts[i]);
    EXPECT_TRUE(t, atomic_load(&all_seen));
    EXPECT_EQ(t, cpumask_weight(&balance_seen), n);
}

/* ---- kthread_stop on a running and on a sleeping thread ---- */

static void run_until_stop(void *arg)
{
    (void)arg;
    while (!kthread_should_stop())
        arch_cpu_relax();
    kthread_exit(7);
}

static void sleep_until_stop(void *arg)
{
    _Atomic bool *sleeping = arg;
    atomic_store(sleeping, true);
    while (!kthread_should_stop())
        msleep(100000);         /* far longer than the test: only stop ends it */
    kthread_exit(8);
}

static void wait_until_stop(void *arg)
{
    struct wait_queue *wq = arg;
    wait_event(wq, kthread_should_stop());
    kthread_exit(9);
}

static void test_kthread_stop(struct ktest *t)
{
    struct task *a = kthread_run(run_until_stop, NULL, "runner");
    ASSERT_TRUE(t, a != NULL);
    EXPECT_EQ(t, kthread_stop(a), 7);

    _Atomic bool sleeping = false;
    struct task *b = kthread_run(sleep_until_stop, &sleeping, "sleeper");
    ASSERT_TRUE(t, b != NULL);
    EXPECT_TRUE(t, wait_until(&sleeping, 500));
    /* It goes to sleep (progress, not a fixed wait: its vCPU may lose its
     * host core for longer than any sleep here), then stop must wake it. */
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&b->state) == TASK_BLOCKED && !atomic_load(&b->on_cpu)));
    EXPECT_EQ(t, kthread_stop(b), 8);

    struct wait_queue wq;
    wait_queue_init(&wq, "test_wq");
    struct task *c = kthread_run(wait_until_stop, &wq, "waiter");
    ASSERT_TRUE(t, c != NULL);
    msleep(20);
    EXPECT_EQ(t, kthread_stop(c), 9);
}

/* ---- a thread's exit wakes only its own joiner ---- */

/*
 * Joiner A sleeps in kthread_join(B) on CPU x, where B then spins with
 * preemption off, so that if anything wakes A it stays RUNNABLE (it cannot
 * run, re-check and sleep again before we look).  Another thread C exits and
 * is joined; once C is off its CPU its exit's wake-ups are done, and A must
 * still be asleep.  (With one exit queue for all joiners, every exit woke
 * every joiner: a wasted switch each, and a CR3 write for a joiner with a
 * user mm - test_munmap_ipis in test_tlb_counters.c counted one, about once
 * in 20 boots of a busy machine.)
 */
struct join_case {
    struct ktest *t;
    struct task *target;
    _Atomic bool go, pinned, release;
};

static void pinned_target(void *arg)
{
    struct join_case *jc = arg;
    while (!atomic_load(&jc->go))
        yield();
    preempt_disable();
    atomic_store(&jc->pinned, true);
    while (!atomic_load(&jc->release))
        arch_cpu_relax();
    preempt_enable();
    kthread_exit(5);
}

static void joiner(void *arg)
{
    struct join_case *jc = arg;
    kthread_exit(kthread_join(jc->target) + 1);
}

static void join_body(void *arg)
{
    struct join_case *jc = arg;
    struct ktest *t = jc->t;
    unsigned x = last_online_cpu();
    struct task *b = kthread_create(pinned_target, jc, "join-target");
    ASSERT_TRUE(t, b != NULL);
    struct task *a = kthread_create(joiner, jc, "joiner");
    ASSERT_TRUE(t, a != NULL);
    jc->target = b;
    kthread_bind(b, x);
    kthread_bind(a, x);
    kthread_start(b);
    kthread_start(a);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&a->state) == TASK_BLOCKED && !atomic_load(&a->on_cpu)));
    atomic_store(&jc->go, true);
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&jc->pinned)));

    struct task *c = kthread_create(count_and_exit, (void *)(uintptr_t)3, "other-exit");
    ASSERT_TRUE(t, c != NULL);
    kthread_bind(c, this_cpu_id());
    task_get(c);                        /* to look at it after the join */
    kthread_start(c);
    EXPECT_EQ(t, kthread_join(c), 3);
    EXPECT_TRUE(t, SPIN_UNTIL(!atomic_load(&c->on_cpu)));
    task_put(c);
    int a_state = atomic_load(&a->state);
    EXPECT_EQ(t, a_state, TASK_BLOCKED);        /* c's exit did not wake a */

    atomic_store(&jc->release, true);
    EXPECT_EQ(t, kthread_join(a), 6);   /* woken by b's exit */
}

static void test_join_wakes_only_its_joiner(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs 2 CPUs: the joiner's CPU is held by a spinner");
    struct join_case jc = { .t = t };
    struct task *body = kthread_create(join_body, &jc, "join-body");
    ASSERT_TRUE(t, body != NULL);
    kthread_bind(body, 0);
    kthread_start(body);
    EXPECT_EQ(t, kthread_join(body), 0);
}

/* ---- msleep: never early, at most a few ticks late ---- */

static void test_msleep(struct ktest *t)
{
    unsigned cpu = this_cpu_id();
    for (unsigned ms = 1; ms <= 40; ms *= 3) {
        uint64_t t0 = ktime_ns(), k0 = sched_ticks(cpu);
        msleep(ms);
        uint64_t slept = ktime_ns() - t0, ticks = sched_ticks(cpu) - k0;
        EXPECT_GE(t, slept, (uint64_t)ms * 1000000);
        /* Ticks are what a late wake-up costs: at most the sleep's own ticks
         * plus a few (a descheduled vCPU only loses ticks, never adds). */
        EXPECT_LE(t, ticks, (uint64_t)ms * tick_hz / 1000 + 3);
    }
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_create_join_thousands),
    KTEST_CASE(test_preemption),
    KTEST_CASE(test_affinity),
    KTEST_CASE(test_balancing),
    KTEST_CASE(test_kthread_stop),
    KTEST_CASE(test_join_wakes_only_its_joiner),
    KTEST_CASE(test_msleep),
    {0},
};
KTEST_SUITE(sched, cases);
