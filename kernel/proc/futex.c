/*
 * kernel/proc/futex.c - futex_wait and futex_wake: threads of a process
 * sleep until a 32-bit word of their memory changes (docs/syscalls.md,
 * "Futexes").  The user runtime builds its mutex on them (user/lib/mutex.c).
 *
 * A waiter is keyed by what the word IS, so that everyone who names the
 * same word meets (docs/memory.md, "Futex keys"):
 *   - a word of a shared mapping (kernel/shm.h): (object, byte offset in
 *     the object).  Processes that map the object - over fork, or by name
 *     at different addresses - meet.  An object's page keeps its frame for
 *     the object's whole life, so this is the same as keying by (frame,
 *     offset in the frame), as Linux does for shared futexes, without
 *     needing the page to be present.  The waiter holds a reference on the
 *     object: if its mapping is unmapped meanwhile, the key stays valid
 *     and a wake through any other mapping still finds it (a timeout or
 *     the process's end are its other ways out).
 *   - any other word: (mm, address), the cheaper private key: only threads
 *     of this process can name it.
 * Waiters hang on one of FUTEX_BUCKETS wait queues chosen by a hash of the
 * key.
 *
 * Why no wake-up is lost (the waker stores the new value, then calls wake):
 *   waiter                                  waker
 *   F1 lock bucket; enqueue; unlock         W1 store *addr = new (user mode)
 *   F2 read *addr (may fault: no lock)      W2 lock bucket; wake the queued
 *   F3 != expected: dequeue, -SD_EAGAIN        waiters of the key; unlock
 *   F4 lock; if !woken: BLOCKED; unlock;
 *      sleep
 * If W2 comes after F1 the waiter is on the queue and gets woken (F4 sees
 * `woken`, or its BLOCKED is undone by wake_up_task).  If W2 comes before
 * F1, W1 happened before W2's unlock, which the waiter's F1 lock follows:
 * F2 reads the new value and returns -SD_EAGAIN.  So reading the word
 * needs no lock, and it may fault in the page as any user access does.
 */
#include <kernel/syscall.h>
#include <kernel/wait.h>
#include <kernel/time.h>
#include <kernel/process.h>
#include <kernel/futex.h>
#include <kernel/shm.h>
#include <uapi/shootdown.h>
#include <arch/uaccess.h>

#define FUTEX_BUCKETS 64

/*
 * One cache line (or more) per bucket: a wait queue is 56 bytes, so an array
 * of them put two buckets on one line, and futexes of unrelated processes
 * hashed to neighbouring buckets bounced that line between their CPUs at
 * every wait and wake.  Now two futexes share a line only when they share
 * a bucket (a hash collision) - the system-call path shares nothing with
 * threads that are not parties of the futex (docs/syscalls.md, "What the
 * system-call path shares").
 */
static struct futex_bucket {
    struct wait_queue q;
} __cacheline_aligned buckets[FUTEX_BUCKETS];
static bool buckets_ready;

/* What a futex word is: (mm, address) or (shared object, offset).  The two
 * kinds never compare equal: an mm and an object are different
 * allocations, each alive while the key is in use. */
struct futex_key {
    const void *space;
    uint64_t offset;
    struct shm *shm;            /* shared key: the reference it holds, else NULL */
};

struct futex_waiter {
    struct wait_entry w;        /* w.granted: woken by futex_wake */
    struct futex_key key;
};

static struct wait_queue *bucket_of(const struct futex_key *k)
{
    uint64_t h = ((uintptr_t)k->space >> 6) ^ (k->offset >> 2);
    h *= 0x9e3779b97f4a7c15ull;
    return &buckets[h >> 58].q; /* the top 6 bits: 64 buckets */
}

static bool key_eq(const struct futex_key *a, const struct futex_key *b)
{
    return a->space == b->space && a->offset == b->offset;
}

/* The key of the word at addr of the current process; key_put when done. */
static void key_get(uintptr_t addr, struct futex_key *k)
{
    struct mm *mm = current_task()->mm;
    k->shm = mm_shm_at(mm, addr, &k->offset);
    if (k->shm) {
        k->space = k->shm;
    } else {
        k->space = mm;
        k->offset = addr;
    }
}

static void key_put(struct futex_key *k)
{
    if (k->shm)
        shm_put(k->shm);
}

