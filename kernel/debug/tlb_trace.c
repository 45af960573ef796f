/*
 * kernel/debug/tlb_trace.c - the TLB event ring (kernel/debug/tlb_trace.h).
 *
 * Writer protocol, per CPU: with interrupts off, mark the entry at
 * head % TLB_TRACE_ENTRIES as being written (seq = 0), fill it, stamp it
 * (seq = its event number + 1), then advance head.  Only the owning CPU
 * writes its ring and interrupts are off, so nothing else writes it
 * concurrently: no lock is needed.  A reader on another CPU (the dump)
 * reads head, then copies an entry below it between two reads of its seq
 * (W1/W2 below pair with R1/R2 in read_event): an entry whose seq was not
 * the one expected at both reads was being overwritten, and is skipped.
 * That also covers a CPU stopped by the panic NMI in the middle of an
 * entry (the dump of a checker violation, tlb_trace_dump_frozen).
 */
#include <kernel/debug/tlb_trace.h>
#include <kernel/boot_options.h>
#include <kernel/compiler.h>
#include <kernel/debug/counters.h>
#include <kernel/config.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>
#include <lib/format.h>
#include <lib/string.h>
#include <stdarg.h>
#include <arch/cpu.h>
#include <arch/timer.h>
#include <stdatomic.h>

STATIC_ASSERT((TLB_TRACE_ENTRIES & (TLB_TRACE_ENTRIES - 1)) == 0, "a power of two");

struct tlb_trace_ring {
    uint64_t head;              /* events recorded; the next goes to head % N */
    struct tlb_trace_entry e[TLB_TRACE_ENTRIES];
};

static DEFINE_PER_CPU(struct tlb_trace_ring, tlb_trace_ring);

enum { TLBTRACE_ON, TLBTRACE_OFF, TLBTRACE_DUMP };
static const char *const tlbtrace_choices[] = { "on", "off", "dump", NULL };
static int tlbtrace_mode = TLBTRACE_ON;
CMDLINE_ENUM(tlbtrace, tlbtrace_mode, tlbtrace_choices,
             "TLB event trace: on (record), off, dump (record; print it and the counters after the tests or the demo)");

/* Set once by tlb_trace_freeze(): nothing is recorded from then on. */
static _Atomic bool frozen;
static _Atomic int frozen_by = -1;

void tlb_trace(enum tlb_trace_event ev, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
               uint64_t a4)
{
    if (tlbtrace_mode == TLBTRACE_OFF || atomic_load_explicit(&frozen, memory_order_relaxed))
        return;
    uint64_t flags = arch_irq_save();
    struct tlb_trace_ring *r = this_cpu_ptr(&tlb_trace_ring);
    uint64_t h = r->head;
    struct tlb_trace_entry *e = &r->e[h % TLB_TRACE_ENTRIES];
    /* W1: "being written" before any field changes (pairs with R2). */
    __atomic_store_n(&e->seq, 0, __ATOMIC_RELAXED);
    atomic_thread_fence(memory_order_release);
    e->tsc = arch_cycles();
    e->event = (uint16_t)ev;
    e->cpu = (uint16_t)this_cpu_id();
    e->a[0] = a0;
    e->a[1] = a1;
    e->a[2] = a2;
    e->a[3] = a3;
    e->a[4] = a4;
    /* W2: the stamp after the fields (pairs with R1), then the head. */
    __atomic_store_n(&e->seq, h + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
    arch_irq_restore(flags);
}

static bool cpu_has_ring(unsigned cpu)
{
    return cpu < MAX_CPUS && percpu_base[cpu] != 0;
}

uint64_t tlb_trace_count(unsigned cpu)
{
    if (!cpu_has_ring(cpu))
        return 0;
    return __atomic_load_n(&per_cpu_ptr(&tlb_trace_ring, cpu)->head, __ATOMIC_ACQUIRE);
}

/* Copy event number `idx` of `cpu` if the ring still holds it whole. */
static bool read_event(unsigned cpu, uint64_t idx, struct tlb_trace_entry *out)
{
    struct tlb_trace_ring *r = per_cpu_ptr(&tlb_trace_ring, cpu);
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (idx >= head || head - idx > TLB_TRACE_ENTRIES)
        return false;
    struct tlb_trace_entry *e = &r->e[idx % TLB_TRACE_ENTRIES];
    /* R1: the stamp, then the fields (pairs with W2). */
    if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != idx + 1)
        return false;
    *out = *e;
    /* R2: the stamp again; unchanged means no writer started meanwhile
     * (pairs with W1). */
    atomic_thread_fence(memory_order_acquire);
    return __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == idx + 1;
}

