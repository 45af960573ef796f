/*
 * shm: shared memory between processes and futexes across them
 * (docs/syscalls.md, "Shared memory"; docs/memory.md, "Futex keys"), by
 * counts and values:
 *   - bad arguments: thread_create's clear word misaligned -SD_EINVAL, in
 *     the kernel half -SD_EFAULT; unknown mmap flag and SD_MAP_SHARED given to mprotect
 *     -SD_EINVAL; shm_create with an empty name, a zero or too big size
 *     -SD_EINVAL, a bad name pointer -SD_EFAULT, a name in use -SD_EEXIST;
 *     shm_map/shm_unlink of an unknown name -SD_ENOENT; futex_wait on a
 *     misaligned shared word -SD_EINVAL, on an unmapped one -SD_EFAULT;
 *   - fork shares both ways: a page touched before the fork and one first
 *     touched by the child after it; each side sees the other's writes
 *     while both live (a private page next to them stays copy-on-write);
 *   - a shared word's 2-tick futex_wait times out (-SD_ETIMEDOUT);
 *   - waking across processes: the child sleeps in futex_wait on a shared
 *     word, the parent wakes it through its own mapping; a wake through a
 *     PRIVATE word at the same address wakes nobody in the other process;
 *   - no lost wake-up: parent and child hand a turn back and forth ROUNDS
 *     times through futex_wait/futex_wake, on one CPU and on two; a sleep
 *     that lasts LOST_NS (the safety net below) is a lost wake-up;
 *   - a waiter whose own mapping is unmapped by another thread of its
 *     process is still woken through the other process's mapping;
 *   - named memory between unrelated processes: `shm named NAME` is
 *     spawned (no fork, nothing inherited), maps the object by name at
 *     another address and ping-pongs with us through it;
 *   - thread_join sleeps on the exit word (user/lib/thread.c).
 * The kernel test (tests/test_user.c) checks that frames, heap, mms and
 * shared objects are back to their baseline afterwards.
 */
#include <ulib.h>

#define ROUNDS 2000
/* A safety net, not a measure: every waiter here sleeps only until the
 * other side's store and futex_wake, which come within a few scheduling
 * rounds; a sleep that lasts this long means the wake-up went to nobody
 * (the futex keys of the two sides differ).  It turns what would be a hang
 * into a message. */
#define LOST_NS (20ull * 1000 * 1000 * 1000)

struct shared {
    volatile uint32_t turn;         /* ping-pong: whose turn (0 parent, 1 child) */
    volatile uint32_t ready;        /* the child is about to sleep */
    volatile uint32_t word;         /* what the child sleeps on */
    volatile uint32_t timeouts;     /* the child's lost wake-ups */
    volatile uint64_t from_child;
    volatile uint64_t from_parent;
};

static uint64_t private_page[512] __attribute__((aligned(4096)));
static int unmapped_early;

static void expect(long got, long want, const char *what)
{
    if (got != want)
        die("%s = %ld, want %ld", what, got, want);
}

/* Play `me` in the turn game for ROUNDS rounds; returns lost wake-ups. */
static unsigned play(volatile uint32_t *turn, uint32_t me)
{
    unsigned lost = 0;
    for (int i = 0; i < ROUNDS; i++) {
        while (*turn != me)
            if (futex_wait(turn, 1 - me, LOST_NS) == -SD_ETIMEDOUT)
                return ++lost;
        *turn = 1 - me;
        futex_wake(turn, 1);
    }
    return lost;
}

/* An entry point for thread_create calls that must fail before a thread
 * exists. */
static void never_started(void *arg)
{
    (void)arg;
    sys_thread_exit(1);
}

