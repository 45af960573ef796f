/*
 * remap_stale ROUNDS: after munmap + mmap of a page at the same address
 * returns, no thread of the process reads the old frame (tests/test_tlb_stale.c
 * has the kernel-thread version and the reasons).
 *
 * One reader thread per other CPU (a second thread on CPU 0 with one CPU)
 * reads the page in a loop, so its CPU caches the translation.  Each round
 * the main thread on CPU 0 stops the readers (they stop touching the page;
 * even ones spin, odd ones sleep so that their CPU goes idle and keeps the
 * mm lazily), unmaps the page, maps a new one at the same address, lets a
 * decoy page take the frame just freed (so that a stale translation cannot
 * find the new contents by reusing the frame), writes the round's value
 * and releases the readers: each must now read exactly that value.
 *
 * It can fail: with flush_tlb_mm_range's IPIs removed (a temporary break),
 * -smp 4 under TCG exits 3 in round 1.
 *
 * Exit 0: every read was right.  Exit 3: a stale read.  Exit 1: a system
 * call failed.
 */
#include <ulib.h>

#define MAX_READERS 16
#define WORDS 512

static volatile uint64_t *page;
static _Atomic unsigned phase;          /* 2r+1: stop reading; 2r+2: check round r */
static _Atomic unsigned paused, checked;
static _Atomic unsigned stale;
static _Atomic uint64_t want;           /* the value of the round released */
static int nreaders;

static uint64_t value(unsigned round, unsigned i)
{
    return 0x7e3a000000000000ull | (uint64_t)round << 16 | i;
}

static int reader(void *arg)
{
    int me = (int)(uintptr_t)arg;
    pin_to_cpu(1 + me);
    unsigned seen = 0;
    for (;;) {
        unsigned ph;
        /* Keep the translation hot until told to stop touching the page. */
        while ((ph = atomic_load_explicit(&phase, memory_order_acquire)) == seen) {
            for (int i = 0; i < WORDS; i += 64)
                (void)page[i];
            cpu_relax();
        }
        if (ph == ~0u)
            return 0;
        atomic_fetch_add(&paused, 1);
        /* Wait for the new page without touching it. */
        while ((ph = atomic_load_explicit(&phase, memory_order_acquire)) % 2) {
            if (me % 2)
                sys_sleep(1);
            else
                cpu_relax();
        }
        uint64_t w = atomic_load(&want);
        for (int i = 0; i < WORDS; i += 64) {
            uint64_t v = page[i];
            if (v != w + (uint64_t)i) {
                if (atomic_fetch_add(&stale, 1) == 0)
                    printf("remap_stale: FAIL: thread %d read %#lx at word %d, want %#lx (stale TLB entry)\n",
                           me, (unsigned long)v, i, (unsigned long)(w + (uint64_t)i));
                break;
            }
        }
        seen = ph;
        atomic_fetch_add(&checked, 1);
    }
}

static void wait_count(_Atomic unsigned *c, unsigned n)
{
    while (atomic_load(c) < n)
        sys_yield();
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)atol(argv[1]) : 50;
    pin_to_cpu(0);
    int ncpu = sys_cpu_count();
    nreaders = ncpu > 1 ? ncpu - 1 : 1;
    if (nreaders > MAX_READERS)
        nreaders = MAX_READERS;
    long m = sys_mmap(NULL, 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        die("mmap: %ld", m);
    page = (volatile uint64_t *)m;
    for (int i = 0; i < WORDS; i++)
        page[i] = value(0, (unsigned)i);
    atomic_store(&want, value(0, 0));

    struct uthread th[MAX_READERS];
    for (int i = 0; i < nreaders; i++)
        if (thread_create(&th[i], reader, (void *)(uintptr_t)i) < 0)
            die("thread_create");
    void *decoy = NULL;
    for (unsigned r = 1; r <= rounds; r++) {
        for (volatile int spin = 0; spin < 2000; spin++)
            cpu_relax();        /* the readers cache the translation */
        atomic_store_explicit(&phase, 2 * r - 1, memory_order_release);
        wait_count(&paused, r * (unsigned)nreaders);
        if (sys_munmap((void *)page, 4096) < 0)
            die("munmap");
        long n = sys_mmap((void *)page, 4096, SD_PROT_READ | SD_PROT_WRITE);
        if (sys_is_err(n) || n != (long)(uintptr_t)page)
            die("mmap at %p: %#lx", (void *)page, (unsigned long)n);
        long d = sys_mmap(NULL, 4096, SD_PROT_READ | SD_PROT_WRITE);
        if (sys_is_err(d))
            die("mmap decoy: %ld", d);
        /* The allocator hands out the frame freed last first: the decoy
         * takes the old page's frame (which a stale translation would then
         * read as 0xdec0), not the new page.  The previous decoy goes only
         * after the new page has its frame. */
        *(volatile uint64_t *)d = 0xdec0ull;
        for (int i = 0; i < WORDS; i++)
            page[i] = value(r, (unsigned)i);
        if (decoy && sys_munmap(decoy, 4096) < 0)
            die("munmap decoy");
        decoy = (void *)d;
        atomic_store(&want, value(r, 0));
        atomic_store_explicit(&phase, 2 * r, memory_order_release);
        wait_count(&checked, r * (unsigned)nreaders);
    }
    atomic_store_explicit(&phase, ~0u, memory_order_release);
    for (int i = 0; i < nreaders; i++) {
        int code;
        if (thread_join(&th[i], &code) < 0 || code != 0)
            die("thread_join");
    }
    if (atomic_load(&stale)) {
        printf("remap_stale: %u stale read(s) in %u rounds\n", atomic_load(&stale), rounds);
        return 3;
    }
    return 0;
}