bool tlb_trace_read(unsigned cpu, uint64_t idx, struct tlb_trace_entry *out)
{
    return cpu_has_ring(cpu) && read_event(cpu, idx, out);
}

bool tlb_trace_recent(unsigned cpu, unsigned n, struct tlb_trace_entry *out)
{
    uint64_t head = tlb_trace_count(cpu);
    if (n >= head)
        return false;
    return read_event(cpu, head - 1 - n, out);
}

/* ---- the owners of address spaces ---------------------------------------- */

/*
 * A small table indexed by ctx_id % TLB_TRACE_OWNERS.  Each slot is a
 * seqlock whose sequence is the ctx itself: the writer stores ctx 0, the
 * fields, then the ctx (O1, O2); a reader that sees the same ctx before and
 * after its copy (O3, O4) has a whole record.  Two writers of one slot at
 * once (ctx ids 256 apart, both new) are excluded by `busy`: the loser
 * keeps no name.  No lock: the dump reads it in a panic.
 */
struct owner {
    _Atomic uint64_t ctx;
    _Atomic bool busy;
    int pid;
    char name[TLB_TRACE_NAME];
};

static struct owner owners[TLB_TRACE_OWNERS];

void tlb_trace_set_owner(uint64_t ctx, int pid, const char *name)
{
    struct owner *o = &owners[ctx % TLB_TRACE_OWNERS];
    if (atomic_exchange(&o->busy, true))
        return;
    atomic_store_explicit(&o->ctx, 0, memory_order_relaxed);       /* O1 */
    atomic_thread_fence(memory_order_release);
    o->pid = pid;
    strlcpy(o->name, name ? name : "?", sizeof(o->name));
    atomic_store_explicit(&o->ctx, ctx, memory_order_release);     /* O2 */
    atomic_store_explicit(&o->busy, false, memory_order_release);
}

bool tlb_trace_owner(uint64_t ctx, int *pid, char name[TLB_TRACE_NAME])
{
    struct owner *o = &owners[ctx % TLB_TRACE_OWNERS];
    if (atomic_load_explicit(&o->ctx, memory_order_acquire) != ctx)        /* O3 */
        return false;
    *pid = o->pid;
    memcpy(name, o->name, TLB_TRACE_NAME);
    name[TLB_TRACE_NAME - 1] = 0;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&o->ctx, memory_order_relaxed) == ctx;     /* O4 */
}

/* ---- the dump ------------------------------------------------------------- */

static const char *const event_names[TLBT_NR_EVENTS] = {
    [TLBT_SWITCH_MM] = "switch_mm",
    [TLBT_LAZY_ENTER] = "lazy_enter",
    [TLBT_LAZY_HANDOVER] = "lazy_handover",
    [TLBT_LAZY_LEAVE] = "lazy_leave",
    [TLBT_FLUSH] = "flush",
    [TLBT_IPI_SEND] = "ipi_send",
    [TLBT_IPI_RECV] = "ipi_recv",
    [TLBT_KERNEL_FLUSH] = "kernel_flush",
    [TLBT_MM_FREE] = "mm_free",
    [TLBT_CR3_LOAD] = "cr3_load",
    [TLBT_LAZY_CATCHUP] = "lazy_catchup",
    [TLBT_LEAVE_MM] = "leave_mm",
    [TLBT_LAZY_DROP] = "lazy_drop",
    [TLBT_LAZY_FREE] = "lazy_free",
    [TLBT_FLUSH_LOCAL] = "flush_local",
    [TLBT_KFLUSH_ENTRY] = "kflush_entry",
};

static const char *const work_names[TLBT_WORK_NR] = {
    "nothing", "pages", "full", "not loaded", "lazy: later", "lazy: leave_mm", "caught up",
};
static const char *const cr3_names[] = { "noflush", "flush", "init_mm" };
static const char *const cause_names[TLB_CAUSE_NR] = {
    [TLB_CAUSE_MUNMAP] = "munmap",
    [TLB_CAUSE_MPROTECT] = "mprotect",
    [TLB_CAUSE_COW] = "cow_fault",
    [TLB_CAUSE_FORK] = "fork_wrprotect",
    [TLB_CAUSE_TEARDOWN] = "teardown",
    [TLB_CAUSE_TEST] = "test",
};

const char *tlb_flush_cause_name(uint64_t cause)
{
    return cause < TLB_CAUSE_NR && cause_names[cause] ? cause_names[cause] : "?";
}

/* One printed line, built in pieces and printed whole, so that a line is
 * never split by another CPU's printk. */
struct line {
    char buf[320];
    size_t n;
};

