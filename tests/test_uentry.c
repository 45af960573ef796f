/*
 * tests/test_uentry.c - ring 3 without processes: the SYSCALL entry and both
 * ways back (SYSRET, IRETQ), exceptions from user mode, uaccess, and the
 * FPU/SSE state of user threads across context switches.
 *
 * There is no ELF loader or address-space code under this test, so it builds
 * its user world by hand: a few small programs (assembled into .rodata
 * below, position-independent) copied into one user page, and a stack page
 * per thread, all mapped with PTE_U in the low half of the kernel's own page
 * tables (init_mm, which every CPU runs on when no process is loaded).  A
 * "user thread" is a kernel thread with task->mm = &init_mm that calls
 * arch_enter_user().  It ends through test system calls (numbers from 200 up,
 * which answer -SD_ENOSYS to anything but these test threads) or through
 * user_fault_test_hook, which replaces process_kill_fault() here.
 */
#include "ktest_suite.h"
#include <kernel/boot_options.h>
#include "smp_test_util.h"
#include <arch/nmi.h>
#include <arch/extable.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include <arch/uaccess.h>
#include <arch/user.h>
#include <arch/x86/cpufeatures.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/syscall.h>
#include <kernel/panic.h>
#include <lib/string.h>

#define UT_CODE         0x10000000ul            /* the programs, read + execute */
#define UT_STACK(i)     (0x10002000ul + (i) * 0x2000ul)  /* one page each, unmapped gaps */
#define UT_STACKS       4
#define UT_UNMAPPED     0x30000000ul
#define NONCANONICAL    0x8000000000000000ul

#define SYS_T_RECORD    200     /* record the arguments, return their sum */
#define SYS_T_EXIT      201     /* end the thread with exit code a0 */
#define SYS_T_UACCESS   202     /* run the uaccess checks on a0 (a user string) */
#define SYS_T_YIELD     203

/*
 * The user programs.  Each starts at a global label; uprog_start..uprog_end
 * is copied to UT_CODE.  Labels marked "_ret" are return addresses the tests
 * compare with.
 */
