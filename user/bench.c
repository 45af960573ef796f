/*
 * bench [NAME...] [ITERS=N]: the standard microbenchmarks, one line each.
 *
 *   make run SMP=2 PROG="bench fork thread"      two of them
 *   make run SMP=4 PROG=bench                    all of them
 *
 * With no NAME every benchmark runs; `bench list` prints the names.  ITERS=N
 * (an environment word) sets every benchmark's measured iterations (the
 * warm-up is a tenth of it): the test row uses a few to stay quick.
 *
 * Each measured configuration prints exactly one line (tools/run-tests.py's
 * run-bench row and the bench report parse it; keep the fields and their
 * order):
 *
 *   BENCH name=NAME cpus=N mode=LAZY_MM pcid=on|off [k=K] [pages=P] [state=busy|idle]
 *         value=MEDIAN unit=cycles iters=I min=.. p10=.. p90=.. group.counter=AVG ...
 *
 * value, min, p10 and p90 are cycles of the time-stamp counter per
 * operation: `lfence; rdtsc` before and `rdtscp; lfence` after each one
 * (the fences keep the operation's instructions between the two reads),
 * over I measured operations after a warm-up.  The counters are the
 * kernel's TLB, switch, lazy-mm and mm event counters (SYS_tlb_stats,
 * summed over all CPUs), as averages per operation with two decimals,
 * taken over the same measured iterations - including any untimed set-up
 * an iteration needs (the mmap and the touches before a timed munmap),
 * which each benchmark below arranges to cost no TLB work.  The measuring
 * thread is pinned to CPU 0, and so is everything it creates (affinity is
 * inherited) unless a benchmark pins it elsewhere.  Each benchmark leaves
 * the process as it found it (what it mapped is unmapped, its threads
 * joined), so that a benchmark measures the same process alone or after
 * the others: fork, for one, copies whatever the process has mapped.
 *
 * Times are for comparing configurations of one machine; tests assert
 * counts only (docs/processes.md, "Running one program").
 */
#include <ulib.h>

/* ---- the clock and the samples ------------------------------------------- */

static inline uint64_t tsc_begin(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return (uint64_t)hi << 32 | lo;
}

static inline uint64_t tsc_end(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp; lfence" : "=a"(lo), "=d"(hi), "=c"(aux) :: "memory");
    return (uint64_t)hi << 32 | lo;
}

#define MAX_ITERS 4096
#define PAGE 4096ul
static uint64_t samples[MAX_ITERS];
static long iters_override;         /* ITERS=N, or 0 */

static unsigned iters_for(unsigned dflt)
{
    long n = iters_override ? iters_override : (long)dflt;
    return n < 1 ? 1 : n > MAX_ITERS ? MAX_ITERS : (unsigned)n;
}

static unsigned warmup_for(unsigned iters)
{
    return iters / 10 ? iters / 10 : 1;
}

static void sort(uint64_t *a, unsigned n)
{
    /* Shell sort with Ciura's gaps: no recursion, fast enough for 4096. */
    static const unsigned gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
    for (unsigned g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        unsigned gap = gaps[g];
        for (unsigned i = gap; i < n; i++) {
            uint64_t v = a[i];
            unsigned j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap)
                a[j] = a[j - gap];
            a[j] = v;
        }
    }
}

static void check(long r, const char *what)
{
    if (r < 0 && r >= -4095)
        die("%s: %ld", what, r);
}

/* ---- the kernel's counters ---------------------------------------------- */

static struct sd_tlb_stats stats_before, stats_after;

static void stats_read(struct sd_tlb_stats *s)
{
    int r = sys_tlb_stats(s);
    if (r < 0)
        die("tlb_stats: %d", r);
}

static uint64_t stat_value(const struct sd_tlb_stats *s, const char *name)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (!strcmp(s->stat[i].name, name))
            return s->stat[i].value;
    die("the kernel has no counter %s", name);
}

/* Snapshot the counters now: the measured iterations start. */
static void measure_start(void)
{
    stats_read(&stats_before);
}