static void test_errors(void)
{
    /* thread_create's clear word is a futex word: checked before a thread
     * is made. */
    static uint8_t stack[256] __attribute__((aligned(16)));
    expect(sys_thread_create_cw(never_started, stack + sizeof(stack), NULL,
                                (volatile uint32_t *)((uintptr_t)&private_page[2] + 2)),
           -SD_EINVAL, "thread_create with a misaligned clear word");
    expect(sys_thread_create_cw(never_started, stack + sizeof(stack), NULL,
                                (volatile uint32_t *)0xffff800000001000ull),
           -SD_EFAULT, "thread_create with a kernel clear word");

    expect(sys_mmap(NULL, 4096, SD_PROT_READ | 0x20), -SD_EINVAL, "mmap with an unknown flag");
    long m = sys_mmap(NULL, 4096, SD_PROT_READ | SD_PROT_WRITE | SD_MAP_SHARED);
    if (sys_is_err(m))
        die("shared mmap: %ld", m);
    expect(sys_mprotect((void *)m, 4096, SD_PROT_READ | SD_MAP_SHARED), -SD_EINVAL,
           "mprotect with SD_MAP_SHARED");
    expect(sys_mmap(NULL, SD_SHM_MAX + 4096, SD_PROT_READ | SD_MAP_SHARED), -SD_EINVAL,
           "a shared mmap over SD_SHM_MAX");
    expect(futex_wait((volatile uint32_t *)(m + 2), 0, 0), -SD_EINVAL, "futex_wait misaligned (shared)");
    expect(sys_munmap((void *)m, 4096), 0, "munmap");
    expect(futex_wait((volatile uint32_t *)m, 0, 0), -SD_EFAULT, "futex_wait on an unmapped shared word");

    expect(sys_shm_create("", 4096), -SD_EINVAL, "shm_create of an empty name");
    expect(sys_shm_create("shm.err", 0), -SD_EINVAL, "shm_create of 0 bytes");
    expect(sys_shm_create("shm.err", SD_SHM_MAX + 1), -SD_EINVAL, "shm_create over SD_SHM_MAX");
    expect(sys_shm_create((const char *)0xffff800000001000ull, 4096), -SD_EFAULT,
           "shm_create with a kernel name pointer");
    expect(sys_shm_map("shm.none", SD_PROT_READ), -SD_ENOENT, "shm_map of an unknown name");
    expect(sys_shm_unlink("shm.none"), -SD_ENOENT, "shm_unlink of an unknown name");
    expect(sys_shm_create("shm.err", 100), 0, "shm_create");
    expect(sys_shm_create("shm.err", 100), -SD_EEXIST, "shm_create of a name in use");
    expect(sys_shm_map("shm.err", SD_PROT_READ | SD_MAP_SHARED), -SD_EINVAL, "shm_map with a flag");
    expect(sys_shm_unlink("shm.err"), 0, "shm_unlink");
    expect(sys_shm_unlink("shm.err"), -SD_ENOENT, "shm_unlink twice");

    /* A timeout on a shared word. */
    struct sd_clock c;
    sys_clock(&c);
    volatile uint32_t *w = mmap_shared(4096);
    if (!w)
        die("mmap_shared");
    expect(futex_wait(w, 0, 2 * c.tick_ns), -SD_ETIMEDOUT, "2-tick futex_wait on a shared word");
    expect(futex_wake(w, 10), 0, "futex_wake with nobody waiting (shared)");
    expect(sys_munmap((void *)w, 4096), 0, "munmap");
}

/* The forked side of test_fork_sharing: 0 when all it saw was right. */
static int fork_sharing_child(struct shared *s, volatile uint64_t *late)
{
    if (s->from_parent != 1)
        return 10;
    *late = 0xc0ffee;                   /* the first touch of that page anywhere */
    private_page[0] = 8;                /* copy-on-write: the parent keeps 7 */
    s->from_child = 42;
    s->word = 1;
    futex_wake(&s->word, 1);
    /* Now the parent's write, while we both live. */
    while (s->from_parent != 2)
        if (futex_wait(&s->word, 1, LOST_NS) == -SD_ETIMEDOUT)
            return 11;              /* the parent's wake-up was lost */
    return *late == 0xbeef ? 0 : 12;
}

/* Fork: both sides see each other's writes, through pages touched before
 * and after; the private page stays private. */
static void test_fork_sharing(void)
{
    struct shared *s = mmap_shared(3 * 4096);
    if (!s)
        die("mmap_shared");
    volatile uint64_t *late = (volatile uint64_t *)((char *)s + 2 * 4096);    /* untouched until the child */
    s->from_parent = 1;
    private_page[0] = 7;
    int pid = sys_fork();
    if (pid < 0)
        die("fork: %d", pid);
    if (pid == 0)
        sys_exit(fork_sharing_child(s, late));
    while (s->word == 0)
        if (futex_wait(&s->word, 0, LOST_NS) == -SD_ETIMEDOUT)
            die("fork: the child's wake-up was lost (it stored %u and woke us)", s->word);
    if (s->from_child != 42 || *late != 0xc0ffee)
        die("fork: the child's writes are not seen (%lu, %#lx)", (unsigned long)s->from_child,
            (unsigned long)*late);
    if (private_page[0] != 7)
        die("fork: a private page was shared (%lu)", (unsigned long)private_page[0]);
    *late = 0xbeef;
    s->from_parent = 2;
    s->word = 2;
    futex_wake(&s->word, 1);
    wait_ok(pid, "fork sharing child");
    expect(sys_munmap(s, 3 * 4096), 0, "munmap");
}