__asm__(
    ".pushsection .rodata.uprog, \"a\"\n"
    ".globl uprog_start, uprog_end, uprog_basic, uprog_basic_ret, uprog_ud2, uprog_pf, uprog_int3\n"
    ".globl uprog_div, uprog_kernel_read, uprog_cli, uprog_uaccess, uprog_fpu, uprog_syscall_loop\n"
    "uprog_start:\n"
    /* basic: six arguments in, sum out; then report what survived. */
    "uprog_basic:\n"
    "  mov $200, %eax\n"
    "  mov $1, %edi\n  mov $2, %esi\n  mov $3, %edx\n"
    "  mov $4, %r10d\n  mov $5, %r8d\n  mov $6, %r9d\n"
    "  mov $0x1111, %ebx\n  mov $0x2222, %ebp\n"
    "  mov $0x3333, %r12d\n  mov $0x4444, %r13d\n  mov $0x5555, %r14d\n  mov $0x6666, %r15d\n"
    "  syscall\n"
    "uprog_basic_ret:\n"
    "  mov %rax, %rdi\n"
    "  mov %rbx, %rsi\n"
    "  mov %rbp, %rdx\n"
    "  mov %r12, %r10\n  add %r13, %r10\n  add %r14, %r10\n  add %r15, %r10\n"
    "  mov %rsp, %r8\n"
    "  stmxcsr -8(%rsp)\n"
    "  mov -8(%rsp), %r9d\n"
    "  mov $200, %eax\n"
    "  syscall\n"
    "  mov $150, %eax\n"            /* unregistered: -ENOSYS */
    "  syscall\n"
    "  mov %rax, %rdi\n"
    "  mov $-1, %rax\n"             /* far beyond the table: -ENOSYS */
    "  syscall\n"
    "  mov %rax, %rsi\n"
    "  mov $200, %eax\n"
    "  syscall\n"
    "  mov $77, %edi\n"
    "  mov $201, %eax\n"
    "  syscall\n"
    "  ud2\n"
    "uprog_ud2:\n"
    "  ud2\n"
    "uprog_pf:\n"
    "  movq $1, 0x30000000\n"
    "uprog_int3:\n"
    "  int3\n"
    "uprog_div:\n"
    "  xor %ecx, %ecx\n"
    "  div %ecx\n"
    "uprog_kernel_read:\n"
    "  movabs 0xffff800000100000, %rax\n"      /* DIRECT_MAP_BASE + 1 MiB: present, supervisor */
    "uprog_cli:\n"
    "  cli\n"
    /* uaccess: the kernel side does the work on the string at rdi. */
    "uprog_uaccess:\n"
    "  mov $202, %eax\n"
    "  syscall\n"
    "  mov %rax, %rdi\n"
    "  mov $201, %eax\n"
    "  syscall\n"
    /* fpu: keep a marker in xmm0 and in x87 across spins and yields. */
    "uprog_fpu:\n"
    "  mov %rdi, %rbx\n"
    "  mov $200, %r12d\n"
    "1:\n"
    "  movq %rbx, %xmm0\n"
    "  mov %rbx, -8(%rsp)\n"
    "  fildq -8(%rsp)\n"
    "  mov $20000, %ecx\n"
    "2:\n"
    "  dec %ecx\n"
    "  jnz 2b\n"
    "  mov $203, %eax\n"
    "  syscall\n"
    "  movq %xmm0, %rax\n"
    "  cmp %rax, %rbx\n"
    "  jne 3f\n"
    "  fistpq -8(%rsp)\n"
    "  cmp -8(%rsp), %rbx\n"
    "  jne 3f\n"
    "  dec %r12d\n"
    "  jnz 1b\n"
    "  xor %edi, %edi\n"
    "  mov $201, %eax\n"
    "  syscall\n"
    "3:\n"
    "  mov $1, %edi\n"
    "  mov $201, %eax\n"
    "  syscall\n"
    /* syscall loop: rdi SYSCALLs of an unregistered number, for NMIs to hit. */
    "uprog_syscall_loop:\n"
    "  mov %rdi, %rbx\n"
    "1:\n"
    "  mov $150, %eax\n"
    "  syscall\n"
    "  cmp $-38, %rax\n"
    "  jne 2f\n"
    "  dec %rbx\n"
    "  jnz 1b\n"
    "  xor %edi, %edi\n"
    "  mov $201, %eax\n"
    "  syscall\n"
    "2:\n"
    "  mov $1, %edi\n"
    "  mov $201, %eax\n"
    "  syscall\n"
    "uprog_end:\n"
    ".popsection\n");

extern const char uprog_start[], uprog_end[], uprog_basic[], uprog_basic_ret[], uprog_ud2[], uprog_pf[],
    uprog_int3[], uprog_div[], uprog_kernel_read[], uprog_cli[], uprog_uaccess[], uprog_fpu[],
    uprog_syscall_loop[];

static uintptr_t uprog_addr(const char *label)
{
    return UT_CODE + (uintptr_t)(label - uprog_start);
}

/* ---- the user world: pages in the low half of the kernel page tables ---- */

static phys_addr_t code_page, stack_pages[UT_STACKS];

static void map_user_page(uintptr_t va, phys_addr_t pa, uint64_t flags)
{
    BUG_ON(paging_map(kernel_pml4, va, pa, flags) != 0);
}

static void utest_setup(void)
{
    BUG_ON((size_t)(uprog_end - uprog_start) > PAGE_SIZE);
    code_page = page_alloc_zeroed(0);
    BUG_ON(!code_page);
    memcpy(phys_to_virt(code_page), uprog_start, (size_t)(uprog_end - uprog_start));
    map_user_page(UT_CODE, code_page, PTE_P | PTE_U);
    for (int i = 0; i < UT_STACKS; i++) {
        stack_pages[i] = page_alloc_zeroed(0);
        BUG_ON(!stack_pages[i]);
        map_user_page(UT_STACK(i), stack_pages[i], PTE_P | PTE_W | PTE_U | PTE_NX);
    }
}

static void unmap_user_page(uintptr_t va, struct pt_free_list *freed)
{
    pte_t old;
    BUG_ON(paging_unmap(kernel_pml4, va, &old, freed) != 0);
}