/* ---- one line ---------------------------------------------------------- */

struct config {
    int k;                  /* other threads, or -1: no k= field */
    int pages;              /* pages, or 0: no pages= field */
    const char *state;      /* "busy", "idle", or NULL */
};
static const struct config plain = { -1, 0, NULL };

static char line[4096];
static size_t line_len;

__attribute__((format(printf, 1, 2))) static void add(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (line_len < sizeof(line))
        line_len += (size_t)vsnprintf(line + line_len, sizeof(line) - line_len, fmt, ap);
    va_end(ap);
}

/* The measured iterations ended: print the line of samples[0..n) and the
 * counters since measure_start(). */
static void report(const char *name, const struct config *c, unsigned n)
{
    stats_read(&stats_after);
    sort(samples, n);
    line_len = 0;
    add("BENCH name=%s cpus=%u mode=%s pcid=%s", name, stats_after.cpus, stats_after.lazy_mm,
        stats_after.pcid ? "on" : "off");
    if (c->k >= 0)
        add(" k=%d", c->k);
    if (c->pages)
        add(" pages=%d", c->pages);
    if (c->state)
        add(" state=%s", c->state);
    add(" value=%lu unit=cycles iters=%u min=%lu p10=%lu p90=%lu", (unsigned long)samples[n / 2], n,
        (unsigned long)samples[0], (unsigned long)samples[n * 10 / 100],
        (unsigned long)samples[n * 90 / 100]);
    for (uint32_t i = 0; i < stats_after.count; i++) {
        uint64_t d = stats_after.stat[i].value - stat_value(&stats_before, stats_after.stat[i].name);
        uint64_t hundredths = (d * 100 + n / 2) / n;
        add(" %s=%lu.%02lu", stats_after.stat[i].name, (unsigned long)(hundredths / 100),
            (unsigned long)(hundredths % 100));
    }
    if (line_len >= sizeof(line) - 1)
        die("%s: the line does not fit in %d bytes", name, (int)sizeof(line));
    add("\n");
    sys_write(line, line_len);
}

/* ---- helpers ------------------------------------------------------------ */


/* Stacks for the threads the benchmarks start, in the program's bss: a
 * thread's start and end then make no mmap or munmap, whose flushes (and
 * page-table frees, which IPI lazy CPUs and move them off the mm) would
 * change the state the next benchmark measures. */
#define STACKS 64
#define STACK_SIZE 8192
static _Alignas(4096) uint8_t stacks[STACKS][STACK_SIZE];

static void start_thread(struct uthread *t, unsigned slot, int (*fn)(void *), void *arg)
{
    check(thread_create_on(t, fn, arg, stacks[slot], STACK_SIZE), "thread_create");
}

static void join_thread(struct uthread *t, const char *what)
{
    int code = -1;
    check(thread_join(t, &code), "thread_join");
    if (code != 0)
        die("%s: thread ended with %d", what, code);
}

/* ---- getpid: one system call's round trip -------------------------------- */

static void bench_getpid(void)
{
    unsigned n = iters_for(2000), w = warmup_for(n);
    for (unsigned i = 0; i < w; i++)
        sys_getpid();
    measure_start();
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = tsc_begin();
        sys_getpid();
        samples[i] = tsc_end() - t0;
    }
    report("getpid", &plain, n);
}

/* ---- ping-pong through yield, futexes, IPC ------------------------------
 * Two threads (or two processes) on CPU 0 take turns; one sample is a round
 * trip: two context switches and what each side does to hand over. */

static volatile int partner_stop;

static int yield_partner(void *arg)
{
    (void)arg;
    while (!partner_stop)
        sys_yield();
    return 0;
}

static void yield_measure(const char *name)
{
    unsigned n = iters_for(1000), w = warmup_for(n);
    for (unsigned i = 0; i < w; i++)
        sys_yield();
    measure_start();
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = tsc_begin();
        sys_yield();
        samples[i] = tsc_end() - t0;
    }
    report(name, &plain, n);
}