/* Wake (at most one) waiter of *w until one was woken; die after LOST_NS. */
static void wake_one_sleeper(volatile uint32_t *w, const char *what)
{
    uint64_t t0 = clock_ns();
    while (futex_wake(w, 100) == 0) {
        if (clock_ns() - t0 > LOST_NS)
            die("%s: no sleeper of the word was found to wake", what);
        sys_yield();
    }
}

/* Waking across processes: the child sleeps on a shared word that never
 * changes, so only a wake from the parent (through the parent's own
 * mapping) ends its sleep.  Before that, the child sleeps 4 ticks on a
 * PRIVATE word while the parent wakes the same address in its own copy:
 * private keys stay per process, so that sleep must time out. */
static void test_cross_wake(void)
{
    struct shared *s = mmap_shared(4096);
    if (!s)
        die("mmap_shared");
    struct sd_clock c;
    sys_clock(&c);
    private_page[1] = 0;
    int pid = sys_fork();
    if (pid < 0)
        die("fork: %d", pid);
    if (pid == 0) {
        s->ready = 1;
        int r = futex_wait((volatile uint32_t *)&private_page[1], 0, 4 * c.tick_ns);
        if (r != -SD_ETIMEDOUT) {
            s->ready = 3;           /* the parent's private wake reached us */
            sys_exit(20);
        }
        s->ready = 2;
        r = futex_wait(&s->word, 0, LOST_NS);
        sys_exit(r == 0 ? 0 : 21);
    }
    long private_woken = 0;
    while (s->ready < 2) {
        if (s->ready == 1)
            private_woken += futex_wake((volatile uint32_t *)&private_page[1], 100);
        sys_yield();
    }
    if (private_woken || s->ready == 3)
        die("a wake of a private word woke %ld sleepers of another process", private_woken);
    wake_one_sleeper(&s->word, "cross-process wake");
    wait_ok(pid, "cross-process waiter");
    expect(sys_munmap(s, 4096), 0, "munmap");
}

/* Turns back and forth between two processes: one CPU, then two. */
static void test_pingpong(bool two_cpus)
{
    struct shared *s = mmap_shared(4096);
    if (!s)
        die("mmap_shared");
    s->turn = 0;
    int pid = sys_fork();
    if (pid < 0)
        die("fork: %d", pid);
    if (pid == 0) {
        if (two_cpus && pin_to_cpu(1) < 0)
            sys_exit(30);
        s->timeouts = play(&s->turn, 1);
        futex_wake(&s->turn, 1);
        sys_exit(0);
    }
    unsigned lost = play(&s->turn, 0);
    wait_ok(pid, "ping-pong child");
    if (lost || s->timeouts)
        die("ping-pong (%s): lost wake-ups: parent %u, child %u", two_cpus ? "2 cpus" : "1 cpu",
            lost, s->timeouts);
    expect(sys_munmap(s, 4096), 0, "munmap");
}

/* test_unmapped_waiter's control block: in a mapping of its own, which
 * nobody unmaps during the scenario. */
struct control {
    volatile uint32_t sleeping;     /* the waiter is about to sleep */
    volatile uint32_t unmapped;     /* its process unmapped the word's mapping */
    volatile uint32_t early;        /* the unmap came first: the wait failed */
};
static struct control *ctl;
static struct shared *unmap_target;

static int unmapper(void *arg)
{
    (void)arg;
    while (!ctl->sleeping)
        sys_yield();
    sys_sleep(20);                  /* usually the waiter sleeps by now; if not, `early` says so */
    int r = sys_munmap(unmap_target, 4096);
    ctl->unmapped = 1;
    futex_wake(&ctl->unmapped, 1);
    return r == 0 ? 0 : 1;
}

/* The forked side: sleep on s->word while another thread unmaps s. */
static int unmapped_waiter_child(struct shared *s)
{
    unmap_target = s;
    struct uthread t;
    if (thread_create(&t, unmapper, NULL) < 0)
        return 40;
    ctl->sleeping = 1;
    int r = futex_wait(&s->word, 0, LOST_NS);
    if (r == -SD_EFAULT) {
        ctl->early = 1;             /* unmapped before we slept: not the case under test */
        futex_wake(&ctl->unmapped, 1);
    }
    int code;
    if (thread_join(&t, &code) < 0 || code != 0)
        return 41;
    return r == 0 || r == -SD_EFAULT ? 0 : 42;
}

/* A waiter keeps its key when its mapping goes: the parent, which still
 * maps the object, wakes it.  A schedule in which the unmap came before
 * the sleep (the wait then fails with -SD_EFAULT) tests something else:
 * it is counted and the scenario made again, at most TRIES times. */
