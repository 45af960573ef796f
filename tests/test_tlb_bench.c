/*
 * tests/test_tlb_bench.c - fixed TLB workloads and what each costs, in
 * counter deltas, printed as one machine-readable line per workload:
 *
 *   # bench: name=NAME [k=CPUS_RUNNING_THE_MM] mode=MODE cpus=N n=ROUNDS scope=cpuK|all
 *            cr3_flush=.. cr3_noflush=.. ipis=.. mm_count_atomics=..
 *            tsc_per_op=.. group.counter=delta ...
 *
 * (one line in the log).  The four named fields come first (na when the
 * counter does not exist in this kernel); then every counter whose delta
 * is non-zero, by its full name, so counters added later show up without a
 * change here.  scope says whether the deltas are of the one CPU the
 * workload ran on or summed over all CPUs.
 *
 * Collecting figures per lazy-mm mode (docs/tlb.md, docs/lazy-mm.md):
 *   for m in refcount shootdown hazard mmput; do
 *     tools/run-tests.py --smp 4 --tests tlb_bench --cmdline "lazy_mm=$m" \
 *       && grep '# bench:' build/test-logs/smp4.log; done
 *
 * It is a test suite so that it runs in the matrix and keeps working: each
 * case passes when its workload ran, and asserts only what must hold in
 * every mode and on every machine - counts that the action must cause are
 * non-zero, no mm and no memory is left behind.  The exact costs are
 * pinned by test_tlb_counters.c, test_tlb_pcid.c and test_lazy_mm.c.
 *
 * tsc_per_op is the time-stamp counter's ticks per round, measured for
 * people comparing builds or options (e.g. tlbcheck=on against off,
 * docs/tlbcheck.md "What it costs"); no test asserts it - elapsed time on
 * a shared emulator host is not a property of the kernel.
 */
#include "ktest_suite.h"
#include "mm_test_util.h"
#include "user_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/kmalloc.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <lib/format.h>
#include <lib/string.h>
#include <uapi/shootdown.h>
#include <arch/cpu.h>

/* The mode's name, for the bench lines. */
static const char *mode_name(void)
{
    return lazy_mm_mode_name();
}

#define ADDR    0x400000ul
#define PIN     0x5ff000ul      /* keeps ADDR's page table in place */
#define RW      (SD_PROT_READ | SD_PROT_WRITE)

#define N_ROUND_TRIPS   200
#define N_SWITCHES      200
#define N_UNMAPS        50
#define RANGE_PAGES     64      /* above the flush ceiling (33) */
#define N_RANGES        10
#define N_EXITS         10
/* CPUs that run the mm during the munmap workloads: at most this many (the
 * others stay idle), so that the figures of a -smp 4 run and the cost of a
 * -smp 8 row stay the same. */
#define MAX_HOLDERS     3

static const struct counter_desc *counter_by_name(const char *group, const char *name)
{
    for (const struct counter_desc *c = __counters_start; c < __counters_end; c++)
        if (!strcmp(c->group, group) && !strcmp(c->name, name))
            return c;
    return NULL;
}

/* The named fields of the line: alias, then the counter(s) it may be. */
static const struct {
    const char *alias, *group, *name;
} named[] = {
    { "cr3_flush", "tlb", "cr3_write_flush" },
    { "cr3_noflush", "tlb", "cr3_write_noflush" },
    { "ipis", "tlb", "ipi_sent" },
    { "mm_count_atomics", "mm", "count_atomics" },
};

/* The workload's start: its counters and the time-stamp counter. */
static uint64_t bench_tsc0;

static void bench_start(struct counter_snapshot *s, bool one_cpu)
{
    if (one_cpu)
        counters_snapshot_cpu(s, this_cpu_id());
    else
        counters_snapshot(s);
    bench_tsc0 = arch_cycles();
}

/* Print the workload's line from the deltas since s (and bench_tsc0). */
static void bench_report(const char *name, uint64_t n, const struct counter_snapshot *s)
{
    uint64_t ticks = arch_cycles() - bench_tsc0;
    static char line[1536];
    size_t len = 0;
#define ADD(...) (len += (size_t)snprintf(line + len, len < sizeof(line) ? sizeof(line) - len : 0, __VA_ARGS__))
    ADD("name=%s mode=%s cpus=%u n=%llu scope=", name, mode_name(), nr_cpus_online,
        (unsigned long long)n);
    if (s->cpu == COUNTERS_ALL_CPUS)
        ADD("all");
    else
        ADD("cpu%u", s->cpu);
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        const struct counter_desc *c = counter_by_name(named[i].group, named[i].name);
        if (c)
            ADD(" %s=%llu", named[i].alias, (unsigned long long)counter_delta(s, c));
        else
            ADD(" %s=na", named[i].alias);
    }
    ADD(" tsc_per_op=%llu", (unsigned long long)(n ? ticks / n : ticks));
    for (const struct counter_desc *c = __counters_start; c < __counters_end; c++) {
        uint64_t d = counter_delta(s, c);
        if (d)
            ADD(" %s.%s=%llu", c->group, c->name, (unsigned long long)d);
    }
