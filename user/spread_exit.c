/*
 * spread_exit: a process whose threads run on every CPU and end one by
 * one, the main thread (CPU 0) last - so that when its exit drops the mm,
 * every other CPU has just left it for its idle task, which borrows the mm
 * lazily.  What the last drop then costs (mm_count atomics, exit shootdown
 * IPIs, hazard-slot scans) is what tests/test_tlb_bench.c measures per
 * lazy_mm= mode.  Each thread writes its own page first, so the mm is
 * really loaded on its CPU.  Exit 0.
 */
#include <ulib.h>

#define MAX_THREADS 16

static volatile uint64_t *pages;

static int worker(void *arg)
{
    int cpu = (int)(uintptr_t)arg;
    pin_to_cpu(cpu);
    pages[cpu * 512] = (uint64_t)cpu;
    return 0;
}

int main(void)
{
    pin_to_cpu(0);
    int n = sys_cpu_count();
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    long m = sys_mmap(NULL, (size_t)n * 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        die("mmap: %ld", m);
    pages = (volatile uint64_t *)m;
    pages[0] = 0;
    struct uthread th[MAX_THREADS];
    for (int i = 1; i < n; i++)
        if (thread_create(&th[i], worker, (void *)(uintptr_t)i) < 0)
            die("thread_create");
    for (int i = 1; i < n; i++) {
        int code;
        if (thread_join(&th[i], &code) < 0 || code != 0)
            die("thread_join");
    }
    return 0;
}
