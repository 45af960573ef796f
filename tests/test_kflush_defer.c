/*
 * tests/test_kflush_defer.c - kernel flushes deferred for CPUs in user
 * mode or idle (arch/x86_64/kctx.c, docs/tlb.md "Kernel flushes deferred
 * for user and idle CPUs"), by counts.
 *
 * The body runs bound to CPU 0 and flushes one kernel page (a page mapped
 * in the guard slot of a kernel stack, as in test_paging.c) while the other
 * CPUs are
 *   - idle: with kflush_defer=on no IPI reaches them, each is counted as
 *     skipped-idle, and each does exactly one deferred flush when it next
 *     enters the kernel (we wake it with a cross-CPU call);
 *   - spinning in a kernel thread: each gets its IPI, none is skipped;
 *   - idle, but the range is in the user half (init_mm's, used in ring 3):
 *     never deferred;
 *   - CPU 1 running a user program in ring 3 (user/kflush_user.c): no IPI
 *     reaches it, it is counted as skipped-user, and it flushes at its next
 *     entry (the program's next system call).  A flush that finds CPU 1 in
 *     the kernel (a tick, the program's own calls) rightly sends the IPI,
 *     so rounds are tried until one finds it in user mode.
 * With kflush_defer=off every case sends the IPIs.  The TLB trace must
 * tell the same story as the counters (docs/tlb.md, event kernel_flush):
 * whom the flush called, whom it deferred and in which state, and each
 * deferred CPU's kflush_entry once it entered the kernel.
 *
 * An idle CPU wakes for its timer tick now and then; a flush that falls
 * inside the tick's handler finds the CPU in kernel mode and rightly sends
 * the IPI.  So the idle case counts only a round in which no other CPU
 * entered the kernel between "all idle" and the end of the flush (counter
 * kctx_entries did not move): then every one of them was idle throughout.
 * (With kflush_defer=off the flush's own IPI is such an entry: that case
 * needs no clean round, every CPU gets its IPI whatever it does.)
 */
#include "ktest_suite.h"
#include "smp_test_util.h"
#include "user_test_util.h"
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_trace.h>
#include <kernel/kstack.h>
#include <kernel/page_alloc.h>
#include <kernel/pt_walk.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <arch/paging.h>
#include <arch/x86/kctx.h>
#include <stdatomic.h>

DECLARE_COUNTER(tlb, kernel_flush_ipis);
DECLARE_COUNTER(tlb, kernel_flush_skip_user);
DECLARE_COUNTER(tlb, kernel_flush_skip_idle);
DECLARE_COUNTER(tlb, kernel_flush_deferred);
DECLARE_COUNTER(tlb, kctx_entries);

#define IDLE_ATTEMPTS 200       /* rounds tried until one had every other CPU idle throughout */

/* kctx_entries of every CPU but 0. */
static uint64_t others_entries(void)
{
    uint64_t n = 0;
    for (unsigned cpu = 1; cpu < nr_cpus_online; cpu++)
        n += counter_read_cpu(COUNTER(tlb, kctx_entries), cpu);
    return n;
}

static uint64_t others_deferred(void)
{
    uint64_t n = 0;
    for (unsigned cpu = 1; cpu < nr_cpus_online; cpu++)
        n += counter_read_cpu(COUNTER(tlb, kernel_flush_deferred), cpu);
    return n;
}

/* Every online CPU but 0, as the trace's masks (CPUs 0..63) give them. */
static uint64_t others_mask(void)
{
    return cpu_online_mask.bits[0] & ~1ull;
}

/* The events `ev` CPU `cpu` recorded since its trace count was `from`
 * (the last one in *out); for a kernel_flush only those of [va, va +
 * PAGE_SIZE) (va 0: any).  Entries below the count are whole unless the
 * ring wrapped, and these windows hold a handful of events. */
static unsigned traced_since(unsigned cpu, uint64_t from, unsigned ev, uintptr_t va,
                             struct tlb_trace_entry *out)
{
    unsigned n = 0;
    struct tlb_trace_entry e;
    for (uint64_t i = from; i < tlb_trace_count(cpu); i++)
        if (tlb_trace_read(cpu, i, &e) && e.event == ev && (!va || e.a[0] == (uint64_t)va)) {
            n++;
            if (out)
                *out = e;
        }
    return n;
}