#undef ADD
    printk_raw("        # bench: %s\n", line);
}

static uint64_t delta_of(const struct counter_snapshot *s, const char *group, const char *name)
{
    const struct counter_desc *c = counter_by_name(group, name);
    return c ? counter_delta(s, c) : 0;
}

/* The sum of a group's deltas. */
static uint64_t group_delta(const struct counter_snapshot *s, const char *group)
{
    uint64_t sum = 0;
    for (const struct counter_desc *c = __counters_start; c < __counters_end; c++)
        if (!strcmp(c->group, group))
            sum += counter_delta(s, c);
    return sum;
}

/* ---- one CPU: lazy round trips, mm switches -------------------------------- */

/* The CPU the one-CPU workloads run on: the last, away from the runner's. */
static unsigned quiet_cpu(void)
{
    return nr_cpus_online - 1;
}

struct pingpong {
    unsigned rounds;
    _Atomic unsigned arrived;   /* both threads are on the CPU */
    _Atomic bool done;
    struct counter_snapshot s;
};

/* Each side yields to the other; the first (the measured one) takes the
 * snapshot once both are on the run queue and reports at the end. */
struct side {
    struct pingpong *pp;
    struct mm *mm;              /* adopted (unuse_mm at the end), or NULL */
    bool measured;
    const char *name;
};

static void side_fn(void *arg)
{
    struct side *sd = arg;
    struct pingpong *pp = sd->pp;
    atomic_fetch_add(&pp->arrived, 1);
    while (atomic_load(&pp->arrived) < 2)
        yield();
    if (sd->measured) {
        bench_start(&pp->s, true);
        for (unsigned i = 0; i < pp->rounds; i++)
            yield();
        bench_report(sd->name, pp->rounds, &pp->s);
        atomic_store(&pp->done, true);
    } else {
        while (!atomic_load(&pp->done))
            yield();
    }
    if (sd->mm)
        unuse_mm(sd->mm);
}

static struct task *start_side(struct side *sd, unsigned cpu)
{
    struct task *th = kthread_create(side_fn, sd, "bench-side");
    if (!th)
        return NULL;
    if (sd->mm) {
        mmget(sd->mm);
        th->mm = th->active_mm = sd->mm;
    }
    kthread_bind(th, cpu);
    kthread_start(th);
    return th;
}

/* a (measured) and b yield to each other `rounds` times on one CPU. */
static void run_pingpong(struct ktest *t, const char *name, struct mm *a, struct mm *b,
                         unsigned rounds, struct counter_snapshot *out)
{
    struct pingpong pp = { .rounds = rounds };
    struct side sa = { &pp, a, true, name }, sb = { &pp, b, false, name };
    struct task *ta = start_side(&sa, quiet_cpu());
    ASSERT_TRUE(t, ta != NULL);
    struct task *tb = start_side(&sb, quiet_cpu());
    ASSERT_TRUE(t, tb != NULL);
    EXPECT_EQ(t, kthread_join(ta), 0);
    EXPECT_EQ(t, kthread_join(tb), 0);
    *out = pp.s;
}

/* user A -> kernel thread -> user A: each trip enters lazy mode and leaves
 * it (the counts of entering must be there; the costs are per mode). */
