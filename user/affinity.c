/*
 * affinity pinned|unpinned: where the processes and threads a thread makes
 * run (docs/scheduler.md, "Affinity").
 *
 * Each child (20 forked, 4 spawned as `affinity report`) and each of 20
 * threads works for a few ticks - spinning, then sleeping one tick, then
 * yielding, so that it is preempted, woken and requeued, and idle CPUs try to
 * pull it - and reports every CPU it ran on as a bit mask (its exit code; CPU
 * 7 and above share bit 7).
 *   pinned:   the parent pins itself to the last CPU first; every child and
 *             thread must have run there and nowhere else (they inherit the
 *             affinity; the balancer must respect it).
 *   unpinned: with two or more CPUs, the children together and the threads
 *             together must have run on at least two CPUs (new processes are
 *             spread; the balancer pulls threads off their creator's CPU).
 * Prints the counts; exits 0 when they are as they must be.
 */
#include <ulib.h>

#define CHILDREN 20
#define SPAWNED 4
#define THREADS 20
#define WORK_TICKS 4

static unsigned cpu_bit(void)
{
    int cpu = sys_getcpu();
    return 1u << (cpu < 7 ? cpu : 7);
}

/* A few ticks of work; every CPU it ran on. */
static int work(void *arg)
{
    (void)arg;
    struct sd_clock c;
    if (sys_clock(&c) != 0)
        return 0;
    unsigned seen = cpu_bit();
    uint64_t end = c.ns + WORK_TICKS * c.tick_ns;
    while (clock_ns() < end) {
        for (volatile int i = 0; i < 2000; i++)
            ;
        seen |= cpu_bit();
    }
    sys_sleep((unsigned)((c.tick_ns + 999999) / 1000000));
    seen |= cpu_bit();
    sys_yield();
    seen |= cpu_bit();
    return (int)seen;
}

static unsigned popcount(unsigned m)
{
    unsigned n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

int main(int argc, char **argv)
{
    prog_name = "affinity";
    if (argc < 2)
        die("usage: affinity pinned|unpinned|report");
    if (!strcmp(argv[1], "report"))
        return work(NULL);
    bool pinned = !strcmp(argv[1], "pinned");
    if (!pinned && strcmp(argv[1], "unpinned"))
        die("unknown mode '%s'", argv[1]);

    int ncpus = sys_cpu_count();
    int cpu = ncpus - 1;
    if (pinned && pin_to_cpu(cpu) != 0)
        die("cannot pin to cpu%d", cpu);
    unsigned want = 1u << (cpu < 7 ? cpu : 7);

    /* Forked children, then spawned ones: exit code = where they ran. */
    unsigned on_cpu = 0, all = 0;
    int pids[CHILDREN + SPAWNED];
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = sys_fork();
        if (pids[i] < 0)
            die("fork: %d", pids[i]);
        if (pids[i] == 0)
            sys_exit(work(NULL));
    }
    const char *const rargv[] = { "affinity", "report", NULL };
    for (int i = CHILDREN; i < CHILDREN + SPAWNED; i++)
        if ((pids[i] = sys_spawn("affinity", rargv)) < 0)
            die("spawn: %d", pids[i]);
    unsigned forked_on = 0, spawned_on = 0;
    for (int i = 0; i < CHILDREN + SPAWNED; i++) {
        int status;
        if (sys_wait(pids[i], &status) != pids[i] || SD_WIFFAULTED(status))
            die("wait for child %d (pid %d): status %#x", i, pids[i], status);
        unsigned seen = SD_WEXITCODE(status);
        all |= seen;
        if (seen == want) {
            on_cpu++;
            if (i < CHILDREN)
                forked_on++;
            else
                spawned_on++;
        }
    }

    struct uthread th[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (thread_create(&th[i], work, NULL) < 0)
            die("thread_create %d", i);
    unsigned threads_on = 0, threads_all = 0;
    for (int i = 0; i < THREADS; i++) {
        int code;
        if (thread_join(&th[i], &code) < 0)
            die("thread_join %d", i);
        threads_all |= (unsigned)code;
        threads_on += (unsigned)code == want;
    }

    if (pinned) {
        printf("affinity: pinned to cpu%d of %d: %u/%d forked children, %u/%d spawned, %u/%d threads ran only there\n",
               cpu, ncpus, forked_on, CHILDREN, spawned_on, SPAWNED, threads_on, THREADS);
        if (on_cpu != CHILDREN + SPAWNED || threads_on != THREADS)
            die("children or threads of a thread pinned to cpu%d ran elsewhere (CPUs seen: %#x and %#x)", cpu,
                all, threads_all);
    } else {
        printf("affinity: unpinned, %d CPUs: children ran on %u CPUs, threads on %u CPUs\n", ncpus,
               popcount(all), popcount(threads_all));
        if (ncpus >= 2 && (popcount(all) < 2 || popcount(threads_all) < 2))
            die("unpinned children or threads all ran on one CPU (CPUs seen: %#x and %#x)", all, threads_all);
    }
    return 0;
}