static void utest_teardown(void)
{
    struct pt_free_list freed = PT_FREE_LIST_INIT;
    unmap_user_page(UT_CODE, &freed);
    for (int i = 0; i < UT_STACKS; i++)
        unmap_user_page(UT_STACK(i), &freed);
    /* Every CPU that ran a test thread may cache these translations. */
    flush_tlb_kernel_range(UT_CODE, UT_STACK(UT_STACKS));
    pt_free_list_release(&freed);
    page_free(code_page, 0);
    for (int i = 0; i < UT_STACKS; i++)
        page_free(stack_pages[i], 0);
}

/* ---- user threads ---- */

struct uthread_start {
    uintptr_t rip, rsp;
    uint64_t arg;
};

static void uthread_main(void *p)
{
    struct uthread_start *s = p;
    arch_enter_user(s->rip, s->rsp, s->arg);
}

/* Like a process thread's exit: the mm reference becomes the lazy one. */
static _Atomic unsigned uthreads_exited;

static __noreturn void uthread_exit(int code)
{
    atomic_fetch_add(&uthreads_exited, 1);
    current_task()->mm = NULL;
    kthread_exit(code);
}

static _Atomic bool utest_active;

static bool is_test_thread(void)
{
    return atomic_load(&utest_active) && current_task()->process == NULL &&
           current_task()->mm == &init_mm;
}

static struct task *uthread_create(struct uthread_start *s, const char *name)
{
    struct task *t = kthread_create(uthread_main, s, name);
    BUG_ON(!t);
    t->mm = t->active_mm = &init_mm;    /* init_mm needs no reference */
    return t;
}

/* Run one user thread to its end; returns its exit code. */
static int run_user(uintptr_t rip, uintptr_t rsp, uint64_t arg)
{
    struct uthread_start s = { rip, rsp, arg };
    atomic_store(&utest_active, true);
    struct task *t = uthread_create(&s, "utest");
    kthread_start(t);
    int code = kthread_join(t);
    atomic_store(&utest_active, false);
    return code;
}

/* ---- test system calls ---- */

#define MAX_RECORDS 4
static struct {
    uint64_t a[6];
    uint64_t frame_rip;
    unsigned cpu;
} records[MAX_RECORDS];
static unsigned nr_records;

static long sys_t_record(const struct syscall_args *a)
{
    if (!is_test_thread())
        return -SD_ENOSYS;
    long sum = 0;
    if (nr_records < MAX_RECORDS) {
        memcpy(records[nr_records].a, a->a, sizeof(a->a));
        records[nr_records].frame_rip = current_user_frame()->rip;
        nr_records++;
    }
    for (int i = 0; i < 6; i++)
        sum += (long)a->a[i];
    return sum;
}
DEFINE_SYSCALL(SYS_T_RECORD, sys_t_record);

static long sys_t_exit(const struct syscall_args *a)
{
    if (!is_test_thread())
        return -SD_ENOSYS;
    uthread_exit((int)a->a[0]);
}
DEFINE_SYSCALL(SYS_T_EXIT, sys_t_exit);

static long sys_t_yield(const struct syscall_args *a)
{
    (void)a;
    if (!is_test_thread())
        return -SD_ENOSYS;
    yield();
    return 0;
}
DEFINE_SYSCALL(SYS_T_YIELD, sys_t_yield);

/* ---- faults ---- */

static struct {
    unsigned vector;
    uint64_t error_code;
    uintptr_t addr, rip;
} fault_seen;

static __noreturn void record_fault(unsigned vector, uint64_t err, uintptr_t addr, uintptr_t rip)
{
    fault_seen.vector = vector;
    fault_seen.error_code = err;
    fault_seen.addr = addr;
    fault_seen.rip = rip;
    uthread_exit(-1);
}

static void test_syscall_basic(struct ktest *t)
{
    nr_records = 0;
    int code = run_user(uprog_addr(uprog_basic), UT_STACK(0) + PAGE_SIZE, 0);
    EXPECT_EQ(t, code, 77);
    ASSERT_EQ(t, nr_records, 3u);
    /* First call: the six arguments in their registers, the frame's RIP is
     * the instruction after SYSCALL. */
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(t, records[0].a[i], (uint64_t)(i + 1));
    EXPECT_EQ(t, records[0].frame_rip, uprog_addr(uprog_basic_ret));
    /* Second: the result, preserved registers, the stack, a fresh MXCSR. */
    EXPECT_EQ(t, records[1].a[0], 21u);
    EXPECT_EQ(t, records[1].a[1], 0x1111u);
    EXPECT_EQ(t, records[1].a[2], 0x2222u);
    EXPECT_EQ(t, records[1].a[3], 0x3333u + 0x4444u + 0x5555u + 0x6666u);
    EXPECT_EQ(t, records[1].a[4], UT_STACK(0) + PAGE_SIZE);
    EXPECT_EQ(t, records[1].a[5], 0x1f80u);
    /* Third: two unknown numbers. */
    EXPECT_EQ(t, (long)records[2].a[0], -SD_ENOSYS);
    EXPECT_EQ(t, (long)records[2].a[1], -SD_ENOSYS);
}

