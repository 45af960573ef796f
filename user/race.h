/*
 * user/race.h - the shared body of unmap_race and mprotect_race.
 *
 * A toucher thread on CPU 1 keeps accessing a page; the main thread on CPU
 * 0 (the same CPU on a one-CPU machine) takes the access away (munmap, or
 * mprotect read-only for writes) and then raises `revoked`.  The
 * revocation's TLB flush must reach the toucher's CPU before munmap or
 * mprotect returns, so once the toucher has seen `revoked` its next access
 * must fault: the process is then killed with #PF, which is what the
 * parent expects.  An access that succeeds after `revoked` was seen went
 * through a stale translation: exit code 3.  Exit code 4: the toucher was
 * never stopped at all.
 */
#pragma once
#include <ulib.h>

static _Atomic int revoked;
static _Atomic uint64_t touches;
static volatile uint64_t *race_page;
static int race_write;              /* touch by writing (else reading) */

static int toucher(void *arg)
{
    (void)arg;
    pin_to_cpu(1);
    for (uint64_t i = 1;; i++) {
        int seen = atomic_load_explicit(&revoked, memory_order_acquire);
        if (race_write) {
            race_page[i % 512] = i;
            if (race_page[i % 512] != i) {
                printf("%s: FAIL: read back %#lx, wrote %#lx\n", prog_name,
                       (unsigned long)race_page[i % 512], (unsigned long)i);
                sys_exit(5);
            }
        } else {
            uint64_t v = race_page[i % 512];
            if (v != 0x1234567800000000ull + i % 512) {
                printf("%s: FAIL: read %#lx, want %#lx\n", prog_name, (unsigned long)v,
                       (unsigned long)(0x1234567800000000ull + i % 512));
                sys_exit(5);
            }
        }
        if (seen) {
            printf("%s: FAIL: access after the revocation returned went through (stale TLB entry)\n",
                   prog_name);
            sys_exit(3);
        }
        atomic_fetch_add_explicit(&touches, 1, memory_order_relaxed);
    }
    return 0;
}

/* revoke(page) takes the access away; returns 0 or an error. */
__attribute__((noreturn)) static void race_main(int (*revoke)(void *page), int write)
{
    race_write = write;
    long m = sys_mmap(NULL, 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        die("mmap: %ld", m);
    race_page = (volatile uint64_t *)m;
    for (int i = 0; i < 512; i++)
        race_page[i] = 0x1234567800000000ull + (uint64_t)i;
    pin_to_cpu(0);
    struct uthread th;
    int r = thread_create(&th, toucher, NULL);
    if (r < 0)
        die("thread_create: %d", r);
    /* Let the toucher get going, on its CPU, with the translation cached. */
    while (atomic_load(&touches) < 20000)
        sys_yield();
    r = revoke((void *)m);
    if (r < 0)
        die("revoke: %d", r);
    atomic_store_explicit(&revoked, 1, memory_order_release);
    /* The toucher should fault and take the whole process with it.  Our
     * sleeps end early once the process is dying, so judge by the toucher:
     * if it still makes progress after the wait, it was never stopped. */
    for (int i = 0; i < 200; i++)
        sys_sleep(10);
    uint64_t before = atomic_load(&touches);
    sys_sleep(10);
    if (atomic_load(&touches) != before) {
        printf("%s: FAIL: the toucher was not stopped (%lu touches)\n", prog_name,
               (unsigned long)atomic_load(&touches));
        sys_exit(4);
    }
    /* It stopped: it faulted and the process is on its way out. */
    sys_thread_exit(0);
}
