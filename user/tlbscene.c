/*
 * tlbscene: the user half of the boot demo's TLB scene (kernel/demo/tlb_scene.c,
 * docs/demo.md).  One thread per CPU, each pinned to its CPU, touch the same
 * pages; thread 0 (on cpu0) unmaps and remaps them, so the kernel must
 * flush the other CPUs' TLBs.  In acts 2 and 3 the thread on the last CPU
 * blocks in an IPC call to a kernel thread bound to that CPU: the kernel
 * thread then runs on this program's page tables without owning them
 * (lazy TLB), and thread 0 changes the page tables meanwhile.
 *
 * This program only acts; the kernel side tells what the TLB did, from
 * the trace, each time thread 0 asks it to (TLBSCENE_NARRATE).  Its own
 * lines say what it is about to do.
 *
 * The threads meet through `phase`: thread 0 publishes (number << 32 |
 * mask of the threads that must act), and each thread of the mask does
 * the phase's action and stores the number in done[me].  A thread that is
 * blocked in the borrower's call is left out of the mask, so it never
 * touches a page that is unmapped meanwhile.
 */
#include <ulib.h>
#include <uapi/tlbscene.h>

#define MAX_THREADS 16
/* Two pages in one page table (the first keeps the table alive when the
 * second is unmapped), and one page alone in the next 2 MiB, whose page
 * table is freed when it is unmapped. */
#define PAGES       0x200000000000ul
#define VICTIM      (PAGES + 4096)
#define LONELY      (PAGES + (2ul << 20))

enum action { TOUCH_ALL, TOUCH_VICTIM, STEP_ASIDE, QUIT };

static int nthreads;
static _Atomic uint64_t phase;                  /* number << 32 | mask */
static _Atomic uint32_t done[MAX_THREADS];
static _Atomic int back;                        /* the borrower's caller returned */
static enum action actions[64];                 /* by phase number */
static int director, borrower;

static void touch(uintptr_t va, int me)
{
    volatile uint64_t *p = (volatile uint64_t *)va;
    p[me] = (uint64_t)me + 1;
    if (p[me] != (uint64_t)me + 1)
        die("page %#lx: read back %#lx", (unsigned long)va, (unsigned long)p[me]);
}

static void act(enum action a, int me)
{
    switch (a) {
    case TOUCH_ALL:
        touch(PAGES, me);
        touch(VICTIM, me);
        touch(LONELY, me);
        break;
    case TOUCH_VICTIM:
        touch(VICTIM, me);
        break;
    case STEP_ASIDE: {
        struct sd_ipc_msg m = { .label = TLBSCENE_BORROW }, reply;
        int r = sys_ipc_call(borrower, &m, &reply);
        if (r < 0)
            die("thread %d: the borrower's call failed: %d", me, r);
        atomic_store(&back, 1);
        break;
    }
    case QUIT:
        break;
    }
}

static int worker(void *arg)
{
    int me = (int)(uintptr_t)arg;
    int r = pin_to_cpu(me);
    if (r < 0)
        die("thread %d cannot run on cpu%d: %d", me, me, r);
    uint32_t seen = 0;
    for (;;) {
        uint64_t p;
        while ((uint32_t)((p = atomic_load(&phase)) >> 32) == seen)
            cpu_relax();
        seen = (uint32_t)(p >> 32);
        if (p & (1ull << me))
            act(actions[seen], me);
        atomic_store(&done[me], seen);
        if (actions[seen] == QUIT && (p & (1ull << me)))
            return 0;
    }
}

/* Thread 0: publish the next phase for the threads of `mask` (thread 0
 * acts too when it is in the mask) and, with `wait`, wait until they
 * have acted. */
static uint32_t next_phase;
static void everyone(enum action a, uint64_t mask, bool wait)
{
    uint32_t n = ++next_phase;
    if (n >= sizeof(actions) / sizeof(actions[0]))
        die("too many phases");
    actions[n] = a;
    atomic_store(&phase, (uint64_t)n << 32 | mask);
    if (mask & 1)
        act(a, 0);
    for (int t = 1; wait && t < nthreads; t++)
        while ((mask & (1ull << t)) && atomic_load(&done[t]) < n)
            cpu_relax();
}

static void narrate(enum tlbscene_act a)
{
    struct sd_ipc_msg m = { .label = TLBSCENE_NARRATE, .words = { (uint64_t)a } }, reply;
    int r = sys_ipc_call(director, &m, &reply);
    if (r < 0)
        die("narrate: %d", r);
}

static void map_at(uintptr_t va, size_t len)
{
    long m = sys_mmap((void *)va, len, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m) || (uintptr_t)m != va)
        die("mmap at %#lx: %ld", (unsigned long)va, m);
}

