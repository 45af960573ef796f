/*
 * faults: each kind of user fault kills only the faulting process, with the
 * right vector in its wait status.
 *
 *   faults          spawn `faults KIND` for every kind below and check how
 *                   each child ended; exit 0 if all were right
 *   faults KIND     commit that fault (and exit 100 if still alive)
 */
#include <ulib.h>

struct kind {
    const char *name;
    int vector;
    void (*commit)(void);
};

static const char rodata_string[] = "read-only";
static volatile int zero;

static void do_ud(void) { __asm__ volatile("ud2"); }
static void do_de(void)
{
    /* In assembly: the compiler would turn 1 / x into compares. */
    int a = 1, d = 0, b = zero;
    __asm__ volatile("idivl %2" : "+a"(a), "+d"(d) : "r"(b) : "cc");
}
static void do_gp_noncanonical(void) { *(volatile uint64_t *)0x8000000000000000ull = 1; }
static void do_gp_privileged(void) { __asm__ volatile("cli"); }
static void do_pf_null(void) { (void)*(volatile uint64_t *)0; }
static void do_pf_unmapped(void) { *(volatile uint64_t *)0x00007e0000000000ull = 1; }
static void do_pf_kernel(void) { (void)*(volatile uint64_t *)0xffffffff80100000ull; }
static void do_pf_readonly(void) { *(volatile char *)rodata_string = 'R'; }
static void do_pf_protnone(void)
{
    long m = sys_mmap(NULL, 4096, SD_PROT_NONE);
    if (!sys_is_err(m))
        (void)*(volatile char *)m;
}
static void do_pf_mprotect(void)
{
    long m = sys_mmap(NULL, 4096, SD_PROT_READ | SD_PROT_WRITE);
    if (sys_is_err(m))
        return;
    *(volatile char *)m = 1;
    sys_mprotect((void *)m, 4096, SD_PROT_READ);
    *(volatile char *)m = 2;
}
static void do_pf_stack_overflow(void)
{
    /* Run off the bottom of the main thread's stack. */
    volatile char *p = (volatile char *)(SD_USER_STACK_TOP - SD_USER_STACK_SIZE - 64);
    *p = 1;
}
static void do_bp(void) { __asm__ volatile("int3"); }

static const struct kind kinds[] = {
    { "ud", 6, do_ud },
    { "de", 0, do_de },
    { "gp_noncanonical", 13, do_gp_noncanonical },
    { "gp_privileged", 13, do_gp_privileged },
    { "pf_null", 14, do_pf_null },
    { "pf_unmapped", 14, do_pf_unmapped },
    { "pf_kernel", 14, do_pf_kernel },
    { "pf_readonly", 14, do_pf_readonly },
    { "pf_protnone", 14, do_pf_protnone },
    { "pf_mprotect", 14, do_pf_mprotect },
    { "pf_stack_overflow", 14, do_pf_stack_overflow },
    { "bp", 3, do_bp },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

int main(int argc, char **argv)
{
    prog_name = "faults";
    if (argc > 1) {
        for (unsigned i = 0; i < NKINDS; i++) {
            if (strcmp(argv[1], kinds[i].name) == 0) {
                kinds[i].commit();
                printf("faults: FAIL: %s did not fault\n", kinds[i].name);
                return 100;
            }
        }
        die("unknown kind \"%s\"", argv[1]);
    }
    int failures = 0;
    for (unsigned i = 0; i < NKINDS; i++) {
        const char *child_argv[] = { "faults", kinds[i].name, NULL };
        int pid = sys_spawn("faults", child_argv);
        int status;
        if (pid < 0 || sys_wait(pid, &status) != pid)
            die("spawn/wait for %s: %d", kinds[i].name, pid);
        if (!SD_WIFFAULTED(status) || SD_WFAULTVEC(status) != kinds[i].vector) {
            printf("faults: FAIL: %s: status %#x, want killed by vector %d\n", kinds[i].name, status,
                   kinds[i].vector);
            failures++;
        }
    }
    if (failures)
        die("%d kinds of fault ended wrongly", failures);
    printf("faults: %d kinds ok\n", (int)NKINDS);
    return 0;
}
