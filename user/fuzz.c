/*
 * fuzz [count [seed]]: random system calls with random arguments (100000
 * by default).  The kernel must answer each with a result or an error and
 * never crash; unknown numbers must give -SD_ENOSYS.
 *
 * Left out, so the run stays one process that keeps running: exit,
 * thread_exit and fork (bombs), thread_create (a random entry point would
 * kill us), ipc_create (a random name could make an endpoint that a later
 * random recv then waits on forever), shm_create (a named object outlives
 * the process until unlinked: the leak checks would see it).  sleep is rare and 0 ms, thread_join
 * never our own tid, write never a readable buffer (console garbage),
 * futex_wait rare and with a 1 ns timeout.
 * munmap/mprotect never reach our own image, stack or scratch area.  Pointer
 * arguments are drawn from: small numbers, random 64-bit values, kernel and
 * non-canonical addresses, and a scratch mapping of ours.
 */
#include <ulib.h>

#define SCRATCH_SIZE (64 * 1024)
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static char *scratch;

static long random_arg(void)
{
    uint64_t r = rand_next(&rng);
    switch (r % 8) {
    case 0: return (long)(r >> 8) % 64;
    case 1: return -(long)((r >> 8) % 64);
    case 2: return (long)rand_next(&rng);
    case 3: return (long)(0xffff800000000000ull + (rand_next(&rng) & 0xffffffffull));
    case 4: return (long)(0x8000000000000000ull + (rand_next(&rng) & 0xfffffull));
    case 5: return (long)(scratch + (rand_next(&rng) % SCRATCH_SIZE));
    case 6: return (long)(SD_USER_MMAP_BASE + (rand_next(&rng) & 0xffffff000ull));
    default: return (long)(r >> 40);
    }
}

static bool overlaps(uintptr_t a, uintptr_t len, uintptr_t start, uintptr_t end)
{
    uintptr_t a_end = a + len + 4095;       /* the kernel rounds len up to pages */
    if (a_end < a)
        a_end = UINTPTR_MAX;
    return a < end && a_end > start;
}

/* Whether munmap/mprotect(a, len) could reach our image, stack or scratch. */
static bool overlaps_us(uintptr_t a, uintptr_t len)
{
    return overlaps(a, len, SD_USER_BASE, SD_USER_BASE + (64ull << 20)) ||
           overlaps(a, len, SD_USER_STACK_TOP - SD_USER_STACK_SIZE - (1ull << 20), SD_USER_STACK_TOP) ||
           overlaps(a, len, (uintptr_t)scratch, (uintptr_t)scratch + SCRATCH_SIZE);
}

static bool known_error(long r)
{
    switch (-r) {
    case SD_EPERM: case SD_ENOENT: case SD_ESRCH: case SD_EIO: case SD_E2BIG: case SD_ENOEXEC:
    case SD_ECHILD: case SD_EAGAIN: case SD_ENOMEM: case SD_EFAULT: case SD_EBUSY: case SD_EEXIST:
    case SD_EINVAL: case SD_ENAMETOOLONG: case SD_ENOSYS: case SD_ETIMEDOUT:
        return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    prog_name = "fuzz";
    long count = argc > 1 ? atol(argv[1]) : 100000;
    if (argc > 2)
        rng ^= (uint64_t)atol(argv[2]) * 0x100000001b3ull;
    long m = sys_mmap(NULL, SCRATCH_SIZE, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        die("mmap: %ld", m);
    scratch = (char *)m;
    for (int i = 0; i < SCRATCH_SIZE; i++)
        scratch[i] = (char)rand_next(&rng);
    int me = sys_gettid();
    /* A canary the kernel is never pointed at. */
    static uint64_t canary[64];
    for (int i = 0; i < 64; i++)
        canary[i] = 0xc0ffee0000000000ull + (uint64_t)i;

    long ok = 0, errors = 0, enosys = 0;
    for (long n = 0; n < count; n++) {
        uint64_t pick = rand_next(&rng);
        long nr = (pick & 7) == 0 ? (long)(SYS_COUNT + (pick >> 8) % 1000)   /* unknown */
                : (pick & 15) == 1 ? (long)(pick >> 1)                      /* anything */
                : (long)((pick >> 8) % SYS_COUNT);
        long a[6];
        for (int i = 0; i < 6; i++)
            a[i] = random_arg();
        switch (nr) {
        case SYS_exit: case SYS_thread_exit: case SYS_fork: case SYS_thread_create:
        case SYS_ipc_create: case SYS_shm_create:
            continue;
        case SYS_sleep:
            if (a[0] & 7)
                continue;               /* a sleep lasts at least a tick: keep them rare */
            a[0] = 0;
            break;
        case SYS_futex_wait:
            if (a[0] & 7)
                continue;               /* a wait may sleep: keep them rare and short */
            a[2] = 1;                   /* a 1 ns timeout: never waits a tick */
            break;
        case SYS_thread_join:
            if ((int)a[0] == me || (int)a[0] == 0)
                continue;
            break;
        case SYS_write:
            if ((uintptr_t)a[0] < SD_USER_TOP && (uintptr_t)a[0] >= SD_USER_BASE)
                a[0] = (long)0xffff800000000000ull;
            break;
        case SYS_wait:
            a[0] = a[0] == -1 ? 1 : a[0];   /* no children: -1 would be -ECHILD anyway */
            break;
        case SYS_munmap: case SYS_mprotect:
            if (overlaps_us((uintptr_t)a[0], (uintptr_t)a[1]))
                continue;
            break;
        }
        if (nr == SYS_set_affinity)
            a[1] |= 1;      /* keep CPU 0 allowed so we cannot exclude ourselves from every CPU */
        long r = sys_raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (nr < 0 || nr >= SYS_COUNT) {
            if (r != -SD_ENOSYS)
                die("system call %ld = %ld, want -ENOSYS", nr, r);
            enosys++;
        } else if (r < 0 && r >= -4095) {
            if (!known_error(r))
                die("system call %ld = %ld: not an error number of uapi/shootdown.h", nr, r);
            errors++;
        } else {
            ok++;
        }
    }
    for (int i = 0; i < 64; i++)
        if (canary[i] != 0xc0ffee0000000000ull + (uint64_t)i)
            die("canary[%d] changed", i);
    /* Children a random spawn may have started. */
    int st;
    while (sys_wait(-1, &st) > 0)
        ;
    printf("fuzz: %ld calls: %ld succeeded, %ld errors, %ld -ENOSYS\n", count, ok, errors, enosys);
    return 0;
}