static void bench_yield_thread(void)
{
    struct uthread t;
    partner_stop = 0;
    start_thread(&t, 0, yield_partner, NULL);
    yield_measure("yield_thread");
    partner_stop = 1;
    join_thread(&t, "yield_thread");
}

/* The child process yields as often as the parent will, and a margin more:
 * it cannot see a flag of the parent's (no shared memory), so it stops by
 * count; its surplus yields, after the parent's last, find nobody else. */
static void bench_yield_proc(void)
{
    unsigned n = iters_for(1000), w = warmup_for(n);
    int pid = sys_fork();
    check(pid, "fork");
    if (pid == 0) {
        for (unsigned i = 0; i < n + w + 1000; i++)
            sys_yield();
        sys_exit(0);
    }
    yield_measure("yield_proc");
    wait_ok(pid, "child");
}

/* The futex ping-pong's word, and the partner's stop flag: in the data of
 * the process for two threads, in a shared mapping for two processes. */
struct futex_pair {
    volatile uint32_t turn;     /* 0: the measuring side's, 1: the partner's */
    volatile uint32_t stop;
};

static void futex_partner_loop(struct futex_pair *fp)
{
    for (;;) {
        while (fp->turn != 1)
            sys_futex_wait(&fp->turn, 0, 0);
        if (fp->stop)
            return;
        fp->turn = 0;
        sys_futex_wake(&fp->turn, 1);
    }
}

static int futex_partner(void *arg)
{
    futex_partner_loop(arg);
    return 0;
}

static void futex_round_trip(struct futex_pair *fp)
{
    fp->turn = 1;
    sys_futex_wake(&fp->turn, 1);
    while (fp->turn != 0)
        sys_futex_wait(&fp->turn, 1, 0);
}

static void futex_measure(struct futex_pair *fp, const char *name)
{
    unsigned n = iters_for(1000), w = warmup_for(n);
    for (unsigned i = 0; i < w; i++)
        futex_round_trip(fp);
    measure_start();
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = tsc_begin();
        futex_round_trip(fp);
        samples[i] = tsc_end() - t0;
    }
    report(name, &plain, n);
    fp->stop = 1;
    fp->turn = 1;
    sys_futex_wake(&fp->turn, 1);
}

static void bench_futex_thread(void)
{
    static struct futex_pair fp;
    fp.turn = 0;
    fp.stop = 0;
    struct uthread t;
    start_thread(&t, 0, futex_partner, &fp);
    futex_measure(&fp, "futex_thread");
    join_thread(&t, "futex_thread");
}

/* Two processes: the word is in an anonymous shared mapping that the child
 * inherits over fork, so a wait in one is woken by a wake in the other. */
static void bench_futex_proc(void)
{
    struct futex_pair *fp = mmap_shared(PAGE);
    if (!fp)
        die("futex_proc: mmap_shared failed");
    int pid = sys_fork();
    check(pid, "fork");
    if (pid == 0) {
        futex_partner_loop(fp);
        sys_exit(0);
    }
    futex_measure(fp, "futex_proc");
    wait_ok(pid, "child");
    check(sys_munmap(fp, PAGE), "munmap");
}

#define IPC_STOP 0x5709
static int ipc_ep;

/* Answers calls on ipc_ep until one is labelled IPC_STOP (answered too):
 * a server's loop, each answer and the next receive in one system call. */
static int ipc_server(void *arg)
{
    (void)arg;
    struct sd_ipc_msg m;
    if (sys_ipc_recv(ipc_ep, &m) < 0)
        return 1;
    while (m.label != IPC_STOP) {
        m.label++;
        if (sys_ipc_reply_recv(ipc_ep, &m, &m) < 0)
            return 2;
    }
    m.label++;
    return sys_ipc_reply(&m) < 0 ? 3 : 0;
}

static void ipc_call(uint64_t label)
{
    struct sd_ipc_msg req = { .label = label }, reply;
    int r = sys_ipc_call(ipc_ep, &req, &reply);
    if (r < 0 || reply.label != label + 1)
        die("ipc_call: %d, label %#lx", r, (unsigned long)reply.label);
}

