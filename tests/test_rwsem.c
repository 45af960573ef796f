/*
 * tests/test_rwsem.c - the sleeping read/write lock (kernel/rwsem.h,
 * docs/locking.md "The address-space lock"): readers share it, a writer
 * has it alone, and the FIFO hand-off keeps a waiting writer from being
 * overtaken by readers that come after it.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/rwsem.h>
#include <kernel/sched.h>
#include <kernel/cpumask.h>
#include <stdatomic.h>

static struct rwsem sem;

/* ---- readers hold it together ---- */

struct pair {
    _Atomic unsigned inside, left;
};

static void sharing_reader(void *arg)
{
    struct pair *p = arg;
    down_read(&sem);
    atomic_fetch_add(&p->inside, 1);
    /* Both readers inside at once, or this waits out the guard. */
    SPIN_UNTIL(atomic_load(&p->inside) == 2);
    up_read(&sem);
    atomic_fetch_add(&p->left, 1);
}

static void test_readers_share(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    rwsem_init(&sem, "test.rwsem");
    static struct pair p;
    p = (struct pair){ 0 };
    struct task *a = kthread_create(sharing_reader, &p, "rw-reader");
    struct task *b = kthread_create(sharing_reader, &p, "rw-reader");
    ASSERT_TRUE(t, a && b);
    kthread_bind(a, 0);
    kthread_bind(b, 1);
    kthread_start(a);
    kthread_start(b);
    kthread_join(a);
    kthread_join(b);
    EXPECT_EQ(t, atomic_load(&p.inside), 2u);
    EXPECT_EQ(t, atomic_load(&p.left), 2u);
}

/* ---- a waiting writer is not overtaken ---- */

struct order {
    _Atomic unsigned n;
    char log[4];
};

static void log_as(struct order *o, char who)
{
    unsigned i = atomic_fetch_add(&o->n, 1);
    if (i < sizeof(o->log))
        o->log[i] = who;
}

static void late_writer(void *arg)
{
    down_write(&sem);
    log_as(arg, 'W');
    up_write(&sem);
}

static void late_reader(void *arg)
{
    down_read(&sem);
    log_as(arg, 'R');
    up_read(&sem);
}

static bool blocked(struct task *th)
{
    return atomic_load(&th->state) == TASK_BLOCKED && !atomic_load(&th->on_cpu);
}

static void test_writer_not_starved(struct ktest *t)
{
    rwsem_init(&sem, "test.rwsem");
    static struct order o;
    o = (struct order){ 0 };
    unsigned cpu = nr_cpus_online > 1 ? 1 : 0;
    down_read(&sem);                    /* a reader holds it */
    struct task *w = kthread_create(late_writer, &o, "rw-writer");
    ASSERT_TRUE(t, w != NULL);
    kthread_bind(w, cpu);
    kthread_start(w);
    /* The writer sleeps: readers hold it. */
    EXPECT_TRUE(t, WAIT_UNTIL_PROGRESS(blocked(w), 0, yield()));
    struct task *r = kthread_create(late_reader, &o, "rw-reader");
    ASSERT_TRUE(t, r != NULL);
    kthread_bind(r, cpu);
    kthread_start(r);
    /* A reader arriving now queues behind the writer, although the lock
     * is held only for reading. */
    EXPECT_TRUE(t, WAIT_UNTIL_PROGRESS(blocked(r), 0, yield()));
    EXPECT_EQ(t, atomic_load(&o.n), 0u);
    up_read(&sem);                      /* the writer first, then the reader */
    kthread_join(w);
    kthread_join(r);
    EXPECT_EQ(t, atomic_load(&o.n), 2u);
    EXPECT_EQ(t, o.log[0], 'W');
    EXPECT_EQ(t, o.log[1], 'R');
}

/* ---- many of both, from every CPU: exclusion by counts ---- */

#define STRESS_ROUNDS 400

struct stress {
    _Atomic int readers_in, writers_in;
    _Atomic unsigned bad;
    uint64_t value;                     /* written under the write side only */
    _Atomic uint64_t reads;
};

static void stress_fn(void *arg)
{
    struct stress *s = arg;
    for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
        if (i % 4 == 0) {
            down_write(&sem);
            if (atomic_fetch_add(&s->writers_in, 1) != 0 || atomic_load(&s->readers_in) != 0)
                atomic_fetch_add(&s->bad, 1);
            s->value++;
            atomic_fetch_sub(&s->writers_in, 1);
            up_write(&sem);
        } else {
            down_read(&sem);
            atomic_fetch_add(&s->readers_in, 1);
            if (atomic_load(&s->writers_in) != 0)
                atomic_fetch_add(&s->bad, 1);
            atomic_fetch_add(&s->reads, 1);
            atomic_fetch_sub(&s->readers_in, 1);
            up_read(&sem);
        }
        if (i % 16 == 0)
            yield();
    }
}

static void test_rwsem_stress(struct ktest *t)
{
    rwsem_init(&sem, "test.rwsem");
    static struct stress s;
    s = (struct stress){ 0 };
    struct task *th[2 * MAX_CPUS];
    unsigned n = 0, cpu;
    for_each_online_cpu(cpu) {
        for (unsigned k = 0; k < 2; k++) {
            th[n] = kthread_create(stress_fn, &s, "rw-stress");
            ASSERT_TRUE(t, th[n] != NULL);
            kthread_bind(th[n], cpu);
            kthread_start(th[n]);
            n++;
        }
    }
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    EXPECT_EQ(t, atomic_load(&s.bad), 0u);
    EXPECT_EQ(t, s.value, (uint64_t)n * (STRESS_ROUNDS / 4));
    EXPECT_EQ(t, atomic_load(&s.reads), (uint64_t)n * (STRESS_ROUNDS - STRESS_ROUNDS / 4));
}

static const struct ktest_case rwsem_cases[] = {
    KTEST_CASE(test_readers_share),
    KTEST_CASE(test_writer_not_starved),
    KTEST_CASE(test_rwsem_stress),
    {0},
};
KTEST_SUITE(rwsem, rwsem_cases);