/* Run a program that faults at (or, for a trap, just before) fault_rip. */
static void expect_user_fault_at(struct ktest *t, uintptr_t rip, uintptr_t fault_rip, unsigned vector,
                                 uintptr_t addr)
{
    memset(&fault_seen, 0, sizeof(fault_seen));
    user_fault_test_hook = record_fault;
    int code = run_user(rip, UT_STACK(0) + PAGE_SIZE, 0);
    user_fault_test_hook = NULL;
    EXPECT_EQ(t, code, -1);
    EXPECT_EQ(t, fault_seen.vector, vector);
    EXPECT_EQ(t, fault_seen.addr, addr);
    EXPECT_EQ(t, fault_seen.rip, fault_rip);
}

static void expect_user_fault(struct ktest *t, uintptr_t rip, unsigned vector, uintptr_t addr)
{
    /* Faults report the faulting instruction; #BP is a trap: the next one. */
    expect_user_fault_at(t, rip, rip + (vector == EXC_BP ? 1 : 0), vector, addr);
}

static void test_user_faults(struct ktest *t)
{
    expect_user_fault(t, uprog_addr(uprog_ud2), EXC_UD, 0);
    expect_user_fault(t, uprog_addr(uprog_pf), EXC_PF, UT_UNMAPPED);
    EXPECT_EQ(t, fault_seen.error_code & 7, 6u);         /* not-present write user */
    expect_user_fault(t, uprog_addr(uprog_int3), EXC_BP, 0);          /* not #GP: the gate has DPL 3 */
    expect_user_fault_at(t, uprog_addr(uprog_div), uprog_addr(uprog_div) + 2, EXC_DE, 0);   /* after the xor */
    expect_user_fault(t, uprog_addr(uprog_kernel_read), EXC_PF, DIRECT_MAP_BASE + 0x100000);
    EXPECT_EQ(t, fault_seen.error_code & 7, 5u);         /* protection read user */
    expect_user_fault(t, uprog_addr(uprog_cli), EXC_GP, 0);           /* IOPL 0 */
    /* Starting at a kernel address is refused before IRETQ could fault. */
    expect_user_fault(t, 0xffffffff80000000ul, EXC_GP, 0);
    expect_user_fault(t, NONCANONICAL, EXC_GP, 0);
}

/* ---- uaccess, run inside a system call of a user thread ---- */

#define UA_CHECKS 16
static long ua_result[UA_CHECKS];
static char ua_copy[32];

static long sys_t_uaccess(const struct syscall_args *a)
{
    if (!is_test_thread())
        return -SD_ENOSYS;
    const char *ustr = (const char *)a->a[0];
    uintptr_t page_end = UT_STACK(0) + PAGE_SIZE;
    char buf[16];
    uint64_t v;
    int n = 0;

    ua_result[n++] = strncpy_from_user(buf, ustr, sizeof(buf));                       /* 0: 5 */
    memcpy(ua_copy, buf, sizeof(buf));
    ua_result[n++] = strncpy_from_user(buf, ustr, 3);                                 /* 1 */
    ua_result[n++] = copy_from_user(buf, ustr, 6);                                    /* 2: 0 */
    ua_result[n++] = copy_from_user(buf, (const void *)UT_UNMAPPED, 8);               /* 3 */
    ua_result[n++] = copy_from_user(buf, &nr_records, 4);                             /* 4: kernel */
    ua_result[n++] = copy_from_user(buf, (const void *)NONCANONICAL, 8);              /* 5 */
    ua_result[n++] = copy_to_user((void *)UT_CODE, buf, 1);                           /* 6: read-only */
    ua_result[n++] = copy_to_user((void *)(page_end - 8), "xyz", 4);                  /* 7: 0 */
    ua_result[n++] = copy_from_user(buf, (const void *)(page_end - 4), 8);            /* 8: crosses */
    ua_result[n++] = strncpy_from_user(buf, (const char *)(page_end - 3), sizeof(buf)); /* 9: no NUL */
    ua_result[n++] = copy_to_user((void *)(SD_USER_TOP - 4), buf, 8);                  /* 10 */
    ua_result[n++] = copy_from_user(buf, (const void *)~0ul, 2);                      /* 11: wraps */
    /* SMAP: outside the copies, the kernel cannot read user pages. */
    ua_result[n++] = smap_enabled ? probe_read_u64(ustr, &v) : 0;                     /* 12: false */
    return 42;
}
DEFINE_SYSCALL(SYS_T_UACCESS, sys_t_uaccess);