static void ipc_measure(const char *name)
{
    unsigned n = iters_for(1000), w = warmup_for(n);
    for (unsigned i = 0; i < w; i++)
        ipc_call(i);
    measure_start();
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = tsc_begin();
        ipc_call(i);
        samples[i] = tsc_end() - t0;
    }
    report(name, &plain, n);
    ipc_call(IPC_STOP);
}

static void ipc_endpoint(void)
{
    if (ipc_ep > 0)
        return;
    char name[SD_NAME_MAX];
    snprintf(name, sizeof(name), "bench-%d", sys_getpid());
    ipc_ep = sys_ipc_create(name);
    check(ipc_ep, "ipc_create");
}

static void bench_ipc_thread(void)
{
    ipc_endpoint();
    struct uthread t;
    start_thread(&t, 0, ipc_server, NULL);
    ipc_measure("ipc_thread");
    join_thread(&t, "ipc_thread's server");
}

static void bench_ipc_proc(void)
{
    ipc_endpoint();
    int pid = sys_fork();
    check(pid, "fork");
    if (pid == 0)
        sys_exit(ipc_server(NULL));
    ipc_measure("ipc_proc");
    wait_ok(pid, "child");
}

/* ---- munmap --------------------------------------------------------------
 * The victim pages sit right after a page that stays mapped (and, for 512
 * pages, right before another), so no munmap empties a page table: what is
 * measured is clearing PTEs and the TLB shootdown, never a table's free
 * (which sends IPIs to lazy CPUs too, docs/tlb.md). */

#define MUNMAP_BASE 0x300000000000ul        /* 2 MiB aligned: one page table's span */
#define RW (SD_PROT_READ | SD_PROT_WRITE)

static void map_fixed(uintptr_t addr, size_t pages)
{
    long r = sys_mmap((void *)addr, pages * PAGE, RW);
    check(r, "mmap");
    if ((uintptr_t)r != addr)
        die("mmap at %#lx gave %#lx", (unsigned long)addr, (unsigned long)r);
    for (size_t i = 0; i < pages; i++)
        *(volatile uint8_t *)(addr + i * PAGE) = 1;
}

static bool keepers_mapped;

static void keepers_map(void)
{
    if (keepers_mapped)
        return;
    map_fixed(MUNMAP_BASE, 1);
    map_fixed(MUNMAP_BASE + 513 * PAGE, 1);
    keepers_mapped = true;
}

/* At the end of each benchmark that mapped them: the keepers' two pages
 * hold four page tables (a PDPT, a PD and two PTs), which every later fork
 * would copy and every later exit tear down - enough to move fork's median
 * by a tenth under QEMU.  Unmapping both empties and frees those tables. */
static void keepers_unmap(void)
{
    check(sys_munmap((void *)MUNMAP_BASE, PAGE), "munmap");
    check(sys_munmap((void *)(MUNMAP_BASE + 513 * PAGE), PAGE), "munmap");
    keepers_mapped = false;
}

/* One munmap of `pages` touched pages after the first keeper, timed. */
static uint64_t munmap_once(size_t pages)
{
    uintptr_t victim = MUNMAP_BASE + PAGE;
    map_fixed(victim, pages);
    uint64_t t0 = tsc_begin();
    int r = sys_munmap((void *)victim, pages * PAGE);
    uint64_t t = tsc_end() - t0;
    check(r, "munmap");
    return t;
}

static void bench_munmap(void)
{
    static const int sizes[] = { 1, 8, 33, 34, 64, 512 };
    keepers_map();
    for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        unsigned n = iters_for(sizes[s] >= 64 ? 100 : 200), w = warmup_for(n);
        for (unsigned i = 0; i < w; i++)
            munmap_once(sizes[s]);
        measure_start();
        for (unsigned i = 0; i < n; i++)
            samples[i] = munmap_once(sizes[s]);
        struct config c = { -1, sizes[s], NULL };
        report("munmap", &c, n);
    }
    keepers_unmap();
}

