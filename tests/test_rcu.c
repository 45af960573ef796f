/*
 * tests/test_rcu.c - RCU (kernel/rcu/rcu.c): a grace period waits for
 * every reader that was running when it started, readers on other CPUs
 * never see an object the writer freed (freed objects are poisoned first),
 * callbacks run after their grace period and in order, and CPUs that idle
 * or are not online never hold a grace period up.  Every check is a count
 * or a flag; the suite runs in every row, so on 1, 2, 4 and 8 CPUs.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/rcu.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/kmalloc.h>
#include <kernel/cpumask.h>
#include <kernel/debug/counters.h>
#include <stdatomic.h>

DECLARE_COUNTER(rcu, gp_completed);
DECLARE_COUNTER(rcu, gp_polls);
DECLARE_COUNTER(rcu, callbacks_run);

#define C(name) (&counter_desc__rcu__##name)

/* Sleep-wait (the grace-period thread may need this CPU) until cond, for as
 * long as `progress` moves; see SPIN_UNTIL_PROGRESS. */
#define SLEEP_UNTIL(cond, progress) WAIT_UNTIL_PROGRESS(cond, progress, msleep(1))

static void test_read_side_is_preempt_off(struct ktest *t)
{
    int before = preempt_count();
    rcu_read_lock();
    EXPECT_EQ(t, preempt_count(), before + 1);
    rcu_read_lock();            /* readers nest */
    EXPECT_EQ(t, preempt_count(), before + 2);
    rcu_read_unlock();
    rcu_read_unlock();
    EXPECT_EQ(t, preempt_count(), before);
}

/* ---- a grace period waits for a reader that started before it ---- */

struct held_reader {
    _Atomic bool inside, release, sync_done;
};

static void hold_reader(void *arg)
{
    struct held_reader *h = arg;
    rcu_read_lock();
    atomic_store(&h->inside, true);
    SPIN_UNTIL(atomic_load(&h->release));
    rcu_read_unlock();
    atomic_store(&h->inside, false);
}

static void sync_once(void *arg)
{
    struct held_reader *h = arg;
    synchronize_rcu();
    atomic_store(&h->sync_done, true);
}

static void test_gp_waits_for_reader(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "the reader needs a CPU of its own");
    static struct held_reader h;
    atomic_store(&h.inside, false);
    atomic_store(&h.release, false);
    atomic_store(&h.sync_done, false);
    struct task *r = kthread_create(hold_reader, &h, "rcu-reader");
    ASSERT_TRUE(t, r != NULL);
    kthread_bind(r, 1);
    kthread_start(r);
    ASSERT_TRUE(t, SPIN_UNTIL(atomic_load(&h.inside)));

    uint64_t polls = counter_sum(C(gp_polls)), done = rcu_gp_completed();
    struct task *s = kthread_run(sync_once, &h, "rcu-sync");
    ASSERT_TRUE(t, s != NULL);
    /* The grace period found cpu1 owing a quiescent state three times
     * (cpu1 took ticks all along, each inside the reader): still waiting. */
    EXPECT_TRUE(t, SLEEP_UNTIL(counter_sum(C(gp_polls)) >= polls + 3, counter_sum(C(gp_polls))));
    EXPECT_FALSE(t, atomic_load(&h.sync_done));
    EXPECT_EQ(t, rcu_gp_completed(), done);

    atomic_store(&h.release, true);
    EXPECT_TRUE(t, SLEEP_UNTIL(atomic_load(&h.sync_done), rcu_gp_completed()));
    EXPECT_GT(t, rcu_gp_completed(), done);
    kthread_join(s);
    kthread_join(r);
}

/* ---- readers on other CPUs never see a freed object ---- */

#define OBJ_LIVE    0x4c495645u     /* "LIVE" */
#define OBJ_POISON  0xdeadbeefu
#define UPDATES     300

struct obj {
    _Atomic unsigned magic;
    unsigned serial;
    struct rcu_head rcu;
};

static struct obj *published;
static _Atomic bool readers_stop;
static _Atomic uint64_t reads_done, bad_reads;

static void poison_and_free(struct rcu_head *h)
{
    struct obj *o = (struct obj *)((char *)h - __builtin_offsetof(struct obj, rcu));
    atomic_store(&o->magic, OBJ_POISON);
    kfree(o);
}

