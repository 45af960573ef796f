/*
 * futex: futex_wait / futex_wake between the threads of one process
 * (docs/syscalls.md, "Futexes"), by counts:
 *   - bad words: misaligned -SD_EINVAL; a kernel address -SD_EFAULT; waiting
 *     on NULL or an unmapped word -SD_EFAULT (the word cannot be read);
 *   - a word that does not hold `expected`: -SD_EAGAIN at once;
 *   - a timeout of 2 ticks: -SD_ETIMEDOUT, and the clock moved by at least
 *     that much (a bound, never an exact time);
 *   - wake with nobody waiting: 0;
 *   - wake(1) wakes at most one: 8 threads wait once each on an unchanged
 *     word; repeated wake(1) calls return 0 or 1 and add up to exactly 8;
 *   - no lost wake-up: two threads hand a turn back and forth 20000 times,
 *     each sleeping in futex_wait until the word is its turn (a lost wake-up
 *     hangs the program, and the test runner calls that a failure);
 *   - the runtime's mutex (user/lib/mutex.c): 4 threads x 20000 increments
 *     under it give exactly 80000.
 */
#include <ulib.h>

#define WAITERS 8
#define ROUNDS 20000
#define LOCKERS 4
#define INCREMENTS 20000

static volatile uint32_t word;
static _Atomic int arrived, returned;
static volatile uint32_t turn;
static struct umutex lock = UMUTEX_INIT;
static uint64_t counter;

static int waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    int r = sys_futex_wait(&word, 0, 0);
    atomic_fetch_add(&returned, 1);
    return r == 0 ? 0 : 1;          /* the word never changes: only a wake ends it */
}

static int player(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        while (turn != me)
            sys_futex_wait(&turn, 1 - me, 0);
        turn = 1 - me;
        sys_futex_wake(&turn, 1);
    }
    return 0;
}

static int locker(void *arg)
{
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++) {
        umutex_lock(&lock);
        counter++;
        umutex_unlock(&lock);
    }
    return 0;
}

int main(void)
{
    prog_name = "futex";
    int r;
    if ((r = sys_futex_wait((volatile uint32_t *)((uintptr_t)&word + 1), 0, 0)) != -SD_EINVAL)
        die("misaligned wait = %d, want -EINVAL", r);
    if ((r = sys_futex_wait(NULL, 0, 0)) != -SD_EFAULT)
        die("wait on NULL = %d, want -EFAULT", r);
    if ((r = sys_futex_wait((volatile uint32_t *)0xffff800000001000ull, 0, 0)) != -SD_EFAULT)
        die("wait on a kernel address = %d, want -EFAULT", r);
    if ((r = sys_futex_wait((volatile uint32_t *)(SD_USER_MMAP_BASE + (1ull << 40)), 0, 0)) != -SD_EFAULT)
        die("wait on an unmapped address = %d, want -EFAULT", r);
    if ((r = (int)sys_futex_wake((volatile uint32_t *)0xffff800000001000ull, 1)) != -SD_EFAULT)
        die("wake on a kernel address = %d, want -EFAULT", r);
    word = 5;
    if ((r = sys_futex_wait(&word, 4, 0)) != -SD_EAGAIN)
        die("wait for 4 on a word holding 5 = %d, want -EAGAIN", r);
    word = 0;
    if ((r = (int)sys_futex_wake(&word, 100)) != 0)
        die("wake with nobody waiting = %d", r);

    struct sd_clock c;
    sys_clock(&c);
    uint64_t t0 = clock_ns();
    if ((r = sys_futex_wait(&word, 0, 2 * c.tick_ns)) != -SD_ETIMEDOUT)
        die("wait with a 2-tick timeout = %d, want -ETIMEDOUT", r);
    uint64_t waited = clock_ns() - t0;
    if (waited < 2 * c.tick_ns)
        die("the timeout of %lu ns ended after %lu ns", (unsigned long)(2 * c.tick_ns), (unsigned long)waited);

    /* wake(1) wakes at most one; all are woken exactly once. */
    struct uthread th[WAITERS];
    for (int i = 0; i < WAITERS; i++)
        if (thread_create(&th[i], waiter, NULL) < 0)
            die("thread_create");
    while (atomic_load(&arrived) < WAITERS)
        sys_yield();
    long total = 0, calls = 0;
    while (atomic_load(&returned) < WAITERS || total < WAITERS) {
        long w = sys_futex_wake(&word, 1);
        if (w < 0 || w > 1)
            die("wake(1) = %ld", w);
        total += w;
        if (++calls > 10000000)
            die("8 waiters, %ld woken after %ld wakes", total, calls);
        if (!w)
            sys_yield();
    }
    for (int i = 0; i < WAITERS; i++) {
        int code;
        if (thread_join(&th[i], &code) < 0 || code != 0)
            die("waiter %d: %d", i, code);
    }
    if (total != WAITERS)
        die("%d waiters, wake(1) calls woke %ld", WAITERS, total);

    /* The turn goes back and forth; each side sleeps until it is its turn. */
    struct uthread p[2];
    turn = 0;
    for (int i = 0; i < 2; i++)
        if (thread_create(&p[i], player, (void *)(uintptr_t)i) < 0)
            die("thread_create");
    for (int i = 0; i < 2; i++)
        if (thread_join(&p[i], NULL) < 0)
            die("join player");

    struct uthread l[LOCKERS];
    for (int i = 0; i < LOCKERS; i++)
        if (thread_create(&l[i], locker, NULL) < 0)
            die("thread_create");
    for (int i = 0; i < LOCKERS; i++)
        if (thread_join(&l[i], NULL) < 0)
            die("join locker");
    if (counter != (uint64_t)LOCKERS * INCREMENTS)
        die("counter = %lu under the mutex, want %d", (unsigned long)counter, LOCKERS * INCREMENTS);
    printf("futex: errors ok, timeout after %lu ns, %d waiters woken one by one (%ld wake calls), %d turns, mutex count %lu\n",
           (unsigned long)waited, WAITERS, calls, 2 * ROUNDS, (unsigned long)counter);
    return 0;
}