/* This CPU traced one kernel_flush of [va, va + PAGE_SIZE) since `from`,
 * calling the CPUs of `called` and deferring those of `user` and `idle`.
 * (A kernel flush of another range meanwhile - a kernel stack freed by a
 * thread that ran here - is not this one.) */
static void expect_traced_flush(struct ktest *t, uint64_t from, uintptr_t va, uint64_t called,
                                uint64_t user, uint64_t idle)
{
    struct tlb_trace_entry e = { 0 };
    EXPECT_EQ(t, traced_since(this_cpu_id(), from, TLBT_KERNEL_FLUSH, va, &e), 1u);
    EXPECT_EQ(t, e.a[0], (uint64_t)va);
    EXPECT_EQ(t, e.a[1], (uint64_t)va + PAGE_SIZE);
    EXPECT_EQ(t, e.a[2], called);
    EXPECT_EQ(t, e.a[3], user);
    EXPECT_EQ(t, e.a[4], idle);
}

static bool others_idle(void)
{
    for (unsigned cpu = 1; cpu < nr_cpus_online; cpu++)
        if (kctx_state_of(cpu) != KCTX_IDLE)
            return false;
    return true;
}

/* A kernel page to unmap: the guard page below a fresh kernel stack. */
struct kpage {
    uintptr_t top, va;
    phys_addr_t frame;
};

static bool kpage_map(struct ktest *t, struct kpage *p)
{
    p->top = kstack_alloc();
    EXPECT_NE(t, p->top, 0u);
    p->frame = page_alloc_zeroed(0);
    EXPECT_NE(t, p->frame, 0u);
    if (!p->top || !p->frame)
        return false;
    p->va = p->top - KSTACK_SIZE - PAGE_SIZE;
    EXPECT_EQ(t, kernel_map_page(p->va, p->frame, PTE_KERNEL_RW), 0);
    return true;
}

static void kpage_release(struct kpage *p)
{
    page_free(p->frame, 0);
    kstack_free(p->top);
}

static void nothing(void *arg)
{
    (void)arg;
}

/* With kflush_defer=off every other CPU gets the IPI, whatever it was doing. */
static void idle_body_off(struct ktest *t, struct kpage *p, unsigned k)
{
    EXPECT_TRUE(t, SPIN_UNTIL(others_idle()));
    uint64_t deferred0 = others_deferred();
    struct counter_snapshot s;
    counters_snapshot(&s);
    uint64_t from = tlb_trace_count(0);
    EXPECT_EQ(t, kernel_unmap_page(p->va), p->frame);
    uint64_t ipis = counter_delta(&s, COUNTER(tlb, kernel_flush_ipis));
    ktest_log("kflush_defer=off, %u other CPUs idle: %llu IPIs", k, (unsigned long long)ipis);
    expect_traced_flush(t, from, p->va, others_mask(), 0, 0);
    EXPECT_EQ(t, ipis, (uint64_t)k);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_idle)), 0u);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_user)), 0u);
    smp_call_others(nothing, NULL, true);
    EXPECT_EQ(t, others_deferred() - deferred0, 0u);
}

