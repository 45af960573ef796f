/*
 * tests/test_rwsem.c - the sleeping read/write lock (kernel/rwsem.h,
 * docs/locking.md "The address-space lock"): readers share it, a writer
 * has it alone, and the FIFO hand-off keeps a waiting writer from being
 * overtaken by readers that come after it.
 *
 * The lock has a fast path (one atomic instruction on its word, no
 * spinlock) and a slow path (its spinlock, the queue).  The cases below
 * prove the fast path takes no spinlock, force each interleaving of a
 * releasing fast path with a task about to queue (rwsem_queue_test_hook),
 * check the queue's order, and hammer one lock from every CPU.  After
 * every case the word must be back to 0: nobody holds it, WAITERS clear.
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include <kernel/rwsem.h>
#include <kernel/sched.h>
#include <kernel/cpumask.h>
#include <kernel/lock_order.h>
#include <kernel/preempt.h>
#include <kernel/spinlock.h>
#include <arch/cpu.h>
#include <stdatomic.h>

static struct rwsem sem;

/* Nobody holds sem and nobody waits: the word is 0 (WAITERS went with the
 * last waiter) and the queue empty. */
static void expect_idle(struct ktest *t)
{
    EXPECT_EQ(t, atomic_load(&sem.count), (uint64_t)0);
    EXPECT_TRUE(t, list_empty(&sem.waiters));
    EXPECT_TRUE(t, READ_ONCE(sem.writer) == NULL);
}

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
    expect_idle(t);
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
    /* Bounded: a release that forgot its waiter fails here, not hangs. */
    ASSERT_TRUE(t, WAIT_UNTIL_PROGRESS(atomic_load(&o.n) == 2, atomic_load(&o.n), yield()));
    kthread_join(w);
    kthread_join(r);
    EXPECT_EQ(t, atomic_load(&o.n), 2u);
    EXPECT_EQ(t, o.log[0], 'W');
    EXPECT_EQ(t, o.log[1], 'R');
    expect_idle(t);
}

/* ---- many of both, from every CPU: exclusion by counts ---- */

#define STRESS_ROUNDS 400

struct stress {
    _Atomic int readers_in, writers_in;
    _Atomic unsigned bad;
    uint64_t value;                     /* written under the write side only */
    _Atomic uint64_t reads;
    _Atomic unsigned finished;
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
    atomic_fetch_add(&s->finished, 1);
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
    /* Bounded by progress: a lost wake-up fails here, not hangs the boot. */
    ASSERT_TRUE(t, WAIT_UNTIL_PROGRESS(atomic_load(&s.finished) == n,
                                       atomic_load(&s.reads) + READ_ONCE(s.value), yield()));
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    EXPECT_EQ(t, atomic_load(&s.bad), 0u);
    EXPECT_EQ(t, s.value, (uint64_t)n * (STRESS_ROUNDS / 4));
    EXPECT_EQ(t, atomic_load(&s.reads), (uint64_t)n * (STRESS_ROUNDS - STRESS_ROUNDS / 4));
    expect_idle(t);
}

/* ---- the fast path takes no spinlock ---- */

/* Every acquisition of sem's own spinlock, on any CPU (spin_lock_taken_test_hook). */
static _Atomic unsigned sem_lock_taken;

static void count_sem_lock(struct spinlock *l)
{
    if (l == &sem.lock)
        atomic_fetch_add_explicit(&sem_lock_taken, 1, memory_order_relaxed);
}

static void queued_reader(void *arg)
{
    _Atomic unsigned *done = arg;
    down_read(&sem);
    up_read(&sem);
    atomic_fetch_add(done, 1);
}

#define FAST_ROUNDS 100

/*
 * First a contended episode (a reader queues behind our write lock, is
 * granted it by our release), which must take the spinlock; then
 * FAST_ROUNDS of each operation with nobody else near the lock, which must
 * take it not once: WAITERS went with the last waiter, and the fast paths
 * are back.
 */