static void futex_init_once(void)
{
    /* The first call runs after boot with no other futex user: the table
     * is filled before any thread can find it (syscall_init is too early
     * for nothing, too: it has no init hook, so do it here, once). */
    if (__atomic_load_n(&buckets_ready, __ATOMIC_ACQUIRE))
        return;
    static struct spinlock init_lock = SPINLOCK_INIT("futex_init", LOCK_RANK_SLEEP);
    uint64_t flags = spin_lock_irqsave(&init_lock);
    if (!buckets_ready) {
        for (unsigned i = 0; i < FUTEX_BUCKETS; i++)
            wait_queue_init(&buckets[i].q, "futex.bucket");
        __atomic_store_n(&buckets_ready, true, __ATOMIC_RELEASE);
    }
    spin_unlock_irqrestore(&init_lock, flags);
}

/* A futex word: 4-byte aligned, in the user half. */
static long check_word(uintptr_t addr)
{
    if (addr & 3)
        return -SD_EINVAL;
    if (!user_range_ok(addr, sizeof(uint32_t)))
        return -SD_EFAULT;
    return 0;
}

/* futex_wait(addr, expected, timeout_ns or 0 for none) */
static long sys_futex_wait(const struct syscall_args *a)
{
    uintptr_t addr = a->a[0];
    uint32_t expected = (uint32_t)a->a[1];
    uint64_t timeout = a->a[2];
    long r = check_word(addr);
    if (r)
        return r;
    futex_init_once();
    struct task *me = current_task();
    struct futex_waiter fw = { .w = WAIT_ENTRY_INIT(fw.w) };
    key_get(addr, &fw.key);
    struct wait_queue *wq = bucket_of(&fw.key);
    uint64_t deadline = timeout ? ktime_ns() + timeout : 0;

    uint64_t flags = spin_lock_irqsave(&wq->lock);          /* F1 */
    fw.w.task = me;
    list_add_tail(&fw.w.link, &wq->waiters);
    spin_unlock_irqrestore(&wq->lock, flags);

    uint32_t now;
    if (copy_from_user(&now, (const void *)addr, sizeof(now)))    /* F2 */
        r = -SD_EFAULT;
    else if (now != expected)
        r = -SD_EAGAIN;                                            /* F3 */
    while (!r) {
        flags = spin_lock_irqsave(&wq->lock);                      /* F4 */
        bool woken = fw.w.granted;
        if (!woken)
            set_current_state(TASK_BLOCKED);
        spin_unlock_irqrestore(&wq->lock, flags);
        if (woken)
            break;
        if (current_process_dying()) {
            set_current_state(TASK_RUNNABLE);
            r = -SD_ESRCH;
            break;
        }
        if (deadline && ktime_ns() >= deadline) {
            set_current_state(TASK_RUNNABLE);
            r = -SD_ETIMEDOUT;
            break;
        }
        if (deadline)
            schedule_until(deadline);
        else
            schedule();
    }
    flags = spin_lock_irqsave(&wq->lock);
    if (fw.w.granted)
        r = 0;                  /* woken after all: the wake-up counts */
    else if (!list_empty(&fw.w.link))
        list_del(&fw.w.link);
    spin_unlock_irqrestore(&wq->lock, flags);
    key_put(&fw.key);
    return r;
}
DEFINE_SYSCALL(SYS_futex_wait, sys_futex_wait);

long futex_wake_word(uintptr_t addr, uint64_t n)
{
    long r = check_word(addr);
    if (r)
        return r;
    futex_init_once();
    struct futex_key key;
    key_get(addr, &key);
    struct wait_queue *wq = bucket_of(&key);
    long woken = 0;
    uint64_t flags = spin_lock_irqsave(&wq->lock);                  /* W2 */
    struct list_head *pos, *tmp;
    list_for_each_safe(pos, tmp, &wq->waiters) {
        if ((uint64_t)woken >= n)
            break;
        struct futex_waiter *fw = container_of(pos, struct futex_waiter, w.link);
        if (!key_eq(&fw->key, &key))
            continue;
        list_del(&fw->w.link);
        fw->w.granted = true;
        wake_up_task(fw->w.task);
        woken++;
    }
    spin_unlock_irqrestore(&wq->lock, flags);
    key_put(&key);
    return woken;
}

/* futex_wake(addr, n): wake at most n waiters of the word; how many. */
static long sys_futex_wake(const struct syscall_args *a)
{
    return futex_wake_word(a->a[0], a->a[1]);
}
DEFINE_SYSCALL(SYS_futex_wake, sys_futex_wake);