static void unmap(uintptr_t va, size_t len)
{
    int r = sys_munmap((void *)va, len);
    if (r < 0)
        die("munmap %#lx: %d", (unsigned long)va, r);
}

/* The last CPU's thread calls the borrower; returns once the kernel
 * thread runs there (the CPU is lazy from then on). */
static void step_aside(uint64_t all)
{
    struct sd_ipc_msg m = { .label = TLBSCENE_WAIT_LAZY }, reply;
    atomic_store(&back, 0);
    everyone(STEP_ASIDE, 1ull << (nthreads - 1), false);
    int r = sys_ipc_call(director, &m, &reply);
    if (r < 0)
        die("wait_lazy: %d", r);
    (void)all;
}

/* Let the borrower go and wait until the thread it held is back. */
static void come_back(void)
{
    struct sd_ipc_msg m = { .label = TLBSCENE_RELEASE };
    int r = sys_ipc_send(director, &m);
    if (r < 0)
        die("release: %d", r);
    while (!atomic_load(&back))
        cpu_relax();
}

static bool quiet;
#define say(...) do { if (!quiet) printf(__VA_ARGS__); } while (0)

int main(int argc, char **argv)
{
    prog_name = "tlbscene";
    quiet = argc > 1 && strcmp(argv[1], "quiet") == 0;     /* the test's run: the kernel side is quiet too */
    int ncpu = sys_cpu_count();
    if (ncpu <= 0)
        die("cpu_count = %d", ncpu);
    nthreads = ncpu > MAX_THREADS ? MAX_THREADS : ncpu;
    director = sys_ipc_lookup(TLBSCENE_EP_DIRECTOR);
    if (director < 0)
        die("no endpoint '%s' (run me from the demo: demo=tlb)", TLBSCENE_EP_DIRECTOR);
    if (nthreads > 1) {
        borrower = sys_ipc_lookup(TLBSCENE_EP_BORROWER);
        if (borrower < 0)
            die("no endpoint '%s'", TLBSCENE_EP_BORROWER);
    }
    int r = pin_to_cpu(0);
    if (r < 0)
        die("cannot run on cpu0: %d", r);

    uint64_t all = nthreads >= 64 ? ~0ull : (1ull << nthreads) - 1;
    uint64_t last = 1ull << (nthreads - 1);
    map_at(PAGES, 2 * 4096);
    map_at(LONELY, 4096);
    struct uthread th[MAX_THREADS];
    for (int i = 1; i < nthreads; i++)
        if ((r = thread_create(&th[i], worker, (void *)(uintptr_t)i)) < 0)
            die("thread_create %d: %d", i, r);
    everyone(TOUCH_ALL, all, true);
    narrate(TLBSCENE_ACT_SETUP);

    say("tlbscene: act 1: %d threads, one per CPU, all touched page %#lx; thread 0 unmaps it\n",
           nthreads, (unsigned long)VICTIM);
    unmap(VICTIM, 4096);
    narrate(TLBSCENE_ACT_ALL_RUN);

    if (nthreads > 1) {
        say("tlbscene: act 2: the thread on cpu%d blocks in a call to a kernel thread there; meanwhile "
               "thread 0 maps page %#lx again, the running threads touch it, and it is unmapped - twice\n",
               nthreads - 1, (unsigned long)VICTIM);
        step_aside(all);
        for (int round = 0; round < 2; round++) {
            map_at(VICTIM, 4096);
            everyone(TOUCH_VICTIM, all & ~last, true);
            unmap(VICTIM, 4096);
        }
        come_back();
        narrate(TLBSCENE_ACT_LAZY);

        say("tlbscene: act 3: the thread on cpu%d blocks again; thread 0 unmaps page %#lx, the only "
               "page of its page table, so the table is freed\n", nthreads - 1, (unsigned long)LONELY);
        step_aside(all);
        unmap(LONELY, 4096);
        come_back();
        map_at(VICTIM, 4096);
        everyone(TOUCH_VICTIM, all, true);     /* the last CPU runs on the mm again */
        narrate(TLBSCENE_ACT_TABLES);
    } else {
        say("tlbscene: acts 2 and 3 need a second CPU: with one CPU no other TLB can hold a stale "
               "translation, so no IPI is ever needed\n");
    }

    say("tlbscene: act 4: the threads end and the program exits\n");
    everyone(QUIT, all & ~1ull, true);
    for (int i = 1; i < nthreads; i++) {
        int code = -1;
        if ((r = thread_join(&th[i], &code)) < 0 || code != 0)
            die("thread_join(%d) = %d, code %d", th[i].tid, r, code);
    }
    return 0;
}