#define TRIES 10
static void test_unmapped_waiter(void)
{
    ctl = mmap_shared(4096);
    if (!ctl)
        die("mmap_shared");
    int early = 0;
    for (;;) {
        struct shared *s = mmap_shared(4096);
        if (!s)
            die("mmap_shared");
        ctl->sleeping = ctl->unmapped = ctl->early = 0;
        int pid = sys_fork();
        if (pid < 0)
            die("fork: %d", pid);
        if (pid == 0)
            sys_exit(unmapped_waiter_child(s));
        while (!ctl->unmapped && !ctl->early)
            if (futex_wait(&ctl->unmapped, 0, LOST_NS) == -SD_ETIMEDOUT)
                die("unmapped waiter: the child's wake-up was lost");
        bool was_early = ctl->early;
        if (!was_early)
            wake_one_sleeper(&s->word, "waiter whose mapping was unmapped");
        wait_ok(pid, "waiter whose mapping was unmapped");
        expect(sys_munmap(s, 4096), 0, "munmap");
        if (!was_early)
            break;
        if (++early == TRIES)
            die("the unmap came before the sleep %d times in a row", TRIES);
    }
    expect(sys_munmap(ctl, 4096), 0, "munmap");
    unmapped_early = early;
}

/* The spawned side of the named test: map NAME, play the child's turns. */
static int named_child(const char *name, const char *parent_addr)
{
    struct shared *s = (struct shared *)sys_shm_map(name, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err((long)s))
        die("shm_map(%s) = %ld", name, (long)s);
    if ((long)s == atol(parent_addr))
        die("mapped at the parent's address %#lx: the test wants two addresses", (long)s);
    s->timeouts = play(&s->turn, 1);
    futex_wake(&s->turn, 1);
    return sys_munmap(s, 4096) == 0 ? 0 : 1;
}

static void test_named(void)
{
    expect(sys_shm_create("shm.test", sizeof(struct shared)), 0, "shm_create");
    /* Take the address the child will get, so ours differs. */
    long pad = sys_mmap(NULL, 4096, SD_PROT_READ);
    struct shared *s = (struct shared *)sys_shm_map("shm.test", SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err((long)s) || sys_is_err(pad))
        die("shm_map: %ld", (long)s);
    if (s->turn != 0)
        die("a new named object is not zero");
    char addr[24];
    snprintf(addr, sizeof(addr), "%ld", (long)s);
    const char *argv[] = { "shm", "named", "shm.test", addr, NULL };
    int pid = sys_spawn("shm", argv);
    if (pid < 0)
        die("spawn: %d", pid);
    unsigned lost = play(&s->turn, 0);
    /* The child mapped it (it played): the name may go, the mappings keep
     * the object - the child's last turn may still be coming. */
    expect(sys_shm_unlink("shm.test"), 0, "shm_unlink while mapped");
    wait_ok(pid, "named child");
    if (lost || s->timeouts)
        die("named ping-pong: lost wake-ups: parent %u, child %u", lost, s->timeouts);
    expect(sys_munmap(s, 4096), 0, "munmap");
    expect(sys_munmap((void *)pad, 4096), 0, "munmap");
}

static int quick(void *arg)
{
    return (int)(uintptr_t)arg;
}

int main(int argc, char **argv)
{
    prog_name = "shm";
    if (argc == 4 && strcmp(argv[1], "named") == 0)
        return named_child(argv[2], argv[3]);
    if (pin_to_cpu(0) < 0)
        die("pin_to_cpu(0)");
    /* A line per part: a runner that hears nothing for its timeout takes
     * the boot for a hang, and on a crowded host the ping-pongs are slow. */
    test_errors();
    test_fork_sharing();
    puts("shm: errors ok, fork shares both ways");
    test_cross_wake();
    test_pingpong(false);
    printf("shm: cross-process wake ok, %d turns on one CPU\n", 2 * ROUNDS);
    if (sys_cpu_count() > 1) {
        test_pingpong(true);
        printf("shm: %d turns on two CPUs\n", 2 * ROUNDS);
    }
    test_unmapped_waiter();
    test_named();
    /* thread_join through the exit word: many joins, each a futex sleep or
     * an -SD_EAGAIN. */
    for (int i = 0; i < 50; i++) {
        struct uthread t;
        int code;
        if (thread_create(&t, quick, (void *)(uintptr_t)i) < 0 || thread_join(&t, &code) < 0 ||
            code != i || t.running != 0)
            die("thread join %d", i);
    }
    printf("shm: unmapped waiter woken (%d early unmaps first), named object between unrelated "
           "processes, 50 futex joins: all ok\n", unmapped_early);
    return 0;
}