static void test_uncontended_takes_no_spinlock(struct ktest *t)
{
    rwsem_init(&sem, "test.rwsem");
    static _Atomic unsigned done;
    atomic_store(&done, 0);
    atomic_store(&sem_lock_taken, 0);
    WRITE_ONCE(spin_lock_taken_test_hook, count_sem_lock);

    down_write(&sem);
    EXPECT_TRUE(t, rwsem_write_held_by_me(&sem));
    struct task *r = kthread_create(queued_reader, &done, "rw-reader");
    ASSERT_TRUE(t, r != NULL);
    kthread_bind(r, nr_cpus_online > 1 ? 1 : 0);
    kthread_start(r);
    EXPECT_TRUE(t, WAIT_UNTIL_PROGRESS(blocked(r), 0, yield()));
    EXPECT_EQ(t, atomic_load(&sem.count), RWSEM_WRITER | RWSEM_WAITERS);
    up_write(&sem);
    EXPECT_TRUE(t, WAIT_UNTIL_PROGRESS(atomic_load(&done) == 1, 0, yield()));
    kthread_join(r);
    unsigned contended = atomic_load(&sem_lock_taken);
    expect_idle(t);

    atomic_store(&sem_lock_taken, 0);
    for (unsigned i = 0; i < FAST_ROUNDS; i++) {
        down_read(&sem);
        EXPECT_EQ(t, atomic_load(&sem.count), RWSEM_READER);
        down_read(&sem);            /* a second reader (this task again: nobody waits) */
        EXPECT_EQ(t, atomic_load(&sem.count), 2 * RWSEM_READER);
        up_read(&sem);
        up_read(&sem);
        down_write(&sem);
        EXPECT_EQ(t, atomic_load(&sem.count), RWSEM_WRITER);
        EXPECT_TRUE(t, rwsem_write_held_by_me(&sem));
        up_write(&sem);
        EXPECT_FALSE(t, rwsem_write_held_by_me(&sem));
    }
    unsigned fast = atomic_load(&sem_lock_taken);
    WRITE_ONCE(spin_lock_taken_test_hook, NULL);
    ktest_log("sem.lock taken %u times in the contended episode, %u in %u uncontended rounds",
              contended, fast, FAST_ROUNDS);
    /* The queuer once, the granting up_write once, the woken reader at
     * least once to see its grant. */
    EXPECT_GE(t, contended, 3u);
    EXPECT_EQ(t, fast, 0u);
    expect_idle(t);
}

/* ---- rule 5 on the fast path: checked although the lock is free ---- */

static DEFINE_SPINLOCK(rwsem_test_leaf, LOCK_RANK_LEAF);

static void test_no_sleeping_context_caught(struct ktest *t)
{
    rwsem_init(&sem, "test.rwsem");
    struct lock_order_catch c;

    /* Interrupts off. */
    uint64_t flags = arch_irq_save();
    lock_order_catch_begin(&c);
    down_read(&sem);
    up_read(&sem);
    lock_order_catch_end();
    arch_irq_restore(flags);
    EXPECT_EQ(t, c.violations, 1u);
    ASSERT_TRUE(t, c.taken != NULL);
    EXPECT_STREQ(t, c.taken, "test.rwsem");
    EXPECT_TRUE(t, c.held == NULL);

    /* A spinlock held (interrupts off with it, as its rank requires). */
    flags = spin_lock_irqsave(&rwsem_test_leaf);
    lock_order_catch_begin(&c);
    down_write(&sem);
    up_write(&sem);
    lock_order_catch_end();
    spin_unlock_irqrestore(&rwsem_test_leaf, flags);
    EXPECT_EQ(t, c.violations, 1u);
    ASSERT_TRUE(t, c.taken != NULL && c.held != NULL);
    EXPECT_STREQ(t, c.taken, "test.rwsem");
    EXPECT_STREQ(t, c.held, "rwsem_test_leaf");

    /* Preemption off, interrupts on: an interrupt landing here takes its
     * locks in order and adds nothing. */
    preempt_disable();
    lock_order_catch_begin(&c);
    down_read(&sem);
    up_read(&sem);
    down_write(&sem);
    up_write(&sem);
    lock_order_catch_end();
    preempt_enable();
    EXPECT_EQ(t, c.violations, 2u);
    expect_idle(t);
}

