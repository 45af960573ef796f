/*
 * kernel/debug/tlb_trace.c - the TLB event ring (kernel/debug/tlb_trace.h).
 *
 * Writer protocol, per CPU: with interrupts off, fill the entry at
 * head % TLB_TRACE_ENTRIES, then advance head.  Only the owning CPU writes
 * its ring and interrupts are off, so nothing else writes it concurrently:
 * no lock and no atomic is needed.  Readers on other CPUs (the dump) read
 * head, then the entries below it; an entry being overwritten while it is
 * printed can show mixed fields, which is why the dump is meant for a quiet
 * machine (after the tests) and why each entry carries its own seq, so a
 * reader can tell an overwritten slot from the one it expected.
 */
#include <kernel/debug/tlb_trace.h>
#include <kernel/boot_options.h>
#include <kernel/debug/counters.h>
#include <kernel/config.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>
#include <arch/cpu.h>

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

void tlb_trace(enum tlb_trace_event ev, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    if (tlbtrace_mode == TLBTRACE_OFF)
        return;
    uint64_t flags = arch_irq_save();
    struct tlb_trace_ring *r = this_cpu_ptr(&tlb_trace_ring);
    uint64_t h = r->head;
    struct tlb_trace_entry *e = &r->e[h % TLB_TRACE_ENTRIES];
    e->tsc = arch_cycles();
    e->event = (uint16_t)ev;
    e->cpu = (uint16_t)this_cpu_id();
    e->seq = (uint32_t)h;
    e->a[0] = a0;
    e->a[1] = a1;
    e->a[2] = a2;
    e->a[3] = a3;
    /* Publish after the entry (for a reader on another CPU; x86 keeps
     * stores in order, the release keeps the compiler from reordering). */
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

/* Copy event number `idx` of `cpu` if the ring still holds it. */
static bool read_event(unsigned cpu, uint64_t idx, struct tlb_trace_entry *out)
{
    struct tlb_trace_ring *r = per_cpu_ptr(&tlb_trace_ring, cpu);
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (idx >= head || head - idx > TLB_TRACE_ENTRIES)
        return false;
    *out = r->e[idx % TLB_TRACE_ENTRIES];
    return out->seq == (uint32_t)idx;
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
};

static const char *const work_names[TLBT_WORK_NR] = {
    "nothing", "pages", "full", "not loaded", "lazy: later", "lazy: leave_mm", "caught up",
};
static const char *const cr3_names[] = { "noflush", "flush", "init_mm" };

static void print_event(const struct tlb_trace_entry *e, uint64_t tsc0)
{
    const uint64_t *a = e->a;
    const char *name = e->event < TLBT_NR_EVENTS ? event_names[e->event] : "?";
    printk_raw("tlbtrace: %12llu cpu%u %-13s ", (unsigned long long)(e->tsc - tsc0), e->cpu, name);
    switch (e->event) {
    case TLBT_SWITCH_MM:
    case TLBT_LAZY_LEAVE:
        printk_raw("ctx %llu -> ctx %llu\n", (unsigned long long)a[0], (unsigned long long)a[1]);
        break;
    case TLBT_LAZY_ENTER:
    case TLBT_LAZY_HANDOVER:
    case TLBT_MM_FREE:
    case TLBT_LEAVE_MM:
        printk_raw("ctx %llu\n", (unsigned long long)a[0]);
        break;
    case TLBT_FLUSH:
        printk_raw("ctx %llu [%#llx, %#llx) gen %llu%s\n", (unsigned long long)a[0],
                   (unsigned long long)a[1], (unsigned long long)a[2],
                   (unsigned long long)(a[3] >> 1), (a[3] & 1) ? " freed_tables" : "");
        break;
    case TLBT_IPI_SEND:
        printk_raw("ctx %llu to %llu cpus (mask %#llx)\n", (unsigned long long)a[0],
                   (unsigned long long)a[1], (unsigned long long)a[2]);
        break;
    case TLBT_IPI_RECV:
        printk_raw("ctx %llu from cpu%llu: %s\n", (unsigned long long)a[0], (unsigned long long)a[1],
                   a[2] < TLBT_WORK_NR ? work_names[a[2]] : "?");
        break;
    case TLBT_CR3_LOAD:
        printk_raw("ctx %llu pcid %llu %s\n", (unsigned long long)a[0], (unsigned long long)a[1],
                   a[3] < 3 ? cr3_names[a[3]] : "?");
        break;
    case TLBT_LAZY_CATCHUP:
        printk_raw("ctx %llu slot gen %llu mm gen %llu: %s\n", (unsigned long long)a[0],
                   (unsigned long long)a[1], (unsigned long long)a[2], a[3] ? "full flush" : "nothing");
        break;
    case TLBT_KERNEL_FLUSH:
        printk_raw("[%#llx, %#llx)\n", (unsigned long long)a[0], (unsigned long long)a[1]);
        break;
    case TLBT_LAZY_DROP:
        printk_raw("ctx %llu: borrow dropped (%s)\n", (unsigned long long)a[0],
                   a[1] == 1 ? "exit shootdown" : a[1] == 2 ? "hazard slot" : "asked");
        break;
    case TLBT_LAZY_FREE:
        printk_raw("ctx %llu: %s calls %llu other cpus (mask %#llx)\n", (unsigned long long)a[0],
                   a[1] == 1 ? "shootdown" : "hazard scan", (unsigned long long)a[2],
                   (unsigned long long)a[3]);
        break;
    default:
        printk_raw("%#llx %#llx %#llx %#llx\n", (unsigned long long)a[0], (unsigned long long)a[1],
                   (unsigned long long)a[2], (unsigned long long)a[3]);
    }
}

/*
 * Merge: each ring is in TSC order already (one CPU's TSC does not go
 * backwards), so repeatedly print the oldest next entry among the CPUs.
 * Cross-CPU order is as good as the TSCs' synchronization (QEMU and Bochs
 * keep them in step).
 */
void tlb_trace_dump(void)
{
    uint64_t next[MAX_CPUS], end[MAX_CPUS];
    unsigned ncpus = 0;
    while (cpu_has_ring(ncpus)) {
        end[ncpus] = tlb_trace_count(ncpus);
        next[ncpus] = end[ncpus] > TLB_TRACE_ENTRIES ? end[ncpus] - TLB_TRACE_ENTRIES : 0;
        ncpus++;
    }
    printk_raw("tlbtrace: last %u events per CPU, merged by TSC (ticks since the first shown)\n",
               TLB_TRACE_ENTRIES);
    uint64_t tsc0 = 0;
    bool first = true;
    for (;;) {
        struct tlb_trace_entry best = { 0 }, e;
        int best_cpu = -1;
        for (unsigned cpu = 0; cpu < ncpus; cpu++) {
            /* Skip slots overwritten since we read end[]. */
            while (next[cpu] < end[cpu] && !read_event(cpu, next[cpu], &e))
                next[cpu]++;
            if (next[cpu] < end[cpu] && (best_cpu < 0 || e.tsc < best.tsc)) {
                best = e;
                best_cpu = (int)cpu;
            }
        }
        if (best_cpu < 0)
            break;
        next[best_cpu]++;
        if (first) {
            tsc0 = best.tsc;
            first = false;
        }
        print_event(&best, tsc0);
    }
    printk_raw("tlbtrace: end\n");
}

void tlb_trace_dump_if_asked(void)
{
    if (tlbtrace_mode != TLBTRACE_DUMP)
        return;
    counters_print();
    tlb_trace_dump();
}
