/*
 * fork_cow: after fork, parent and child each see their own data.
 *
 * 1. Data (bss), stack and an mmap'd region filled with a pattern; fork;
 *    the parent overwrites its copy at once, the child checks it still sees
 *    the old pattern, writes its own, checks it; the parent then checks its
 *    own values survived the child's writes.
 * 2. A multi-threaded parent: a second thread keeps writing a counter on
 *    another CPU while the main thread forks.  The child has only the
 *    forking thread: its counter must stay still and its data be whole; the
 *    parent's thread must keep running.
 * 3. A grandchild: fork in the child too.
 */
#include <ulib.h>

#define DATA_WORDS (64 * 1024 / 8)
static uint64_t data[DATA_WORDS];           /* bss: demand-zero, then COW */
static uint64_t initialized[16] = { 1, 2, 3 };  /* .data */

static void fill(uint64_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = seed * 1000003 + i;
}

/* Whether p[from .. from+n) still hold what fill(p, ..., seed) wrote there. */
static int check_range(const uint64_t *p, size_t from, size_t n, uint64_t seed, const char *what)
{
    for (size_t i = from; i < from + n; i++) {
        if (p[i] != seed * 1000003 + i) {
            printf("fork_cow: FAIL: %s[%d] = %#lx, want %#lx (seed %d)\n", what, (int)i,
                   (unsigned long)p[i], (unsigned long)(seed * 1000003 + i), (int)seed);
            return 1;
        }
    }
    return 0;
}

static int check(const uint64_t *p, size_t n, uint64_t seed, const char *what)
{
    return check_range(p, 0, n, seed, what);
}

static void test_basic(void)
{
    uint64_t stack[512];
    long m = sys_mmap(NULL, 8 * 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        die("mmap: %ld", m);
    uint64_t *region = (uint64_t *)m;
    fill(data, DATA_WORDS, 1);
    fill(stack, 512, 2);
    fill(region, 8 * 512, 3);
    initialized[3] = 77;
    int parent_pid = sys_getpid();

    int pid = sys_fork();
    if (pid < 0)
        die("fork: %d", pid);
    if (pid == 0) {
        int bad = 0;
        if (sys_getpid() == parent_pid)
            bad |= 64;
        sys_sleep(5);                       /* let the parent write first */
        bad |= check(data, DATA_WORDS, 1, "child data") << 0;
        bad |= check(stack, 512, 2, "child stack") << 1;
        bad |= check(region, 8 * 512, 3, "child mmap") << 2;
        if (initialized[0] != 1 || initialized[3] != 77)
            bad |= 8;
        fill(data, DATA_WORDS, 11);
        fill(stack, 512, 12);
        fill(region, 8 * 512, 13);
        bad |= check(data, DATA_WORDS, 11, "child data after write") << 4;
        bad |= check(region, 8 * 512, 13, "child mmap after write") << 5;
        sys_exit(bad);
    }
    /* The parent writes half of everything right away. */
    fill(data, DATA_WORDS / 2, 21);
    fill(region, 4 * 512, 23);
    wait_ok(pid, "fork child");
    if (check(data, DATA_WORDS / 2, 21, "parent data") ||
        check(stack, 512, 2, "parent stack") || check(region, 4 * 512, 23, "parent mmap") ||
        initialized[3] != 77)
        die("the parent's data changed under it");
    /* Check the part of data the parent did not write: the child's writes
     * must not have shown through. */
    for (size_t i = DATA_WORDS / 2; i < DATA_WORDS; i++)
        if (data[i] != 1 * 1000003 + i)
            die("parent sees the child's write at data[%d]", (int)i);
    sys_munmap(region, 8 * 4096);
}

/* ---- a multi-threaded parent ---- */
static _Atomic uint64_t counter;
static _Atomic int stop_counter;

static int count_forever(void *arg)
{
    (void)arg;
    pin_to_cpu(1);
    while (!atomic_load(&stop_counter))
        atomic_fetch_add(&counter, 1);
    return 5;
}

static void test_threaded_parent(void)
{
    struct uthread th;
    int r = thread_create(&th, count_forever, NULL);
    if (r < 0)
        die("thread_create: %d", r);
    while (atomic_load(&counter) < 1000)
        sys_yield();
    fill(data, DATA_WORDS, 31);
    for (int round = 0; round < 4; round++) {
        int pid = sys_fork();
        if (pid < 0)
            die("fork with two threads: %d", pid);
        if (pid == 0) {
            uint64_t c1 = atomic_load(&counter);
            sys_sleep(5);
            uint64_t c2 = atomic_load(&counter);
            if (c1 != c2) {
                printf("fork_cow: FAIL: counter moves in the child (%lu -> %lu)\n",
                       (unsigned long)c1, (unsigned long)c2);
                sys_exit(2);
            }
            if (check(data, DATA_WORDS, 31, "threaded child data"))
                sys_exit(3);
            fill(data, DATA_WORDS, 41);
            sys_exit(check(data, DATA_WORDS, 41, "threaded child data after write") ? 4 : 0);
        }
        uint64_t before = atomic_load(&counter);
        wait_ok(pid, "child of a threaded parent");
        uint64_t spins = 0;
        while (atomic_load(&counter) == before && spins++ < 100000)
            sys_yield();
        if (atomic_load(&counter) == before)
            die("the parent's second thread stopped after fork");
        if (check(data, DATA_WORDS, 31, "threaded parent data"))
            die("the threaded parent's data changed");
    }
    atomic_store(&stop_counter, 1);
    int code;
    if ((r = thread_join(&th, &code)) < 0 || code != 5)
        die("thread_join: %d code %d", r, code);
}

static void test_grandchild(void)
{
    fill(data, DATA_WORDS, 51);
    int pid = sys_fork();
    if (pid < 0)
        die("fork: %d", pid);
    if (pid == 0) {
        fill(data, 16, 52);
        int gpid = sys_fork();
        if (gpid < 0)
            sys_exit(10);
        if (gpid == 0) {
            int bad = check(data, 16, 52, "grandchild data") ||
                      check_range(data, 16, DATA_WORDS - 16, 51, "grandchild rest");
            fill(data, DATA_WORDS, 53);
            sys_exit(bad ? 11 : 0);
        }
        int status;
        if (sys_wait(gpid, &status) != gpid || status != 0)
            sys_exit(12);
        sys_exit(check(data, 16, 52, "child data after grandchild") ? 13 : 0);
    }
    wait_ok(pid, "child with a grandchild");
    if (check(data, DATA_WORDS, 51, "grandparent data"))
        die("the parent's data changed (grandchild test)");
}

int main(void)
{
    prog_name = "fork_cow";
    test_basic();
    test_threaded_parent();
    test_grandchild();
    puts("fork_cow: ok");
    return 0;
}