/* ---- a release between a queuer's look at the word and its exchange ---- */

/*
 * The holder runs on another CPU.  The queuer (a thread of its own, so that
 * a lost wake-up fails the case instead of hanging it) finds the lock held
 * and enters the slow path; at rwsem_queue_test_hook - it holds sem.lock,
 * has read the word, has not yet set WAITERS - it tells the holder to
 * release and waits until the word changed.  The holder's fast release
 * (U1 or W1) therefore comes first in the word's order; the queuer's
 * exchange (Q1) must fail, and its second look must find the lock free
 * and take it without queuing.  A Q1 that set WAITERS blindly would queue
 * behind a holder already gone, and nobody would wake it.
 */
struct race {
    bool holder_writes, queuer_writes;
    _Atomic unsigned hook_calls;
    _Atomic uint64_t seen;          /* the word the hook's first call saw */
    _Atomic bool release_now;
    _Atomic bool held, released, queuer_in, queuer_done;
    _Atomic uint64_t word_in_queuer; /* the word while the queuer holds it */
};

static struct race race;

static void race_hook(struct rwsem *s, uint64_t seen)
{
    if (s != &sem)
        return;
    if (atomic_fetch_add(&race.hook_calls, 1) != 0)
        return;                     /* only the first look is raced */
    atomic_store(&race.seen, seen);
    atomic_store(&race.release_now, true);
    /* Interrupts off, sem.lock held: the holder's fast release takes no lock. */
    SPIN_UNTIL(atomic_load(&s->count) != seen);
}

static void race_lock(bool writes)
{
    if (writes)
        down_write(&sem);
    else
        down_read(&sem);
}

static void race_unlock(bool writes)
{
    if (writes)
        up_write(&sem);
    else
        up_read(&sem);
}

static void race_holder(void *arg)
{
    (void)arg;
    race_lock(race.holder_writes);
    atomic_store(&race.held, true);
    SPIN_UNTIL(atomic_load(&race.release_now));
    race_unlock(race.holder_writes);
    atomic_store(&race.released, true);
}

static void race_queuer(void *arg)
{
    (void)arg;
    race_lock(race.queuer_writes);
    atomic_store(&race.queuer_in, true);
    atomic_store(&race.word_in_queuer, atomic_load(&sem.count));
    race_unlock(race.queuer_writes);
    atomic_store(&race.queuer_done, true);
}

static void run_release_race(struct ktest *t, bool holder_writes, bool queuer_writes)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    rwsem_init(&sem, "test.rwsem");
    race = (struct race){ 0 };
    race.holder_writes = holder_writes;
    race.queuer_writes = queuer_writes;
    struct task *h = kthread_create(race_holder, NULL, "rw-holder");
    ASSERT_TRUE(t, h != NULL);
    kthread_bind(h, 1);
    kthread_start(h);
    EXPECT_TRUE(t, WAIT_UNTIL_PROGRESS(atomic_load(&race.held), 0, yield()));
    WRITE_ONCE(rwsem_queue_test_hook, race_hook);
    struct task *q = kthread_create(race_queuer, NULL, "rw-queuer");
    ASSERT_TRUE(t, q != NULL);
    kthread_bind(q, 0);
    kthread_start(q);
    bool done = WAIT_UNTIL_PROGRESS(atomic_load(&race.queuer_done), 0, yield());
    WRITE_ONCE(rwsem_queue_test_hook, NULL);
    ASSERT_TRUE(t, done);               /* else the queuer sleeps for ever: a lost wake-up */
    kthread_join(h);
    kthread_join(q);
    /* One look raced, then the second found it free: no second call. */
    EXPECT_EQ(t, atomic_load(&race.hook_calls), 1u);
    EXPECT_EQ(t, atomic_load(&race.seen), holder_writes ? RWSEM_WRITER : RWSEM_READER);
    EXPECT_TRUE(t, atomic_load(&race.released));
    /* It took the lock itself, without queuing: WAITERS never set. */
    EXPECT_EQ(t, atomic_load(&race.word_in_queuer), queuer_writes ? RWSEM_WRITER : RWSEM_READER);
    expect_idle(t);
}