/* The k other threads, on CPUs 1..k: busy ones spin in user mode until
 * told to stop; idle ones sleep in futex_wait, so their CPUs run the idle
 * task (a kernel thread) on this mm: lazy. */
static volatile uint32_t crowd_release;
static _Atomic int crowd_arrived;

static int crowd_member(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    int cpu = (int)(v >> 1);
    bool idle = v & 1;
    if (pin_to_cpu(cpu) < 0)
        return 1;
    atomic_fetch_add(&crowd_arrived, 1);
    while (!crowd_release) {
        if (idle)
            sys_futex_wait(&crowd_release, 0, 0);
        else
            cpu_relax();
    }
    return 0;
}

/* Whether one munmap now sends no flush IPI: every idle member is asleep
 * (a member still on its way into futex_wait keeps its CPU non-lazy). */
static bool crowd_asleep(void)
{
    struct sd_tlb_stats *s = &stats_before;
    stats_read(s);
    uint64_t before = stat_value(s, "tlb.ipi_sent");
    munmap_once(1);
    stats_read(s);
    return stat_value(s, "tlb.ipi_sent") == before;
}

static void bench_munmap_k(void)
{
    int cpus = sys_cpu_count();
    static struct uthread crowd[STACKS];
    keepers_map();
    for (int idle = 0; idle <= 1; idle++) {
        for (int k = 0; k < cpus && k < STACKS; k++) {
            crowd_release = 0;
            atomic_store(&crowd_arrived, 0);
            for (int i = 0; i < k; i++)
                start_thread(&crowd[i], (unsigned)i, crowd_member, (void *)(uintptr_t)((i + 1) << 1 | idle));
            while (atomic_load(&crowd_arrived) < k)
                sys_yield();
            for (int tries = 0; idle && k && !crowd_asleep(); tries++) {
                if (tries == 1000)
                    die("munmap_k: %d threads did not fall asleep", k);
                sys_sleep(1);
            }
            /* 100: a busy k's munmap waits until the host runs all k
             * spinning vCPUs, up to tens of ms each on a loaded host. */
            unsigned n = iters_for(100), w = warmup_for(n);
            for (unsigned i = 0; i < w; i++)
                munmap_once(1);
            measure_start();
            for (unsigned i = 0; i < n; i++)
                samples[i] = munmap_once(1);
            struct config c = { k, 0, idle ? "idle" : "busy" };
            report("munmap_k", &c, n);
            crowd_release = 1;
            sys_futex_wake(&crowd_release, 64);
            for (int i = 0; i < k; i++)
                join_thread(&crowd[i], "munmap_k (a thread that could not move to its CPU?)");
        }
    }
    keepers_unmap();
}

/* ---- mprotect: one touched page made read-only ----------------------------
 * Timed: the downgrade (which must flush).  Untimed, and in the counters:
 * the upgrade back and a write that touches the page again. */

static void bench_mprotect(void)
{
    keepers_map();
    uintptr_t page = MUNMAP_BASE + PAGE;
    map_fixed(page, 1);
    unsigned n = iters_for(200), w = warmup_for(n);
    for (unsigned i = 0; i < n + w; i++) {
        if (i == w)
            measure_start();
        uint64_t t0 = tsc_begin();
        int r = sys_mprotect((void *)page, PAGE, SD_PROT_READ);
        uint64_t t = tsc_end() - t0;
        check(r, "mprotect");
        check(sys_mprotect((void *)page, PAGE, RW), "mprotect");
        *(volatile uint8_t *)page = 2;
        if (i >= w)
            samples[i - w] = t;
    }
    report("mprotect", &plain, n);
    check(sys_munmap((void *)page, PAGE), "munmap");
    keepers_unmap();
}

/* ---- fork + 8 copy-on-write writes + exit + wait; thread spawn + exit ----- */

#define COW_PAGES 8
static _Alignas(4096) uint8_t cow_area[COW_PAGES * 4096];