static void reader_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&readers_stop)) {
        rcu_read_lock();
        struct obj *p = rcu_dereference(published);
        unsigned m1 = atomic_load(&p->magic);
        for (int i = 0; i < 200; i++)           /* hold it for a while */
            arch_cpu_relax();
        unsigned m2 = atomic_load(&p->magic);
        rcu_read_unlock();
        if (m1 != OBJ_LIVE || m2 != OBJ_LIVE)
            atomic_fetch_add(&bad_reads, 1);
        atomic_fetch_add(&reads_done, 1);
    }
}

static struct obj *new_obj(unsigned serial)
{
    struct obj *o = kmalloc(sizeof(*o));
    if (o) {
        atomic_store(&o->magic, OBJ_LIVE);
        o->serial = serial;
    }
    return o;
}

static void test_reader_never_sees_freed(struct ktest *t)
{
    struct task *readers[MAX_CPUS];
    unsigned n = 0, cpu;
    published = new_obj(0);
    ASSERT_TRUE(t, published != NULL);
    atomic_store(&readers_stop, false);
    atomic_store(&reads_done, 0);
    atomic_store(&bad_reads, 0);
    for_each_online_cpu(cpu) {
        if (cpu == 0 && nr_cpus_online > 1)
            continue;           /* the writer's CPU */
        readers[n] = kthread_create(reader_loop, NULL, "rcu-reader");
        ASSERT_TRUE(t, readers[n] != NULL);
        kthread_bind(readers[n], cpu);
        kthread_start(readers[n++]);
    }
    uint64_t cbs = counter_sum(C(callbacks_run));
    unsigned updates = 0;
    for (unsigned i = 1; i <= UPDATES; i++) {
        struct obj *o = new_obj(i);
        if (!o)
            break;
        struct obj *old = published;
        rcu_assign_pointer(published, o);
        if (i % 50 == 0) {
            synchronize_rcu();
            poison_and_free(&old->rcu);
        } else {
            call_rcu(&old->rcu, poison_and_free);
        }
        updates++;
        /* Let the readers take the new one before the next update. */
        uint64_t r = atomic_load(&reads_done);
        SPIN_UNTIL(atomic_load(&reads_done) >= r + 2 * n);
    }
    atomic_store(&readers_stop, true);
    for (unsigned i = 0; i < n; i++)
        kthread_join(readers[i]);
    rcu_barrier();
    kfree(published);
    published = NULL;
    ktest_log("%u updates, %llu reads on %u reader CPUs, %llu callbacks run",
              updates, (unsigned long long)atomic_load(&reads_done), n,
              (unsigned long long)(counter_sum(C(callbacks_run)) - cbs));
    EXPECT_EQ(t, updates, (unsigned)UPDATES);
    EXPECT_EQ(t, atomic_load(&bad_reads), 0u);
    EXPECT_GE(t, atomic_load(&reads_done), (uint64_t)UPDATES);
    EXPECT_GE(t, counter_sum(C(callbacks_run)) - cbs, (uint64_t)(UPDATES - UPDATES / 50));
}

/* ---- grace periods complete with callers on every CPU ---- */

#define SYNCS_PER_CPU 3
static _Atomic unsigned syncs_done;

static void sync_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < SYNCS_PER_CPU; i++) {
        synchronize_rcu();
        atomic_fetch_add(&syncs_done, 1);
    }
}

static void test_gp_on_every_cpu(struct ktest *t)
{
    struct task *th[MAX_CPUS];
    unsigned n = 0, cpu;
    atomic_store(&syncs_done, 0);
    uint64_t gp0 = rcu_gp_completed();
    uint64_t ctr0 = counter_sum(C(gp_completed));
    for_each_online_cpu(cpu) {
        th[n] = kthread_create(sync_loop, NULL, "rcu-sync");
        ASSERT_TRUE(t, th[n] != NULL);
        kthread_bind(th[n], cpu);
        kthread_start(th[n++]);
    }
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    uint64_t gps = rcu_gp_completed() - gp0;
    ktest_log("%u CPUs online: %u synchronize_rcu calls, %llu grace periods", n,
              atomic_load(&syncs_done), (unsigned long long)gps);
    EXPECT_EQ(t, atomic_load(&syncs_done), n * SYNCS_PER_CPU);
    /* Each thread's calls are sequential and each needs a grace period
     * that started after it: at least SYNCS_PER_CPU of them. */
    EXPECT_GE(t, gps, (uint64_t)SYNCS_PER_CPU);
    EXPECT_EQ(t, counter_sum(C(gp_completed)) - ctr0, gps);
}