/* up_read's fetch_sub (U1) against down_write_slow's exchange (Q1). */
static void test_read_release_races_writer_queuing(struct ktest *t) { run_release_race(t, false, true); }
/* up_write's exchange (W1) against down_read_slow's exchange (Q1). */
static void test_write_release_races_reader_queuing(struct ktest *t) { run_release_race(t, true, false); }
/* up_write's exchange (W1) against down_write_slow's exchange (Q1). */
static void test_write_release_races_writer_queuing(struct ktest *t) { run_release_race(t, true, true); }

/* ---- the queue is served in arrival order ---- */

#define FIFO_N 6

struct fifo {
    _Atomic unsigned n, inside, max_inside_readers, done;
    _Atomic unsigned run_arrived;       /* R2 and R3 that got in (never decreases) */
    int log[FIFO_N];
};

struct fifo_arg {
    struct fifo *f;
    int id;
    bool writer;
};

static void fifo_fn(void *arg)
{
    struct fifo_arg *a = arg;
    struct fifo *f = a->f;
    if (a->writer)
        down_write(&sem);
    else
        down_read(&sem);
    unsigned in = atomic_fetch_add(&f->inside, 1) + 1;
    unsigned i = atomic_fetch_add(&f->n, 1);
    if (i < FIFO_N)
        f->log[i] = a->id;
    if (!a->writer) {
        unsigned m = atomic_load(&f->max_inside_readers);
        while (in > m && !atomic_compare_exchange_weak(&f->max_inside_readers, &m, in))
            ;
        /* Readers granted together are inside together: the first of
         * the run waits here for the second (bounded: the case checks).
         * A count that only grows: `inside` may have dropped again by the
         * time the second looks. */
        if (a->id == 2 || a->id == 3) {
            atomic_fetch_add(&f->run_arrived, 1);
            SPIN_UNTIL(atomic_load(&f->run_arrived) == 2);
        }
    }
    atomic_fetch_sub(&f->inside, 1);
    if (a->writer)
        up_write(&sem);
    else
        up_read(&sem);
    atomic_fetch_add(&f->done, 1);
}

/*
 * We hold it for writing; then, one at a time (each asleep before the next
 * starts), W1 R2 R3 W4 R5 W6 queue, spread over the CPUs.  Our release
 * must serve them in that order: W1 alone, R2 and R3 together (both
 * granted by W1's release), W4, R5, W6.
 */