static void bench_fork(void)
{
    /* Volatile: cow_area is never read, and plain stores to it would be
     * dead to the compiler (the child's too: sys_exit cannot reach it). */
    for (unsigned p = 0; p < COW_PAGES; p++)
        *(volatile uint8_t *)&cow_area[p * PAGE] = 1;   /* present in the parent: the child copies on write */
    unsigned n = iters_for(100), w = warmup_for(n);
    for (unsigned i = 0; i < n + w; i++) {
        if (i == w)
            measure_start();
        uint64_t t0 = tsc_begin();
        int pid = sys_fork();
        if (pid == 0) {
            for (unsigned p = 0; p < COW_PAGES; p++)
                *(volatile uint8_t *)&cow_area[p * PAGE] = 2;
            sys_exit(0);
        }
        check(pid, "fork");
        wait_ok(pid, "child");
        uint64_t t = tsc_end() - t0;
        if (i >= w)
            samples[i - w] = t;
    }
    report("fork", &plain, n);
}

static void thread_exits(void *arg)
{
    (void)arg;
    sys_thread_exit(0);
}

static void bench_thread(void)
{
    static _Alignas(16) uint8_t stack[STACK_SIZE];
    unsigned n = iters_for(200), w = warmup_for(n);
    for (unsigned i = 0; i < n + w; i++) {
        if (i == w)
            measure_start();
        uint64_t t0 = tsc_begin();
        int tid = sys_thread_create(thread_exits, stack + sizeof(stack), NULL);
        check(tid, "thread_create");
        int code = -1;
        check(sys_thread_join(tid, &code), "thread_join");
        uint64_t t = tsc_end() - t0;
        if (code != 0)
            die("thread exited with %d", code);
        if (i >= w)
            samples[i - w] = t;
    }
    report("thread", &plain, n);
}

/* ---- a kernel thread's lazy round trip (measured by the kernel) ----------- */

static void bench_lazy_trip(void)
{
    unsigned n = iters_for(1000), w = warmup_for(n);
    check(sys_lazy_trip(samples, w), "lazy_trip");
    measure_start();
    check(sys_lazy_trip(samples, n), "lazy_trip");
    report("lazy_trip", &plain, n);
}

/* ---- the table and main --------------------------------------------------- */

static const struct {
    const char *name;
    void (*run)(void);
} benches[] = {
    { "getpid", bench_getpid },
    { "yield_thread", bench_yield_thread },
    { "yield_proc", bench_yield_proc },
    { "futex_thread", bench_futex_thread },
    { "futex_proc", bench_futex_proc },
    { "ipc_thread", bench_ipc_thread },
    { "ipc_proc", bench_ipc_proc },
    { "munmap_k", bench_munmap_k },
    { "munmap", bench_munmap },
    { "mprotect", bench_mprotect },
    { "fork", bench_fork },
    { "thread", bench_thread },
    { "lazy_trip", bench_lazy_trip },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

int main(int argc, char **argv)
{
    prog_name = "bench";
    const char *it = getenv("ITERS");
    if (it) {
        iters_override = atol(it);
        if (iters_override < 1 || iters_override > MAX_ITERS)
            die("ITERS=%s: want 1..%d", it, MAX_ITERS);
    }
    bool chosen[NBENCH] = { false };
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "list")) {
            for (unsigned b = 0; b < NBENCH; b++)
                printf("%s\n", benches[b].name);
            return 0;
        }
        unsigned b = 0;
        while (b < NBENCH && strcmp(argv[a], benches[b].name))
            b++;
        if (b == NBENCH) {
            printf("bench: no benchmark '%s'; the benchmarks are:", argv[a]);
            for (b = 0; b < NBENCH; b++)
                printf(" %s", benches[b].name);
            printf("\n");
            return 2;
        }
        chosen[b] = true;
    }
    if (pin_to_cpu(0) < 0)
        die("cannot run on CPU 0");
    for (unsigned b = 0; b < NBENCH; b++)
        if (argc == 1 || chosen[b])
            benches[b].run();
    return 0;
}