/* ---- callbacks run after their grace period, in order ---- */

#define CBS_PER_CPU 64

struct probe {
    struct rcu_head rcu;
    uint64_t gp_at_queue;
    unsigned seq;
};

static _Atomic unsigned cbs_run, cbs_early, cbs_out_of_order;
static _Atomic unsigned last_seq[MAX_CPUS];

static void probe_cb(struct rcu_head *h)
{
    struct probe *p = (struct probe *)h;
    /* A grace period that started after the call_rcu has ended. */
    if (rcu_gp_completed() <= p->gp_at_queue)
        atomic_fetch_add(&cbs_early, 1);
    unsigned cpu = p->seq / CBS_PER_CPU;
    if (p->seq % CBS_PER_CPU != atomic_load(&last_seq[cpu]))
        atomic_fetch_add(&cbs_out_of_order, 1);
    atomic_store(&last_seq[cpu], p->seq % CBS_PER_CPU + 1);
    atomic_fetch_add(&cbs_run, 1);
}

static struct probe probes[MAX_CPUS][CBS_PER_CPU];

static void queue_probes(void *arg)
{
    unsigned cpu = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < CBS_PER_CPU; i++) {
        struct probe *p = &probes[cpu][i];
        p->seq = cpu * CBS_PER_CPU + i;
        p->gp_at_queue = rcu_gp_completed();
        call_rcu(&p->rcu, probe_cb);
        if (i % 16 == 15)
            msleep(1);          /* spread them over several grace periods */
    }
}

static void test_callbacks_run_after_gp(struct ktest *t)
{
    struct task *th[MAX_CPUS];
    unsigned n = 0, cpu;
    atomic_store(&cbs_run, 0);
    atomic_store(&cbs_early, 0);
    atomic_store(&cbs_out_of_order, 0);
    for (unsigned i = 0; i < MAX_CPUS; i++)
        atomic_store(&last_seq[i], 0);
    uint64_t ran0 = counter_sum(C(callbacks_run));
    for_each_online_cpu(cpu) {
        th[n] = kthread_create(queue_probes, (void *)(uintptr_t)cpu, "rcu-cbs");
        ASSERT_TRUE(t, th[n] != NULL);
        kthread_bind(th[n], cpu);
        kthread_start(th[n++]);
    }
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    rcu_barrier();
    EXPECT_EQ(t, atomic_load(&cbs_run), n * CBS_PER_CPU);
    EXPECT_EQ(t, atomic_load(&cbs_early), 0u);
    EXPECT_EQ(t, atomic_load(&cbs_out_of_order), 0u);
    /* ours and rcu_barrier's own */
    EXPECT_GE(t, counter_sum(C(callbacks_run)) - ran0, (uint64_t)(n * CBS_PER_CPU + 1));
}

/* ---- idle and offline CPUs do not hold grace periods up ---- */

static void test_idle_offline_cpus_do_not_stall(struct ktest *t)
{
    uint64_t qs0[MAX_CPUS];
    unsigned cpu;
    for_each_online_cpu(cpu)
        qs0[cpu] = rcu_cpu_qs_count(cpu);
    uint64_t gp0 = rcu_gp_completed();
    /* Every other CPU idles: nothing runs there but its idle loop. */
    for (int i = 0; i < 5; i++)
        synchronize_rcu();
    EXPECT_GE(t, rcu_gp_completed() - gp0, (uint64_t)5);
    unsigned idle_reported = 0;
    for_each_online_cpu(cpu) {
        EXPECT_GT(t, rcu_cpu_qs_count(cpu), qs0[cpu]);
        idle_reported += cpu != 0;
    }
    /* The CPU slots that never came online were not waited for. */
    EXPECT_EQ(t, rcu_last_gp_cpus(), nr_cpus_online);
    ktest_log("%u idle CPUs reported quiescent states; %u of %u CPU slots offline, not waited for",
              idle_reported, MAX_CPUS - nr_cpus_online, MAX_CPUS);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_read_side_is_preempt_off),
    KTEST_CASE(test_gp_waits_for_reader),
    KTEST_CASE(test_reader_never_sees_freed),
    KTEST_CASE(test_gp_on_every_cpu),
    KTEST_CASE(test_callbacks_run_after_gp),
    KTEST_CASE(test_idle_offline_cpus_do_not_stall),
    {0},
};
KTEST_SUITE(rcu, cases);
