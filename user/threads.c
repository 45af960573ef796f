/*
 * threads: threads of one address space, each pinned to its own CPU, see
 * each other's writes.
 *
 * A token goes round the threads: in round r the thread r % n writes
 * slot[r] and passes the token on; each thread first checks the slot the
 * previous thread (on another CPU) wrote.  Every thread also maps a page
 * and publishes its address; the others read what it wrote there.  Exit
 * codes come back through thread_join.
 */
#include <ulib.h>

#define MAX_THREADS 8
#define ROUNDS_PER_THREAD 300

static int nthreads;
static _Atomic int ready;
static _Atomic unsigned token;
static uint64_t slot[MAX_THREADS * ROUNDS_PER_THREAD];
static _Atomic(uint64_t *) pages[MAX_THREADS];
static _Atomic int failures;

static uint64_t value(unsigned r)
{
    return 0x5eed0000ull * (r + 1) + r;
}

static void wait_token(unsigned want)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&token, memory_order_acquire) != want) {
        cpu_relax();
        if (++spins % 256 == 0)
            sys_yield();        /* fewer host cores than CPUs: let others run */
    }
}

static int worker(void *arg)
{
    int me = (int)(uintptr_t)arg;
    int r = pin_to_cpu(me);
    if (r < 0) {
        printf("threads: FAIL: thread %d cannot run on CPU %d: %d\n", me, me, r);
        atomic_fetch_add(&failures, 1);
    }
    int cpu = sys_getcpu();

    long m = sys_mmap(NULL, 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m)) {
        atomic_fetch_add(&failures, 1);
        return 99;
    }
    uint64_t *page = (uint64_t *)m;
    for (int i = 0; i < 512; i++)
        page[i] = ((uint64_t)me << 32) | (uint64_t)i;
    atomic_store_explicit(&pages[me], page, memory_order_release);
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < nthreads)
        sys_yield();

    for (unsigned r = (unsigned)me; r < (unsigned)(nthreads * ROUNDS_PER_THREAD); r += (unsigned)nthreads) {
        wait_token(r);
        if (r > 0 && slot[r - 1] != value(r - 1)) {
            printf("threads: FAIL: thread %d (CPU %d) round %u reads %#lx, want %#lx\n", me, cpu, r,
                   (unsigned long)slot[r - 1], (unsigned long)value(r - 1));
            atomic_fetch_add(&failures, 1);
        }
        slot[r] = value(r);
        atomic_store_explicit(&token, r + 1, memory_order_release);
    }

    /* Read every other thread's page. */
    for (int t = 0; t < nthreads; t++) {
        uint64_t *p = atomic_load_explicit(&pages[t], memory_order_acquire);
        for (int i = 0; i < 512; i++) {
            if (p[i] != (((uint64_t)t << 32) | (uint64_t)i)) {
                printf("threads: FAIL: thread %d reads %#lx in thread %d's page\n", me,
                       (unsigned long)p[i], t);
                atomic_fetch_add(&failures, 1);
                break;
            }
        }
    }
    return 100 + me;
}

int main(void)
{
    prog_name = "threads";
    int ncpu = sys_cpu_count();
    if (ncpu <= 0)
        die("cpu_count = %d", ncpu);
    nthreads = ncpu < 2 ? 2 : (ncpu > MAX_THREADS ? MAX_THREADS : ncpu);
    struct uthread th[MAX_THREADS];
    int tids[MAX_THREADS];
    for (int i = 1; i < nthreads; i++) {
        int r = thread_create(&th[i], worker, (void *)(uintptr_t)i);
        if (r < 0)
            die("thread_create %d: %d", i, r);
        tids[i] = th[i].tid;
        for (int j = 1; j < i; j++)
            if (tids[j] == tids[i])
                die("two threads with tid %d", tids[i]);
    }
    int code0 = worker((void *)0);
    if (code0 != 100)
        die("worker 0 returned %d", code0);
    for (int i = 1; i < nthreads; i++) {
        int code = -1;
        int r = thread_join(&th[i], &code);
        if (r < 0 || code != 100 + i)
            die("thread_join(%d) = %d, code %d, want %d", th[i].tid, r, code, 100 + i);
    }
    if (atomic_load(&failures))
        die("%d failures", atomic_load(&failures));
    if (atomic_load(&token) != (unsigned)(nthreads * ROUNDS_PER_THREAD))
        die("token at %u", atomic_load(&token));
    printf("threads: %d threads on %d CPUs ok\n", nthreads, ncpu);
    return 0;
}