static void test_uaccess(struct ktest *t)
{
    char *stack = phys_to_virt(stack_pages[0]);
    memcpy(stack + 256, "hello", 6);
    memcpy(stack + PAGE_SIZE - 3, "abc", 3);            /* no NUL before the unmapped page */

    int code = run_user(uprog_addr(uprog_uaccess), UT_STACK(0) + PAGE_SIZE - 64, UT_STACK(0) + 256);
    EXPECT_EQ(t, code, 42);
    EXPECT_EQ(t, ua_result[0], 5);
    EXPECT_STREQ(t, ua_copy, "hello");
    EXPECT_EQ(t, ua_result[1], -SD_ENAMETOOLONG);
    EXPECT_EQ(t, ua_result[2], 0);
    for (int i = 3; i <= 6; i++)
        EXPECT_EQ(t, ua_result[i], -SD_EFAULT);
    EXPECT_EQ(t, ua_result[7], 0);
    EXPECT_EQ(t, memcmp(stack + PAGE_SIZE - 8, "xyz", 4), 0);
    EXPECT_EQ(t, ua_result[8], -SD_EFAULT);
    EXPECT_EQ(t, ua_result[9], -SD_EFAULT);
    EXPECT_EQ(t, ua_result[10], -SD_EFAULT);
    EXPECT_EQ(t, ua_result[11], -SD_EFAULT);
    EXPECT_EQ(t, ua_result[12], 0);

    EXPECT_TRUE(t, user_range_ok(0x1000, 16));
    EXPECT_TRUE(t, user_range_ok(SD_USER_TOP - 16, 16));
    EXPECT_FALSE(t, user_range_ok(SD_USER_TOP - 8, 16));
    EXPECT_FALSE(t, user_range_ok(~0ul - 4, 16));
    /* From a kernel thread, with no user pages anywhere to fault in. */
    char buf[8];
    EXPECT_EQ(t, copy_from_user(buf, (const void *)UT_UNMAPPED, 8), -SD_EFAULT);
}

/*
 * FPU/SSE: threads keep a marker in xmm0 and on the x87 stack while they
 * spin (preempted by ticks, maybe migrated) and yield to each other; a
 * wrong value after any switch means its state was lost or mixed up.
 */
static void test_fpu_switch(struct ktest *t)
{
    struct uthread_start s[UT_STACKS];
    struct task *th[UT_STACKS];

    atomic_store(&utest_active, true);
    for (int i = 0; i < UT_STACKS; i++) {
        s[i] = (struct uthread_start){ uprog_addr(uprog_fpu), UT_STACK(i) + PAGE_SIZE, 1000 + 17 * (uint64_t)i };
        th[i] = uthread_create(&s[i], "utest-fpu");
        if (i < 2)
            kthread_bind(th[i], 0);     /* at least two share a CPU, whatever the CPU count */
    }
    for (int i = 0; i < UT_STACKS; i++)
        kthread_start(th[i]);
    for (int i = 0; i < UT_STACKS; i++)
        EXPECT_EQ(t, kthread_join(th[i]), 0);
    atomic_store(&utest_active, false);
}

/*
 * NMIs while a CPU goes in and out of user mode through SYSCALL/SYSRET: some
 * land in ring 3, most in the kernel, and a few in the instructions where
 * CS is the kernel's but GS the user's (isr.asm decides swapgs from the GS
 * base MSR there).  The handler reads this_cpu_id() through GS: a wrong GS
 * would fault in NMI context and panic.
 */