static void test_fifo_order(struct ktest *t)
{
    rwsem_init(&sem, "test.rwsem");
    static struct fifo f;
    static struct fifo_arg args[FIFO_N];
    f = (struct fifo){ 0 };
    static const bool is_writer[FIFO_N] = { true, false, false, true, false, true };
    struct task *th[FIFO_N];
    down_write(&sem);
    for (int i = 0; i < FIFO_N; i++) {
        args[i] = (struct fifo_arg){ .f = &f, .id = i + 1, .writer = is_writer[i] };
        th[i] = kthread_create(fifo_fn, &args[i], is_writer[i] ? "rw-fifo-w" : "rw-fifo-r");
        ASSERT_TRUE(t, th[i] != NULL);
        kthread_bind(th[i], (unsigned)(i + 1) % nr_cpus_online);
        kthread_start(th[i]);
        EXPECT_TRUE(t, WAIT_UNTIL_PROGRESS(blocked(th[i]), 0, yield()));
    }
    EXPECT_EQ(t, atomic_load(&f.n), 0u);
    EXPECT_EQ(t, atomic_load(&sem.count), RWSEM_WRITER | RWSEM_WAITERS);
    up_write(&sem);
    bool done = WAIT_UNTIL_PROGRESS(atomic_load(&f.done) == FIFO_N, atomic_load(&f.n), yield());
    if (!done) {
        ktest_log("n %u inside %u done %u count %#lx log %d %d %d %d %d %d", atomic_load(&f.n),
                  atomic_load(&f.inside), atomic_load(&f.done), (unsigned long)atomic_load(&sem.count),
                  f.log[0], f.log[1], f.log[2], f.log[3], f.log[4], f.log[5]);
        for (int i = 0; i < FIFO_N; i++)
            ktest_log("th %d state %d on_cpu %d cpu %u", i + 1, (int)atomic_load(&th[i]->state),
                      (int)atomic_load(&th[i]->on_cpu), th[i]->cpu);
    }
    ASSERT_TRUE(t, done);               /* else a waiter was never woken */
    for (int i = 0; i < FIFO_N; i++)
        kthread_join(th[i]);
    EXPECT_EQ(t, atomic_load(&f.n), (unsigned)FIFO_N);
    EXPECT_EQ(t, f.log[0], 1);
    EXPECT_TRUE(t, (f.log[1] == 2 && f.log[2] == 3) || (f.log[1] == 3 && f.log[2] == 2));
    EXPECT_EQ(t, f.log[3], 4);
    EXPECT_EQ(t, f.log[4], 5);
    EXPECT_EQ(t, f.log[5], 6);
    EXPECT_EQ(t, atomic_load(&f.max_inside_readers), 2u);
    expect_idle(t);
}

/* ---- fast and slow paths handing over on every CPU ---- */

#define HAMMER_ROUNDS 1000

struct hammer {
    _Atomic int readers_in, writers_in;
    _Atomic unsigned bad;
    uint64_t value;                     /* changed under the write side only */
    _Atomic uint64_t reads, writes;
    _Atomic unsigned finished;
    _Atomic bool go;                    /* set once every thread was started */
};

struct hammer_arg {
    struct hammer *h;
    unsigned every;                     /* a write every `every` rounds */
};

/* Queuers' first looks (Q1, rwsem_queue_test_hook) during the hammer: a
 * task about to queue behind readers, or behind a writer. */
static _Atomic unsigned q1_behind_readers, q1_behind_writer;

static void count_q1(struct rwsem *s, uint64_t seen)
{
    if (s != &sem)
        return;
    atomic_fetch_add_explicit(seen & RWSEM_WRITER ? &q1_behind_writer : &q1_behind_readers, 1,
                              memory_order_relaxed);
}

/* No yields: the threads of one CPU meet through preemption, those of
 * different CPUs all the time.  Write-heavy threads (every 2nd round) and
 * read-heavy ones (every 8th) keep the lock switching between the fast
 * paths and the queue. */