static void __printf(2, 3) put(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(l->buf + l->n, sizeof(l->buf) - l->n, fmt, ap);
    va_end(ap);
    if (w > 0)
        l->n = l->n + (size_t)w < sizeof(l->buf) ? l->n + (size_t)w : sizeof(l->buf) - 1;
}

/* "ctx 5 (pid 3 hello)", "ctx 0 (kernel)", "ctx 9 (kthread ktest)". */
static void put_ctx(struct line *l, uint64_t ctx)
{
    int pid;
    char name[TLB_TRACE_NAME];
    put(l, "ctx %llu ", (unsigned long long)ctx);
    if (ctx == 0)
        put(l, "(kernel)");
    else if (!tlb_trace_owner(ctx, &pid, name))
        put(l, "(?)");
    else if (pid > 0)
        put(l, "(pid %d %s)", pid, name);
    else
        put(l, "(kthread %s)", name);
}

/* A mask of CPUs 0..63 as " key={1,3}". */
static void put_cpus(struct line *l, const char *key, uint64_t mask)
{
    put(l, " %s={", key);
    const char *sep = "";
    for (unsigned cpu = 0; cpu < 64; cpu++) {
        if (mask >> cpu & 1) {
            put(l, "%s%u", sep, cpu);
            sep = ",";
        }
    }
    put(l, "}");
}

static unsigned ncpus_in(uint64_t mask)
{
    unsigned n = 0;
    for (; mask; mask &= mask - 1)
        n++;
    return n;
}