#define NMI_TARGET 1
/*
 * Pauses between one NMI's handling and the next.  Without a gap the sender
 * can keep the target in NMI delivery almost all the time: under TCG a run
 * then took 14 NMIs per system call and 100+ s instead of 2 s (and Bochs
 * logged every delivery, 11 million lines).  The gap is counted in loop
 * iterations, not time, and still leaves hundreds of thousands of NMIs per
 * run, many of them in ring 3 and in the entry and exit paths.
 */
#define NMI_GAP_PAUSES 20
/* And at most this many, so that a slow run stays bounded.  (This loop
 * once ran ~80x slower under TCG on some memory layouts: its kernel stack
 * sat on a frame that had held a program's code, and QEMU sent every store
 * to the stack through its self-modifying-code path.  kstack_alloc() zeroes
 * fresh stacks since; docs/memory.md, "Frames that held code".) */
#define NMI_MAX_SENT 300000
static _Atomic unsigned nmi_pending, nmi_seen, nmi_seen_user, nmi_seen_wrong_cpu;
static bool nmi_registered;

static bool utest_nmi_handler(struct trap_frame *tf)
{
    if (this_cpu_id() != NMI_TARGET || atomic_load(&nmi_pending) == 0)
        return false;
    atomic_fetch_sub(&nmi_pending, 1);
    atomic_fetch_add(&nmi_seen, 1);
    if ((tf->cs & 3) == 3)
        atomic_fetch_add(&nmi_seen_user, 1);
    if (((struct percpu_hdr *)arch_this_cpu_base())->cpu != NMI_TARGET)
        atomic_fetch_add(&nmi_seen_wrong_cpu, 1);
    return true;
}

/* How many system calls the target loops through while NMIs rain on it.
 * Bochs emulates far fewer instructions per second than QEMU: its runner
 * configuration passes a smaller number. */
static unsigned nmi_syscall_rounds = 200000;
CMDLINE_UINT(utest_nmi_rounds, nmi_syscall_rounds, 1000, 100000000,
             "system calls the uentry NMI test loops through (fewer on slow emulators)");

static void test_nmi_during_syscalls(struct ktest *t)
{
    if (nr_cpus_online <= NMI_TARGET)
        KTEST_SKIP(t, "needs at least 2 CPUs");
    if (!nmi_registered) {
        nmi_register(utest_nmi_handler);
        nmi_registered = true;
    }
    atomic_store(&nmi_seen, 0);
    atomic_store(&nmi_seen_user, 0);
    atomic_store(&nmi_seen_wrong_cpu, 0);
    atomic_store(&uthreads_exited, 0);

    struct uthread_start s = { uprog_addr(uprog_syscall_loop), UT_STACK(0) + PAGE_SIZE, nmi_syscall_rounds };
    atomic_store(&utest_active, true);
    struct task *th = uthread_create(&s, "utest-nmi");
    kthread_bind(th, NMI_TARGET);
    kthread_start(th);
    unsigned sent = 0;
    while (atomic_load(&uthreads_exited) == 0 && sent < NMI_MAX_SENT) {
        atomic_fetch_add(&nmi_pending, 1);
        smp_send_nmi(NMI_TARGET);
        sent++;
        EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&nmi_pending) == 0));
        for (unsigned i = 0; i < NMI_GAP_PAUSES; i++)
            arch_cpu_relax();
    }
    EXPECT_EQ(t, kthread_join(th), 0);
    atomic_store(&utest_active, false);
    ktest_log("%u NMIs, %u of them in user mode", atomic_load(&nmi_seen), atomic_load(&nmi_seen_user));
    EXPECT_EQ(t, atomic_load(&nmi_seen), sent);
    EXPECT_EQ(t, atomic_load(&nmi_seen_wrong_cpu), 0u);
}

static const struct ktest_case uentry_cases[] = {
    KTEST_CASE(test_syscall_basic),
    KTEST_CASE(test_user_faults),
    KTEST_CASE(test_uaccess),
    KTEST_CASE(test_fpu_switch),
    KTEST_CASE(test_nmi_during_syscalls),
    {0},
};
KTEST_SUITE(uentry, uentry_cases, .setup = utest_setup, .teardown = utest_teardown);