static void hammer_fn(void *arg)
{
    struct hammer_arg *a = arg;
    struct hammer *h = a->h;
    unsigned every = a->every;
    /* All start together, or the first ones may be done before the last
     * ones run, and nobody ever queues. */
    while (!atomic_load(&h->go))
        yield();
    for (unsigned i = 0; i < HAMMER_ROUNDS; i++) {
        if (i % every == 0) {
            down_write(&sem);
            if (atomic_fetch_add(&h->writers_in, 1) != 0 || atomic_load(&h->readers_in) != 0)
                atomic_fetch_add(&h->bad, 1);
            uint64_t v = READ_ONCE(h->value);
            arch_cpu_relax();               /* a window for a second writer */
            if (i % 32 == 2)
                yield();                    /* hold it across a switch: others queue */
            WRITE_ONCE(h->value, v + 1);
            atomic_fetch_sub(&h->writers_in, 1);
            atomic_fetch_add(&h->writes, 1);
            up_write(&sem);
        } else {
            down_read(&sem);
            atomic_fetch_add(&h->readers_in, 1);
            uint64_t v = READ_ONCE(h->value);
            if (atomic_load(&h->writers_in) != 0)
                atomic_fetch_add(&h->bad, 1);
            arch_cpu_relax();
            if (every == 8 && i % 32 == 1)
                yield();                    /* the same: a writer queues behind us */
            if (READ_ONCE(h->value) != v)   /* no writer while we read */
                atomic_fetch_add(&h->bad, 1);
            atomic_fetch_add(&h->reads, 1);
            atomic_fetch_sub(&h->readers_in, 1);
            up_read(&sem);
        }
    }
    atomic_fetch_add(&h->finished, 1);
}

static void test_handover_hammer(struct ktest *t)
{
    rwsem_init(&sem, "test.rwsem");
    static struct hammer h;
    static struct hammer_arg args[2 * MAX_CPUS];
    h = (struct hammer){ 0 };
    atomic_store(&q1_behind_readers, 0);
    atomic_store(&q1_behind_writer, 0);
    WRITE_ONCE(rwsem_queue_test_hook, count_q1);
    struct task *th[2 * MAX_CPUS];
    unsigned n = 0, cpu, writes = 0;
    for_each_online_cpu(cpu) {
        for (unsigned k = 0; k < 2; k++) {
            args[n] = (struct hammer_arg){ .h = &h, .every = k ? 2 : 8 };
            th[n] = kthread_create(hammer_fn, &args[n], "rw-hammer");
            ASSERT_TRUE(t, th[n] != NULL);
            kthread_bind(th[n], cpu);
            kthread_start(th[n]);
            writes += HAMMER_ROUNDS / args[n].every;
            n++;
        }
    }
    atomic_store(&h.go, true);
    bool done = WAIT_UNTIL_PROGRESS(atomic_load(&h.finished) == n,
                                    atomic_load(&h.reads) + atomic_load(&h.writes), yield());
    WRITE_ONCE(rwsem_queue_test_hook, NULL);
    ktest_log("%u threads: %u queued first behind readers, %u behind a writer", n,
              atomic_load(&q1_behind_readers), atomic_load(&q1_behind_writer));
    ASSERT_TRUE(t, done);               /* else some thread sleeps for ever */
    for (unsigned i = 0; i < n; i++)
        kthread_join(th[i]);
    EXPECT_EQ(t, atomic_load(&h.bad), 0u);
    EXPECT_EQ(t, h.value, (uint64_t)writes);
    EXPECT_EQ(t, atomic_load(&h.writes), (uint64_t)writes);
    EXPECT_EQ(t, atomic_load(&h.reads), (uint64_t)n * HAMMER_ROUNDS - writes);
    expect_idle(t);
}

static const struct ktest_case rwsem_cases[] = {
    KTEST_CASE(test_readers_share),
    KTEST_CASE(test_writer_not_starved),
    KTEST_CASE(test_rwsem_stress),
    KTEST_CASE(test_uncontended_takes_no_spinlock),
    KTEST_CASE(test_no_sleeping_context_caught),
    KTEST_CASE(test_read_release_races_writer_queuing),
    KTEST_CASE(test_write_release_races_reader_queuing),
    KTEST_CASE(test_write_release_races_writer_queuing),
    KTEST_CASE(test_fifo_order),
    KTEST_CASE(test_handover_hammer),
    {0},
};
KTEST_SUITE(rwsem, rwsem_cases);