/* Microseconds since boot, to the nanosecond. */
static void put_us(struct line *l, uint64_t tsc)
{
    uint64_t ns = arch_cycles_to_ns(tsc);
    put(l, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
}

static const char *work_name(uint64_t w)
{
    return w < TLBT_WORK_NR ? work_names[w] : "?";
}

static void print_event(const struct tlb_trace_entry *e)
{
    const uint64_t *a = e->a;
    const char *name = e->event < TLBT_NR_EVENTS ? event_names[e->event] : "?";
    struct line l = { .n = 0 };
    put(&l, "tlbtrace: ");
    put_us(&l, e->tsc);
    put(&l, " us cpu%u %-13s ", e->cpu, name);
    switch (e->event) {
    case TLBT_SWITCH_MM:
    case TLBT_LAZY_LEAVE:
        put_ctx(&l, a[0]);
        put(&l, " -> ");
        put_ctx(&l, a[1]);
        break;
    case TLBT_LAZY_ENTER:
    case TLBT_LAZY_HANDOVER:
    case TLBT_MM_FREE:
    case TLBT_LEAVE_MM:
        put_ctx(&l, a[0]);
        break;
    case TLBT_FLUSH:
        put_ctx(&l, a[0]);
        put(&l, " [%#llx, %#llx) gen %llu%s cause=%s", (unsigned long long)a[1],
            (unsigned long long)a[2], (unsigned long long)(a[3] >> 1),
            (a[3] & 1) ? " freed_tables" : "", tlb_flush_cause_name(a[4]));
        break;
    case TLBT_IPI_SEND:
        put_ctx(&l, a[0]);
        put(&l, " to %u cpus (mask %#llx) skipped:", ncpus_in(a[1]), (unsigned long long)a[1]);
        put_cpus(&l, "lazy", a[2]);
        put_cpus(&l, "not_running", a[3]);
        put_cpus(&l, "offline", a[4]);
        break;
    case TLBT_IPI_RECV:
        put_ctx(&l, a[0]);
        put(&l, " from cpu%llu: %s", (unsigned long long)a[1], work_name(a[2]));
        break;
    case TLBT_FLUSH_LOCAL:
        put_ctx(&l, a[0]);
        put(&l, " own part: %s", work_name(a[1]));
        break;
    case TLBT_CR3_LOAD:
        put_ctx(&l, a[0]);
        put(&l, " pcid %llu %s", (unsigned long long)a[1], a[3] < 3 ? cr3_names[a[3]] : "?");
        break;
    case TLBT_LAZY_CATCHUP:
        put_ctx(&l, a[0]);
        put(&l, " slot gen %llu mm gen %llu: %s", (unsigned long long)a[1], (unsigned long long)a[2],
            a[3] ? "full flush" : "nothing");
        break;
    case TLBT_KERNEL_FLUSH:
        put(&l, "[%#llx, %#llx) to %u cpus (mask %#llx) deferred:", (unsigned long long)a[0],
            (unsigned long long)a[1], ncpus_in(a[2]), (unsigned long long)a[2]);
        put_cpus(&l, "user", a[3]);
        put_cpus(&l, "idle", a[4]);
        break;
    case TLBT_KFLUSH_ENTRY:
        put(&l, "deferred kernel flush done at kernel entry (every global entry dropped)");
        break;
    case TLBT_LAZY_DROP:
        put_ctx(&l, a[0]);
        put(&l, ": borrow dropped (%s)", a[1] == 1 ? "exit shootdown" : a[1] == 2 ? "hazard slot"
                                         : a[1] == 3 ? "mmput teardown" : "asked");
        break;
    case TLBT_LAZY_FREE:
        put_ctx(&l, a[0]);
        put(&l, ": %s calls %llu other cpus (mask %#llx)", a[1] == 1 ? "shootdown" : "hazard scan",
            (unsigned long long)a[2], (unsigned long long)a[3]);
        break;
    default:
        put(&l, "%#llx %#llx %#llx %#llx %#llx", (unsigned long long)a[0], (unsigned long long)a[1],
            (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4]);
    }
    printk_raw("%s\n", l.buf);
}

/* The first event of `cpu` at or after next[cpu] that is still whole. */
static bool peek(unsigned cpu, uint64_t *next, uint64_t end, struct tlb_trace_entry *e)
{
    while (*next < end && !read_event(cpu, *next, e))
        (*next)++;                  /* overwritten since we read end */
    return *next < end;
}

/*
 * Merge: each ring is in time order already (one CPU's TSC does not go
 * backwards), so repeatedly print the oldest next entry among the CPUs.
 * Cross-CPU order is as good as the TSCs' synchronization (QEMU and Bochs
 * keep them in step).
 *
 * The window: a CPU whose ring has wrapped lost its events before its
 * oldest one, so before that time the merged lines would show the other
 * CPUs only (a busy CPU's ring covers a short time, a quiet one's a long
 * time).  The dump starts at the latest of those oldest times - from there
 * on every CPU's record is complete - and says how many older lines it
 * leaves out.  A ring that never wrapped holds everything since boot and
 * does not move the start.
 */
void tlb_trace_dump(void)
{
    uint64_t next[MAX_CPUS], end[MAX_CPUS];
    unsigned ncpus = 0;
    uint64_t start = 0;
    int start_cpu = -1;
    while (cpu_has_ring(ncpus)) {
        unsigned cpu = ncpus++;
        end[cpu] = tlb_trace_count(cpu);
        next[cpu] = end[cpu] > TLB_TRACE_ENTRIES ? end[cpu] - TLB_TRACE_ENTRIES : 0;
        struct tlb_trace_entry e;
        if (next[cpu] > 0 && peek(cpu, &next[cpu], end[cpu], &e) && e.tsc > start) {
            start = e.tsc;
            start_cpu = (int)cpu;
        }
    }
    uint64_t dropped = 0, shown = 0;
    printk_raw("tlbtrace: last %u events per CPU, merged by time (microseconds since boot)\n",
               TLB_TRACE_ENTRIES);
    for (;;) {
        struct tlb_trace_entry best = { 0 }, e;
        int best_cpu = -1;
        for (unsigned cpu = 0; cpu < ncpus; cpu++) {
            if (peek(cpu, &next[cpu], end[cpu], &e) && (best_cpu < 0 || e.tsc < best.tsc)) {
                best = e;
                best_cpu = (int)cpu;
            }
        }
        if (best_cpu < 0)
            break;
        next[best_cpu]++;
        if (best.tsc < start) {
            dropped++;
            continue;
        }
        if (shown++ == 0 && start_cpu >= 0) {
            struct line l = { .n = 0 };
            put(&l, "tlbtrace: from ");
            put_us(&l, start);
            put(&l, " us (cpu%d's oldest event; every CPU's ring holds all its events from there): "
                "%llu older lines dropped", start_cpu, (unsigned long long)dropped);
            printk_raw("%s\n", l.buf);
        }
        print_event(&best);
    }
    printk_raw("tlbtrace: end (%llu lines, %llu older dropped)\n", (unsigned long long)shown,
               (unsigned long long)dropped);
}

void tlb_trace_freeze(void)
{
    int none = -1;
    atomic_compare_exchange_strong(&frozen_by, &none, (int)this_cpu_id());
    atomic_store(&frozen, true);
}

void tlb_trace_dump_frozen(void)
{
    if (!atomic_load(&frozen))
        return;
    printk_raw("tlbtrace: the trace as cpu%d stopped it (a checker violation); the report follows\n",
               atomic_load(&frozen_by));
    tlb_trace_dump();
}

void tlb_trace_dump_if_asked(void)
{
    if (tlbtrace_mode != TLBTRACE_DUMP)
        return;
    counters_print();
    tlb_trace_dump();
}