static void idle_body(void *arg)
{
    struct ktest *t = arg;
    unsigned k = nr_cpus_online - 1;
    struct kpage p;
    if (!kpage_map(t, &p))
        return;
    if (!kflush_defer) {
        idle_body_off(t, &p, k);
        kpage_release(&p);
        return;
    }
    bool clean = false;
    struct counter_snapshot s;
    uint64_t deferred0 = 0, from[MAX_CPUS];
    for (unsigned i = 0; i < IDLE_ATTEMPTS && !clean; i++) {
        if (i > 0) {        /* a tick came in between: map it again and retry */
            smp_call_others(nothing, NULL, true);
            EXPECT_EQ(t, kernel_map_page(p.va, p.frame, PTE_KERNEL_RW), 0);
        }
        EXPECT_TRUE(t, SPIN_UNTIL(others_idle()));
        deferred0 = others_deferred();
        uint64_t entries0 = others_entries();
        counters_snapshot(&s);
        for (unsigned cpu = 0; cpu < nr_cpus_online; cpu++)
            from[cpu] = tlb_trace_count(cpu);
        EXPECT_EQ(t, kernel_unmap_page(p.va), p.frame);
        clean = others_entries() == entries0;
    }
    EXPECT_TRUE(t, clean);
    if (clean) {
        uint64_t ipis = counter_delta(&s, COUNTER(tlb, kernel_flush_ipis));
        uint64_t idle = counter_delta(&s, COUNTER(tlb, kernel_flush_skip_idle));
        ktest_log("kflush_defer=on, %u other CPUs idle: %llu IPIs, %llu skipped idle",
                  k, (unsigned long long)ipis, (unsigned long long)idle);
        EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_user)), 0u);
        EXPECT_EQ(t, ipis, 0u);
        EXPECT_EQ(t, idle, (uint64_t)k);
        expect_traced_flush(t, from[0], p.va, 0, 0, others_mask());
        /* Each owes one flush, done at its next entry: our call's IPI at
         * the latest. */
        smp_call_others(nothing, NULL, true);
        EXPECT_EQ(t, others_deferred() - deferred0, (uint64_t)k);
        for (unsigned cpu = 1; cpu < nr_cpus_online; cpu++)
            EXPECT_GE(t, traced_since(cpu, from[cpu], TLBT_KFLUSH_ENTRY, 0, NULL), 1u);
    }
    kpage_release(&p);
}

struct spinners {
    atomic_uint running;
    atomic_bool stop;
};

static void spin_fn(void *arg)
{
    struct spinners *sp = arg;
    atomic_fetch_add(&sp->running, 1);
    while (!atomic_load(&sp->stop))
        arch_cpu_relax();       /* kernel mode, interrupts on */
}

static void kernel_body(void *arg)
{
    struct ktest *t = arg;
    unsigned k = nr_cpus_online - 1;
    struct spinners sp = {0};
    struct task *th[MAX_CPUS] = {0};
    for (unsigned cpu = 1; cpu < nr_cpus_online; cpu++) {
        th[cpu] = kthread_create(spin_fn, &sp, "kdefer-spin");
        ASSERT_TRUE(t, th[cpu] != NULL);
        kthread_bind(th[cpu], cpu);
        kthread_start(th[cpu]);
    }
    EXPECT_TRUE(t, SPIN_UNTIL(atomic_load(&sp.running) == k));
    struct kpage p;
    if (kpage_map(t, &p)) {
        struct counter_snapshot s;
        counters_snapshot(&s);
        uint64_t from = tlb_trace_count(0);
        EXPECT_EQ(t, kernel_unmap_page(p.va), p.frame);
        uint64_t ipis = counter_delta(&s, COUNTER(tlb, kernel_flush_ipis));
        ktest_log("%u other CPUs spinning in the kernel: %llu IPIs", k, (unsigned long long)ipis);
        EXPECT_EQ(t, ipis, (uint64_t)k);
        expect_traced_flush(t, from, p.va, others_mask(), 0, 0);
        EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_idle)), 0u);
        EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_user)), 0u);
        kpage_release(&p);
    }
    atomic_store(&sp.stop, true);
    for (unsigned cpu = 1; cpu < nr_cpus_online; cpu++)
        EXPECT_EQ(t, kthread_join(th[cpu]), 0);
}

/* The user half of init_mm is used in ring 3: a flush there never defers. */
static void user_half_body(void *arg)
{
    struct ktest *t = arg;
    unsigned k = nr_cpus_online - 1;
    EXPECT_TRUE(t, SPIN_UNTIL(others_idle()));
    struct counter_snapshot s;
    counters_snapshot(&s);
    flush_tlb_kernel_range(0x400000, 0x400000 + PAGE_SIZE);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_ipis)), (uint64_t)k);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_idle)), 0u);
    EXPECT_EQ(t, counter_delta(&s, COUNTER(tlb, kernel_flush_skip_user)), 0u);
}

#define USER_ATTEMPTS 200         /* flushes tried until one found CPU 1 in user mode */
#define USER_ROUNDS "20000"     /* the program's spins before it gives up */

