/*
 * efault: every system call that reads or writes through a pointer returns
 * -SD_EFAULT (and does nothing else) when given a bad one: unmapped, a
 * kernel address, a non-canonical address, a range running off the end of
 * a mapping, a PROT_NONE page, and (for output) a read-only page.
 */
#include <ulib.h>

static int failures;

static int quick_exit(void *arg)
{
    (void)arg;
    return 0;
}

static void expect_efault(long r, const char *call, uintptr_t p)
{
    if (r != -SD_EFAULT) {
        printf("efault: FAIL: %s with %#lx = %ld, want -EFAULT\n", call, (unsigned long)p, r);
        failures++;
    }
}

int main(void)
{
    prog_name = "efault";
    long m = sys_mmap(NULL, 3 * 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        die("mmap: %ld", m);
    char *base = (char *)m;
    /* page 0: RW, page 1: none, page 2: read-only.  The last two bytes of
     * page 0 start a string, a pointer, a status or a message that runs
     * on into page 1. */
    base[4094] = 'x';
    base[4095] = 'x';
    if (sys_mprotect(base + 4096, 4096, SD_PROT_NONE) || sys_mprotect(base + 8192, 4096, SD_PROT_READ))
        die("mprotect failed");
    uintptr_t in_bad[] = {
        0x10,                                   /* page 0: never mapped */
        0x00007f0000000000ull,                  /* unmapped user address */
        0xffff800000000000ull,                  /* kernel (direct map) */
        0xffffffff80000000ull,                  /* kernel image */
        0x8000000000000000ull,                  /* non-canonical */
        0x0000800000000000ull,                  /* first non-user address */
        (uintptr_t)base + 4096 - 2,             /* runs into the PROT_NONE page */
        (uintptr_t)base + 4096,                 /* PROT_NONE */
        0xfffffffffffffff8ull,                  /* wraps around */
    };
    unsigned nin = sizeof(in_bad) / sizeof(in_bad[0]);
    /* Output pointers: all of the above and the read-only page. */
    uintptr_t out_bad[16];
    unsigned nout = 0;
    for (unsigned i = 0; i < nin; i++)
        out_bad[nout++] = in_bad[i];
    out_bad[nout++] = (uintptr_t)base + 8192;

    /* Things to point at. */
    int ep = sys_ipc_create("efault-ep");
    if (ep < 0)
        die("ipc_create: %d", ep);
    struct sd_ipc_msg msg = { .label = 1 };

    for (unsigned i = 0; i < nin; i++) {
        uintptr_t p = in_bad[i];
        expect_efault(sys_write((const void *)p, 16), "write", p);
        expect_efault(sys_spawn((const char *)p, NULL), "spawn(name)", p);
        expect_efault(sys_spawn("hello", (const char *const *)p), "spawn(argv)", p);
        const char *argv[] = { "hello", (const char *)p, NULL };
        expect_efault(sys_spawn("hello", argv), "spawn(argv[1])", p);
        expect_efault(sys_ipc_create((const char *)p), "ipc_create", p);
        expect_efault(sys_ipc_lookup((const char *)p), "ipc_lookup", p);
        expect_efault(sys_ipc_send(ep, (const struct sd_ipc_msg *)p), "ipc_send", p);
        expect_efault(sys_ipc_call(ep, (const struct sd_ipc_msg *)p, &msg), "ipc_call(req)", p);
        expect_efault(sys_ipc_reply((const struct sd_ipc_msg *)p), "ipc_reply", p);
    }
    for (unsigned i = 0; i < nout; i++) {
        uintptr_t p = out_bad[i];
        expect_efault(sys_ipc_recv(ep, (struct sd_ipc_msg *)p), "ipc_recv", p);
        expect_efault(sys_ipc_call(ep, &msg, (struct sd_ipc_msg *)p), "ipc_call(reply)", p);
        /* wait: a child that has exited, a bad status pointer. */
        const char *hello[] = { "hello", NULL };
        int pid = sys_spawn("hello", hello);
        if (pid < 0)
            die("spawn hello: %d", pid);
        expect_efault(sys_wait(pid, (int *)p), "wait(status)", p);
        int st;
        int r = sys_wait(pid, &st);     /* still there, or reaped by the failed wait */
        if (r != pid && r != -SD_ECHILD) {
            printf("efault: FAIL: wait after a failed wait = %d\n", r);
            failures++;
        }
        /* thread_join: a thread that has exited, a bad code pointer. */
        struct uthread th;
        if (thread_create(&th, quick_exit, NULL) < 0)
            die("thread_create");
        expect_efault(sys_thread_join(th.tid, (int *)p), "thread_join(code)", p);
        sys_thread_join(th.tid, NULL);  /* may already be joined */
        sys_munmap(th.stack, th.stack_size);
    }
    /* The read-only page is fine as an input. */
    long r = sys_write(base + 8192, 0);
    if (r != 0) {
        printf("efault: FAIL: write of 0 bytes from a read-only page = %ld\n", r);
        failures++;
    }
    if (failures)
        die("%d failures", failures);
    puts("efault: ok");
    return 0;
}
