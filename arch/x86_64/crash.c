/*
 * arch/x86_64/crash.c - deliberate crashes on request (see arch/crash.h).
 */
#include <arch/crash.h>
#include <arch/memlayout.h>
#include <kernel/boot_options.h>
#include <kernel/compiler.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/sched.h>
#include <kernel/cpumask.h>

enum crash_kind { CRASH_NONE, CRASH_UD, CRASH_DE, CRASH_PF, CRASH_GP, CRASH_BP, CRASH_DF, CRASH_PANIC,
                  CRASH_KTHREAD };

static const char *const crash_choices[] = { "none", "ud", "de", "pf", "gp", "bp", "df", "panic", "kthread", NULL };
static int crash_kind;
CMDLINE_ENUM(crash, crash_kind, crash_choices,
             "fault on purpose late in boot, to check the exception report and panic");

/*
 * An address in the direct map's range that no RAM backs: the last page of
 * the 64 TiB window.  Reading it is a not-present #PF.
 */
#define UNMAPPED_ADDRESS (DIRECT_MAP_BASE + DIRECT_MAP_SIZE - PAGE_SIZE)

/* Each function is noinline so it has its own name in the backtrace.  The
 * volatile accesses and the asm keep the compiler from folding them. */

static __noinline void crash_ud(void)
{
    __asm__ volatile("ud2");
}

static __noinline void crash_de(void)
{
    volatile unsigned zero = 0;
    unsigned q;
    __asm__ volatile("xorl %%edx, %%edx\n\tdivl %1" : "=a"(q) : "r"(zero), "a"(1u) : "rdx");
    (void)q;
}

static __noinline void crash_pf(void)
{
    (void)*(volatile uint64_t *)UNMAPPED_ADDRESS;
}

static __noinline void crash_gp(void)
{
    /* A non-canonical address (bits 63..47 not all equal) is a #GP, not a
     * #PF: the CPU rejects it before it looks at the page tables. */
    (void)*(volatile uint64_t *)0x8000000000000000ul;
}

static __noinline void crash_bp(void)
{
    __asm__ volatile("int3");
}

static __noinline void crash_df(void)
{
    /* Point RSP at an unmapped page and touch the stack: the #PF this
     * raises cannot be delivered (the CPU would push its frame on that same
     * unmapped stack), which makes a #DF, delivered on its own IST stack.
     * The push faults before RSP changes, so RBP and the chain stay good. */
    __asm__ volatile("movq %%rsp, %%rbx\n\t"
                     "movq %0, %%rsp\n\t"
                     "pushq $0\n\t"
                     "movq %%rbx, %%rsp"
                     :: "r"(UNMAPPED_ADDRESS + PAGE_SIZE / 2) : "rbx", "memory");
}

static __noinline void crash_panic(void)
{
    panic("crash=panic: panic on request");
}

/* crash=kthread: the page fault happens in a kernel thread on the last CPU,
 * so the report must name that thread and CPU. */
static void crash_in_thread(void *arg)
{
    (void)arg;
    crash_pf();
}

void crash_if_requested(void)
{
    if (crash_kind == CRASH_NONE)
        return;
    printk("crash=%s: faulting on purpose\n", crash_choices[crash_kind]);
    if (crash_kind == CRASH_KTHREAD) {
        unsigned cpu, last = 0;
        for_each_online_cpu(cpu)
            last = cpu;
        struct task *t = kthread_create(crash_in_thread, NULL, "crasher");
        if (!t)
            panic("crash=kthread: cannot create the thread");
        kthread_bind(t, last);
        kthread_start(t);
        return;     /* the boot goes on; the thread panics when it runs */
    }
    switch (crash_kind) {
    case CRASH_UD: crash_ud(); break;
    case CRASH_DE: crash_de(); break;
    case CRASH_PF: crash_pf(); break;
    case CRASH_GP: crash_gp(); break;
    case CRASH_BP: crash_bp(); break;
    case CRASH_DF: crash_df(); break;
    case CRASH_PANIC: crash_panic(); break;
    }
    panic("crash=%s: the fault did not happen", crash_choices[crash_kind]);
}