static void user_body(void *arg)
{
    struct ktest *t = arg;
    struct user_baseline b;
    user_baseline_take(&b);
    struct kpage p;
    if (!kpage_map(t, &p))
        return;
    const char *const argv[] = { "kflush_user", "1", USER_ROUNDS, NULL };
    int pid = process_spawn(argv[0], argv);
    EXPECT_GT(t, pid, 0);
    /* No flush before the program took its starting count (a skip before
     * that it would never see): it makes this endpoint right after. */
    EXPECT_TRUE(t, pid <= 0 || SPIN_UNTIL(ipc_endpoint_lookup("kflush_user-ready") > 0));
    uint64_t skipped = 0, deferred0 = 0, from0 = 0, from1 = 0;
    struct counter_snapshot s;
    for (unsigned i = 0; pid > 0 && i < USER_ATTEMPTS && !skipped; i++) {
        if (i > 0)          /* it was in the kernel: map it again and retry */
            EXPECT_EQ(t, kernel_map_page(p.va, p.frame, PTE_KERNEL_RW), 0);
        EXPECT_TRUE(t, SPIN_UNTIL(kctx_state_of(1) == KCTX_USER));
        deferred0 = counter_read_cpu(COUNTER(tlb, kernel_flush_deferred), 1);
        from0 = tlb_trace_count(0);
        from1 = tlb_trace_count(1);
        counters_snapshot(&s);
        EXPECT_EQ(t, kernel_unmap_page(p.va), p.frame);
        skipped = counter_delta(&s, COUNTER(tlb, kernel_flush_skip_user));
    }
    ktest_log("CPU 1 in user mode: %llu skipped", (unsigned long long)skipped);
    EXPECT_EQ(t, skipped, 1u);
    if (skipped) {
        /* Called or not, CPU 1 is in the flush's user set, no other CPU. */
        struct tlb_trace_entry e = { 0 };
        EXPECT_EQ(t, traced_since(0, from0, TLBT_KERNEL_FLUSH, p.va, &e), 1u);
        EXPECT_EQ(t, e.a[3], 1ull << 1);
        EXPECT_EQ(t, e.a[2] & (1ull << 1), 0u);
    }
    /* The program saw the skip and ended; its next entry flushed. */
    int status = -1;
    EXPECT_EQ(t, process_wait(pid, &status), pid);
    EXPECT_EQ(t, status, 0);
    if (skipped) {
        EXPECT_GE(t, counter_read_cpu(COUNTER(tlb, kernel_flush_deferred), 1) - deferred0, 1u);
        EXPECT_GE(t, traced_since(1, from1, TLBT_KFLUSH_ENTRY, 0, NULL), 1u);
    }
    kpage_release(&p);
    user_baseline_check(t, &b);
}

static void run_on_cpu0(struct ktest *t, void (*fn)(void *), const char *name)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    size_t frames = page_free_frames();
    struct task *body = kthread_create(fn, t, name);
    ASSERT_TRUE(t, body != NULL);
    kthread_bind(body, 0);
    kthread_start(body);
    EXPECT_EQ(t, kthread_join(body), 0);
    kstack_cache_drain();
    /* With pt_free=rcu the tables of kflush_user's mm come back only after
     * a grace period. */
    pt_free_drain();
    EXPECT_EQ(t, page_free_frames(), frames);
}

static void test_idle_cpus_deferred(struct ktest *t)
{
    run_on_cpu0(t, idle_body, "kdefer-idle");
}

static void test_kernel_cpus_get_ipi(struct ktest *t)
{
    run_on_cpu0(t, kernel_body, "kdefer-kernel");
}

static void test_user_half_never_deferred(struct ktest *t)
{
    run_on_cpu0(t, user_half_body, "kdefer-uhalf");
}

static void test_user_cpu_deferred(struct ktest *t)
{
    if (!kflush_defer)
        KTEST_SKIP(t, "kflush_defer=off defers nothing (test_idle_cpus_deferred covers off)");
    run_on_cpu0(t, user_body, "kdefer-user");
}

static const struct ktest_case kflush_defer_cases[] = {
    KTEST_CASE(test_idle_cpus_deferred),
    KTEST_CASE(test_kernel_cpus_get_ipi),
    KTEST_CASE(test_user_half_never_deferred),
    KTEST_CASE(test_user_cpu_deferred),
    {0},
};

KTEST_SUITE(kflush_defer, kflush_defer_cases);