static void test_bench_lazy_round_trip(struct ktest *t)
{
    unsigned mms = mm_live_count();
    struct mm *a = mm_create();
    ASSERT_TRUE(t, a != NULL);
    struct counter_snapshot s;
    run_pingpong(t, "lazy_round_trip", a, NULL, N_ROUND_TRIPS, &s);
    EXPECT_GE(t, delta_of(&s, "switch", "enter_lazy"), (uint64_t)N_ROUND_TRIPS);
    mmput(a);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* user A -> user B -> user A: each switch changes the mm. */
static void test_bench_mm_switch(struct ktest *t)
{
    unsigned mms = mm_live_count();
    struct mm *a = mm_create(), *b = mm_create();
    ASSERT_TRUE(t, a != NULL && b != NULL);
    struct counter_snapshot s;
    run_pingpong(t, "mm_switch", a, b, N_SWITCHES, &s);
    EXPECT_GE(t, delta_of(&s, "switch", "mm"), (uint64_t)N_SWITCHES);
    mmput(a);
    mmput(b);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

/* ---- munmap with the mm on other CPUs -------------------------------------- */

/*
 * Holders of the mm on CPUs 1..k.  lazy: each holder's CPU then runs a
 * kernel thread that spins (borrowing the mm lazily) until the end, so the
 * flushes find the CPUs lazy.
 */
struct spinner {
    _Atomic bool running, stop;
};

static void spinner_fn(void *arg)
{
    struct spinner *sp = arg;
    atomic_store(&sp->running, true);
    while (!atomic_load(&sp->stop))
        arch_cpu_relax();
}

/* A holder that, once the mm is loaded, gives its CPU away whenever it
 * can: with a spinner bound there, the CPU stays lazy on the mm. */
static void lazy_holder_fn(void *arg)
{
    struct holder *h = arg;
    atomic_store(&h->loaded, true);
    while (!atomic_load(&h->leave))
        yield();
    unuse_mm(h->mm);
}

struct crowd {
    unsigned n;
    struct holder h[MAX_CPUS];
    struct task *th[MAX_CPUS];
    struct spinner sp[MAX_CPUS];
    struct task *spin[MAX_CPUS];
};

static bool crowd_start(struct ktest *t, struct crowd *c, struct mm *mm, unsigned k, bool lazy)
{
    c->n = 0;
    for (unsigned cpu = 1; cpu <= k; cpu++, c->n++) {
        unsigned i = c->n;
        c->spin[i] = NULL;
        c->h[i] = (struct holder){ .mm = mm };
        c->th[i] = kthread_create(lazy ? lazy_holder_fn : holder_fn, &c->h[i], "bench-holder");
        if (!c->th[i])
            return false;
        mmget(mm);              /* the holder's own; unuse_mm gives it back */
        c->th[i]->mm = c->th[i]->active_mm = mm;
        kthread_bind(c->th[i], cpu);
        kthread_start(c->th[i]);
        if (!SPIN_UNTIL(atomic_load(&c->h[i].loaded)))
            return false;
        if (lazy) {
            /* The holder yields to the spinner, which keeps the CPU until
             * the end (the holder only gets it back for a moment when a
             * tick ends the spinner's slice, and yields again). */
            c->sp[i] = (struct spinner){ 0 };
            c->spin[i] = kthread_create(spinner_fn, &c->sp[i], "bench-spinner");
            if (!c->spin[i])
                return false;
            kthread_bind(c->spin[i], cpu);
            kthread_start(c->spin[i]);
            if (!SPIN_UNTIL(atomic_load(&c->sp[i].running)))
                return false;
        }
    }
    (void)t;
    return true;
}

static void crowd_stop(struct ktest *t, struct crowd *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        atomic_store(&c->h[i].leave, true);
        if (c->spin[i])
            atomic_store(&c->sp[i].stop, true);
    }
    for (unsigned i = 0; i < c->n; i++) {
        EXPECT_EQ(t, kthread_join(c->th[i]), 0);
        if (c->spin[i])
            EXPECT_EQ(t, kthread_join(c->spin[i]), 0);
    }
}

struct unmap_args {
    struct ktest *t;
    bool lazy;
    size_t pages;
    unsigned rounds;
    const char *name;
};

/* On CPU 0 (which does not run the mm): map, touch, munmap, `rounds`
 * times, with the mm on every other CPU. */
static void unmap_body(void *arg)
{
    struct unmap_args *a = arg;
    struct ktest *t = a->t;
    unsigned k = nr_cpus_online - 1 < MAX_HOLDERS ? nr_cpus_online - 1 : MAX_HOLDERS;
    struct mm *mm = mm_create();
    ASSERT_TRUE(t, mm != NULL);
    ASSERT_EQ(t, mm_map_anon(mm, PIN, PAGE_SIZE, RW), 0);
    ASSERT_EQ(t, mm_handle_fault(mm, PIN, true, false, false), 0);
    struct crowd *c = kzalloc(sizeof(*c));
    ASSERT_TRUE(t, c != NULL);
    EXPECT_TRUE(t, crowd_start(t, c, mm, k, a->lazy));

    struct counter_snapshot s;
    bench_start(&s, false);
    for (unsigned r = 0; r < a->rounds; r++) {
        size_t len = a->pages * PAGE_SIZE;
        EXPECT_EQ(t, mm_map_anon(mm, ADDR, len, RW), 0);
        for (size_t i = 0; i < a->pages; i++)
            EXPECT_EQ(t, mm_handle_fault(mm, ADDR + i * PAGE_SIZE, true, false, false), 0);
        EXPECT_EQ(t, mm_unmap(mm, ADDR, len), 0);
    }
    char name[48];
    snprintf(name, sizeof(name), "%s k=%u", a->name, k);
    bench_report(name, a->rounds, &s);
    /* CPUs running the mm non-lazily need an IPI for every munmap; lazy
     * ones may be skipped (counted as such) and catch up later, so there
     * only some TLB accounting per munmap is certain. */
    if (!a->lazy)
        EXPECT_GE(t, delta_of(&s, "tlb", "ipi_sent"), (uint64_t)a->rounds * k);
    EXPECT_GE(t, group_delta(&s, "tlb"), (uint64_t)a->rounds);

    crowd_stop(t, c);
    kfree(c);
    EXPECT_EQ(t, atomic_load(&mm->mm_users), 1);
    mmput(mm);
}

static void run_unmap(struct ktest *t, struct unmap_args *a)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    unsigned mms = mm_live_count();
    a->t = t;
    struct task *body = kthread_create(unmap_body, a, "bench-unmapper");
    ASSERT_TRUE(t, body != NULL);
    kthread_bind(body, 0);
    kthread_start(body);
    EXPECT_EQ(t, kthread_join(body), 0);
    lazy_mm_drop_borrowers(NULL);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static void test_bench_munmap_page(struct ktest *t)
{
    struct unmap_args a = { .pages = 1, .rounds = N_UNMAPS, .name = "munmap_page" };
    run_unmap(t, &a);
}

static void test_bench_munmap_page_lazy(struct ktest *t)
{
    struct unmap_args a = { .lazy = true, .pages = 1, .rounds = N_UNMAPS,
                            .name = "munmap_page_lazy" };
    run_unmap(t, &a);
}

static void test_bench_munmap_range(struct ktest *t)
{
    struct unmap_args a = { .pages = RANGE_PAGES, .rounds = N_RANGES, .name = "munmap_range" };
    run_unmap(t, &a);
}

/* ---- process exits with lazy borrowers ------------------------------------- */

/* N_EXITS processes whose threads ran on every CPU (user/spread_exit.c):
 * when the last one exits, the other CPUs borrow the mm from their idle
 * tasks.  Summed over all CPUs (the exits involve all of them). */
static void test_bench_exit_borrowers(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    struct counter_snapshot s;
    bench_start(&s, false);
    for (unsigned i = 0; i < N_EXITS; i++)
        EXPECT_PROGRAM_OK(t, "spread_exit");
    bench_report("exit_borrowers", N_EXITS, &s);
    /* Each teardown frees page tables: some TLB work (a flush, or a CR3
     * write leaving the mm) however the mode and the CPU do it. */
    EXPECT_GE(t, group_delta(&s, "tlb"), (uint64_t)N_EXITS);
    user_baseline_check(t, &b);
}

/* fork + exit + wait cycles of a process with a copy-on-write page
 * (user/fork_stress.c): page-table copies, write-protects, COW faults and
 * teardowns - every PTE change hook of the checker. */
#define N_FORKS 40
#define STR_(x) #x
#define STR(x) STR_(x)

static void test_bench_fork_exit(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    struct counter_snapshot s;
    bench_start(&s, false);
    EXPECT_PROGRAM_OK(t, "fork_stress", STR(N_FORKS));
    bench_report("fork_exit", N_FORKS, &s);
    EXPECT_GE(t, group_delta(&s, "tlb"), (uint64_t)1);
    user_baseline_check(t, &b);
}

static const struct ktest_case tlb_bench_cases[] = {
    KTEST_CASE(test_bench_lazy_round_trip),
    KTEST_CASE(test_bench_mm_switch),
    KTEST_CASE(test_bench_munmap_page),
    KTEST_CASE(test_bench_munmap_page_lazy),
    KTEST_CASE(test_bench_munmap_range),
    KTEST_CASE(test_bench_exit_borrowers),
    KTEST_CASE(test_bench_fork_exit),
    {0},
};
KTEST_SUITE(tlb_bench, tlb_bench_cases);
