/*
 * kernel/demo/tlb_narrator.c - tells the TLB scene in plain words, from the
 * TLB trace (kernel/debug/tlb_trace.h, docs/demo.md).
 *
 * The narrator follows every CPU's trace ring from where it started: each
 * tlb_narrator_tell() reads the events recorded since the last one, merges
 * them by time stamp (each ring is in order already) and tells those of
 * the scene's mm.  Each flush's cause and each IPI batch's targets and the
 * CPUs it left out (lazy, or not running the mm) are the trace's own
 * fields.  Beside them the narrator keeps one fact per CPU that the events
 * imply: whether the CPU is lazy on the mm (it switched from the program to
 * a kernel thread and has not come back or left the mm since).  The two
 * views meet in the test (tests/test_demo_tlb.c): no IPI may go to a CPU
 * the events show lazy unless page tables were freed, and every CPU the
 * flush left out as lazy must be lazy by the events too.
 *
 * The rings hold TLB_TRACE_ENTRIES events per CPU; the scene is short
 * enough to fit between two tells, and an overrun is counted (r->lost)
 * and said, never hidden.
 */
#include <kernel/demo_tlb.h>
#include <kernel/debug/tlb_trace.h>
#include <kernel/config.h>
#include <kernel/cpumask.h>
#include <kernel/kmalloc.h>
#include <kernel/printk.h>
#include <kernel/lazy_mm.h>
#include <uapi/shootdown.h>
#include <lib/format.h>
#include <arch/timer.h>

#define PAGE 4096ull
/* Where the director runs (tlb_scene.c): thread 0 shares cpu0 with it, and
 * each of its IPC calls makes cpu0 lazy for a moment.  Those round trips
 * are counted but not told: they change nothing the scene is about. */
#define DIRECTOR_CPU 0u

struct tlb_narrator {
    uint64_t ctx;
    int pid;
    unsigned ncpus, borrower_cpu;
    bool quiet, freed;
    uint64_t next[MAX_CPUS];            /* each ring's next event to read */
    uint64_t lazy;                      /* CPUs (0..63) lazy on the mm */
    /* CPUs whose event of leaving lazy mode we told but none after it: the
     * event is traced before the CPU's is_lazy store, so a flusher may still
     * see it lazy until that CPU's next event. */
    uint64_t leaving;
    /* CPUs that moved to init_mm (a LEAVE_MM event) and have not switched
     * to a user mm since: the flush handler parks such a CPU when its
     * kernel thread still borrows the mm, and flushers skip it as lazy
     * (arch/x86_64/mm/tlb_switch.c, PARK).  The event comes before the
     * park's store, as LAZY_ENTER before the lazy one.  A borrow drop's
     * leave_mm does not park, but counting it here only lets the check
     * below accept a skip it could have questioned: never a false alarm. */
    uint64_t parked;
    /* For each initiator's flush between its FLUSH and IPI_SEND events: the
     * CPUs that were lazy (or leaving) at some point in between - the only
     * ones F2 can have read as lazy.  Judged at IPI_SEND, in time order, so
     * that a CPU whose lazy entry is traced after the FLUSH event counts. */
    uint64_t skip_ok[MAX_CPUS];
    bool skip_open[MAX_CPUS];
    /* The last flush each CPU started: what its IPIs ask for. */
    struct { uint64_t start, end, gen; bool freed; } flush[MAX_CPUS];
};

static const char *const act_titles[TLBSCENE_NR_ACTS] = {
    [TLBSCENE_ACT_SETUP] = "setup",
    [TLBSCENE_ACT_ALL_RUN] = "act 1",
    [TLBSCENE_ACT_LAZY] = "act 2",
    [TLBSCENE_ACT_TABLES] = "act 3",
    [TLBSCENE_ACT_EXIT] = "act 4",
};

#define say(n, ...) do { if (!(n)->quiet) printk(__VA_ARGS__); } while (0)

struct tlb_narrator *tlb_narrator_start(uint64_t ctx, int pid, unsigned borrower_cpu, bool quiet)
{
    struct tlb_narrator *n = kzalloc(sizeof(*n));
    if (!n)
        return NULL;
    n->ctx = ctx;
    n->pid = pid;
    n->borrower_cpu = borrower_cpu;
    n->quiet = quiet;
    n->ncpus = nr_cpus_online > 64 ? 64 : nr_cpus_online;
    for (unsigned cpu = 0; cpu < n->ncpus; cpu++)
        n->next[cpu] = tlb_trace_count(cpu);
    return n;
}

void tlb_narrator_stop(struct tlb_narrator *n)
{
    kfree(n);
}

uint64_t tlb_narrator_lazy_cpus(const struct tlb_narrator *n)
{
    return n->lazy;
}

bool tlb_narrator_saw_free(const struct tlb_narrator *n)
{
    return n->freed;
}

/* "cpu1 cpu2" into buf. */
static const char *cpu_list(uint64_t mask, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned cpu = 0; cpu < 64 && len < cap; cpu++)
        if (mask & (1ull << cpu))
            len += (size_t)snprintf(buf + len, cap - len, "%scpu%u", len ? " " : "", cpu);
    return buf;
}

/* CPUs in a mask (no popcount instruction assumed: -mno-sse targets may
 * lack POPCNT, and libgcc is not linked). */
static unsigned ncpus_in(uint64_t mask)
{
    unsigned k = 0;
    for (; mask; mask &= mask - 1)
        k++;
    return k;
}

static bool ours(const struct tlb_narrator *n, const struct tlb_trace_entry *e)
{
    switch (e->event) {
    case TLBT_LAZY_LEAVE:
    case TLBT_SWITCH_MM:
        return e->a[0] == n->ctx || e->a[1] == n->ctx;
    case TLBT_KERNEL_FLUSH:
    case TLBT_KFLUSH_ENTRY:
        return false;       /* the kernel's half: no user mm */
    default:
        return e->a[0] == n->ctx;
    }
}

/* The IPI batch of the flush CPU `cpu` started at its event `idx`: its
 * next ipi_send of the mm (recorded for every flush, even one that calls
 * nobody): a1 the CPUs called, a2 those left out as lazy, a3 those left
 * out as not running the mm.  False if the ring lost it. */
static bool flush_batch(const struct tlb_narrator *n, unsigned cpu, uint64_t idx, struct tlb_trace_entry *out)
{
    uint64_t end = tlb_trace_count(cpu);
    for (uint64_t i = idx + 1; i < end; i++) {
        if (!tlb_trace_read(cpu, i, out))
            return false;
        if (out->a[0] != n->ctx)
            continue;
        if (out->event == TLBT_IPI_SEND)
            return true;
        if (out->event == TLBT_FLUSH)
            return false;
    }
    return false;
}

/* "  1234.567 ms" since boot, for the start of a told line. */
static const char *when(const struct tlb_trace_entry *e, char *buf, size_t cap)
{
    uint64_t us = arch_cycles_to_ns(e->tsc) / 1000;
    snprintf(buf, cap, "%6llu.%03llu ms", (unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
    return buf;
}

static void tell_range(const struct tlb_narrator *n, uint64_t start, uint64_t end, char *buf, size_t cap)
{
    (void)n;
    if (start == 0 && end >= SD_USER_TOP)
        snprintf(buf, cap, "the whole address space");
    else
        snprintf(buf, cap, "[%#llx, %#llx), %llu page%s", (unsigned long long)start, (unsigned long long)end,
                 (unsigned long long)((end - start) / PAGE), end - start == PAGE ? "" : "s");
}

static void tell_flush(struct tlb_narrator *n, const struct tlb_trace_entry *e, uint64_t idx,
                       struct tlb_scene_act *a)
{
    unsigned cpu = e->cpu;
    uint64_t gen = e->a[3] >> 1;
    bool freed = e->a[3] & 1;
    char range[80], list[200], t[24];
    n->flush[cpu].start = e->a[1];
    n->flush[cpu].end = e->a[2];
    n->flush[cpu].gen = gen;
    n->flush[cpu].freed = freed;
    a->flushes++;
    if (freed)
        a->flushes_freed++;
    tell_range(n, e->a[1], e->a[2], range, sizeof(range));
    say(n, "tlb: %s  cpu%u changed pid %d's page tables (%s: %s%s): the mm is now at generation %llu\n",
        when(e, t, sizeof(t)), cpu, n->pid, tlb_flush_cause_name(e->a[4]), range,
        freed ? "; a page table was freed" : "", (unsigned long long)gen);

    struct tlb_trace_entry b;
    if (!flush_batch(n, cpu, idx, &b)) {
        say(n, "tlb:     (its IPI batch is not in the trace)\n");
        return;
    }
    uint64_t targets = b.a[1], skipped_lazy = b.a[2], not_running = b.a[3];
    uint64_t lazy = n->lazy & ~(1ull << cpu);           /* as the events say */
    unsigned nt = ncpus_in(targets);
    a->ipis += nt;
    a->ipis_to_lazy += ncpus_in(targets & lazy);
    a->skipped_lazy += ncpus_in(skipped_lazy);
    n->skip_ok[cpu] = n->lazy | n->leaving | n->parked;
    n->skip_open[cpu] = true;
    if (targets)
        say(n, "tlb:     IPIs to %s: on pid %d's CPU list%s, %s may still cache the old translation%s, "
               "so %s must flush before cpu%u goes on\n", cpu_list(targets, list, sizeof(list)), n->pid,
            (targets & lazy) ? "" : " and not lazy", nt == 1 ? "it" : "they",
            (targets & lazy) ? " or the freed table" : "", nt == 1 ? "it" : "they", cpu);
    else if (!skipped_lazy)
        say(n, "tlb:     no IPI: no other CPU runs pid %d%s\n", n->pid,
            nr_cpus_online == 1 ? " (there is only one CPU; cpu0 flushes its own TLB)" : "");
    uint64_t parked = skipped_lazy & n->parked & ~n->lazy;
    if (skipped_lazy & ~parked)
        say(n, "tlb:     no IPI to %s: lazy (a kernel thread runs there on pid %d's page tables but never "
               "touches user memory); it catches up by generation when it returns to the program\n",
            cpu_list(skipped_lazy & ~parked, list, sizeof(list)), n->pid);
    if (parked)
        say(n, "tlb:     no IPI to %s: parked (it left pid %d's page tables for the kernel's; its kernel thread "
               "still borrows the mm, so it stays on the CPU list, but it has nothing to flush)\n",
            cpu_list(parked, list, sizeof(list)), n->pid);
    if (not_running)
        say(n, "tlb:     no IPI to %s: %s pid %d's CPU list but %s not run it any more\n",
            cpu_list(not_running, list, sizeof(list)), ncpus_in(not_running) == 1 ? "on" : "on",
            n->pid, ncpus_in(not_running) == 1 ? "does" : "do");
    if (lazy & targets)
        say(n, "tlb:     %s %s lazy, but %s an IPI anyway: a freed page table may still sit in a lazy CPU's "
               "paging-structure cache, and the table's frame is about to be reused\n",
            cpu_list(lazy & targets, list, sizeof(list)), ncpus_in(lazy & targets) == 1 ? "is" : "are",
            ncpus_in(lazy & targets) == 1 ? "gets" : "get");
}

/* The initiator's own part of its flush (flush_local). */
static void tell_local(struct tlb_narrator *n, const struct tlb_trace_entry *e)
{
    unsigned cpu = e->cpu;
    uint64_t pages = cpu < MAX_CPUS ? (n->flush[cpu].end - n->flush[cpu].start) / PAGE : 0;
    switch (e->a[1]) {
    case TLBT_WORK_PAGES:
        say(n, "tlb:     cpu%u itself: invalidated %llu page%s (INVLPG)\n", cpu, (unsigned long long)pages,
            pages == 1 ? "" : "s");
        break;
    case TLBT_WORK_FULL:
        say(n, "tlb:     cpu%u itself: flushed all of pid %d's translations\n", cpu, n->pid);
        break;
    case TLBT_WORK_NOT_LOADED:
        say(n, "tlb:     cpu%u itself: does not run pid %d now: nothing to flush here\n", cpu, n->pid);
        break;
    default:
        break;
    }
}

static void tell_recv(struct tlb_narrator *n, const struct tlb_trace_entry *e, struct tlb_scene_act *a)
{
    unsigned cpu = e->cpu, from = (unsigned)e->a[1];
    uint64_t gen = from < MAX_CPUS ? n->flush[from].gen : 0;
    uint64_t pages = from < MAX_CPUS ? (n->flush[from].end - n->flush[from].start) / PAGE : 0;
    switch (e->a[2]) {
    case TLBT_WORK_PAGES:
        a->recv_pages++;
        say(n, "tlb:     cpu%u (IPI from cpu%u): invalidated %llu page%s (INVLPG); its TLB is at generation %llu\n",
            cpu, from, (unsigned long long)pages, pages == 1 ? "" : "s", (unsigned long long)gen);
        break;
    case TLBT_WORK_FULL:
        a->recv_full++;
        say(n, "tlb:     cpu%u (IPI from cpu%u): flushed all of pid %d's translations (it was more than one "
               "generation behind, or the range was long)\n", cpu, from, n->pid);
        break;
    case TLBT_WORK_LAZY:
        a->recv_lazy++;
        say(n, "tlb:     cpu%u (IPI from cpu%u): lazy now: nothing to do until it returns\n", cpu, from);
        break;
    case TLBT_WORK_LEAVE_MM:
        a->recv_leave_mm++;
        n->lazy &= ~(1ull << cpu);
        say(n, "tlb:     cpu%u (IPI from cpu%u): lazy, and page tables were freed: it switched to the kernel's "
               "own page tables (leave_mm); its kernel thread runs on, it never needed the user half\n", cpu, from);
        break;
    case TLBT_WORK_NOT_LOADED:
        a->recv_other++;
        say(n, "tlb:     cpu%u (IPI from cpu%u): does not run pid %d any more: nothing to flush, and it takes "
               "itself off the mm's CPU list\n", cpu, from, n->pid);
        break;
    case TLBT_WORK_CAUGHT_UP:
        a->recv_other++;
        say(n, "tlb:     cpu%u (IPI from cpu%u): already past generation %llu (a later flush covered it)\n", cpu,
            from, (unsigned long long)gen);
        break;
    default:
        a->recv_other++;
        break;
    }
}

static void mark_lazy(struct tlb_narrator *n, uint64_t bit)
{
    n->lazy |= bit;
    for (unsigned c = 0; c < MAX_CPUS; c++)
        if (n->skip_open[c])
            n->skip_ok[c] |= bit;
}

static void mark_parked(struct tlb_narrator *n, uint64_t bit)
{
    n->parked |= bit;
    for (unsigned c = 0; c < MAX_CPUS; c++)
        if (n->skip_open[c])
            n->skip_ok[c] |= bit;
}

/* A lazy-ending event: traced before the CPU's is_lazy store. */
static void mark_leaving(struct tlb_narrator *n, uint64_t bit)
{
    if (n->lazy & bit)
        n->leaving |= bit;
    n->lazy &= ~bit;
}

/* A switch to a user mm: traced before switch_mm, whose parked = false
 * store a flusher may not see until this CPU's next event. */
static void mark_unparking(struct tlb_narrator *n, uint64_t bit)
{
    if (n->parked & bit)
        n->leaving |= bit;
    n->parked &= ~bit;
}

static void tell_event(struct tlb_narrator *n, const struct tlb_trace_entry *e, uint64_t idx,
                       struct tlb_scene_act *a)
{
    unsigned cpu = e->cpu;
    uint64_t bit = cpu < 64 ? 1ull << cpu : 0;
    char t[24];
    n->leaving &= ~bit;                 /* this event is after its is_lazy store */
    switch (e->event) {
    case TLBT_IPI_SEND:
        if (cpu < MAX_CPUS && n->skip_open[cpu]) {
            /* A CPU the flush left out as lazy is lazy by the events too. */
            a->skipped_not_lazy += ncpus_in(e->a[2] & ~n->skip_ok[cpu] & ~bit);
            n->skip_open[cpu] = false;
        }
        break;
    case TLBT_FLUSH:
        tell_flush(n, e, idx, a);
        break;
    case TLBT_IPI_RECV:
        tell_recv(n, e, a);
        break;
    case TLBT_FLUSH_LOCAL:
        tell_local(n, e);
        break;
    case TLBT_LAZY_ENTER:
        mark_lazy(n, bit);
        if (e->a[1] == 1) {             /* exit_mm, not a switch */
            say(n, "tlb: %s  cpu%u: pid %d's thread there exited; it goes on as a kernel thread on its page "
                   "tables until it switches away: cpu%u is lazy\n", when(e, t, sizeof(t)), cpu, n->pid, cpu);
            break;
        }
        a->lazy_enters++;
        if (cpu != DIRECTOR_CPU || nr_cpus_online == 1)
            say(n, "tlb: %s  cpu%u switched from pid %d's thread to a kernel thread, which runs on pid %d's page "
                   "tables without owning them (it borrows the mm): cpu%u is lazy\n", when(e, t, sizeof(t)), cpu, n->pid, n->pid, cpu);
        break;
    case TLBT_LAZY_HANDOVER:
        /* Another kernel thread takes the borrow over - or, if the CPU was
         * not lazy, the thread that ran here exited (exit_mm: it went on
         * as a kernel thread on the mm) and the CPU moved on to idle. */
        if (!(n->lazy & bit) && (cpu != DIRECTOR_CPU || nr_cpus_online == 1))
            say(n, "tlb: %s  cpu%u: pid %d's thread there exited; a kernel thread goes on on its page tables: "
                   "cpu%u is lazy\n", when(e, t, sizeof(t)), cpu, n->pid, cpu);
        mark_lazy(n, bit);
        break;
    case TLBT_LAZY_LEAVE:
        mark_leaving(n, bit);
        mark_unparking(n, bit);
        if (e->a[0] != n->ctx && e->a[1] == n->ctx)
            say(n, "tlb: %s  cpu%u runs pid %d's thread again: it had left the mm, so it loads pid %d's page "
                   "tables afresh\n", when(e, t, sizeof(t)), cpu, n->pid, n->pid);
        break;
    case TLBT_LAZY_CATCHUP:
        if (e->a[3]) {
            a->catchups++;
            say(n, "tlb: %s  cpu%u is back on pid %d's thread: its TLB was at generation %llu, the mm at %llu - "
                   "%llu change%s missed while lazy, so one full flush now (no IPI was needed)\n",
                when(e, t, sizeof(t)), cpu, n->pid, (unsigned long long)e->a[1], (unsigned long long)e->a[2],
                (unsigned long long)(e->a[2] - e->a[1]), e->a[2] - e->a[1] == 1 ? "" : "s");
        } else {
            a->catchups_clean++;
            if (cpu != DIRECTOR_CPU || nr_cpus_online == 1)
                say(n, "tlb: %s  cpu%u is back on pid %d's thread: nothing changed while it was lazy (generation "
                   "%llu): no flush\n", when(e, t, sizeof(t)), cpu, n->pid, (unsigned long long)e->a[2]);
        }
        break;
    case TLBT_SWITCH_MM:
        if (e->a[0] == n->ctx)
            mark_leaving(n, bit);
        mark_unparking(n, bit);
        break;
    case TLBT_LEAVE_MM:
        mark_leaving(n, bit);
        mark_parked(n, bit);
        break;
    case TLBT_LAZY_DROP:
        mark_leaving(n, bit);
        say(n, "tlb: %s  cpu%u stopped borrowing pid %d's mm (%s) and moved to the kernel's page tables\n", when(e, t, sizeof(t)), cpu,
            n->pid, e->a[1] == 1 ? "the exit's shootdown IPI asked it to"
                  : e->a[1] == 2 ? "its hazard slot named the mm being freed"
                  : e->a[1] == 3 ? "lazy_mm=mmput: the teardown's flush, which frees the page tables, ends the borrow too"
                  : "lazy_mm=refcount: the reaper makes borrowers let go, so that their references come back");
        break;
    case TLBT_LAZY_FREE: {
        char list[200];
        if (e->a[1] == LAZY_MM_SHOOTDOWN)
            say(n, "tlb: %s  cpu%u is freeing pid %d's mm (lazy_mm=shootdown): first it calls the %llu other "
                   "CPU%s still on the mm's CPU list (%s), so no kernel thread keeps running on it\n", when(e, t, sizeof(t)), cpu, n->pid,
                (unsigned long long)e->a[2], e->a[2] == 1 ? "" : "s", e->a[2] ? cpu_list(e->a[3] & ~bit, list, sizeof(list)) : "none");
        else
            say(n, "tlb: %s  cpu%u is freeing pid %d's mm (lazy_mm=hazard): it reads every CPU's hazard slot and "
                   "calls only the %llu CPU%s whose slot names the mm (%s)\n", when(e, t, sizeof(t)), cpu, n->pid,
                (unsigned long long)e->a[2], e->a[2] == 1 ? "" : "s", e->a[2] ? cpu_list(e->a[3] & ~bit, list, sizeof(list)) : "none");
        break;
    }
    case TLBT_MM_FREE:
        a->frees++;
        n->freed = true;
        say(n, "tlb: %s  cpu%u freed pid %d's mm: its page tables and its struct mm are gone\n", when(e, t, sizeof(t)), cpu, n->pid);
        break;
    default:
        break;
    }
}

void tlb_narrator_tell(struct tlb_narrator *n, enum tlbscene_act act, struct tlb_scene_result *r)
{
    struct tlb_scene_act *a = &r->act[act < TLBSCENE_NR_ACTS ? act : TLBSCENE_ACT_EXIT];
    uint64_t end[MAX_CPUS];
    bool setup = act == TLBSCENE_ACT_SETUP;
    bool was_quiet = n->quiet;
    n->quiet = was_quiet || setup;      /* the setup is counted, not told */
    if (!n->quiet)
        printk("tlb: %s, as the trace saw it%s:\n", act_titles[act < TLBSCENE_NR_ACTS ? act : TLBSCENE_ACT_EXIT],
               nr_cpus_online > 1 && act == TLBSCENE_ACT_ALL_RUN
                   ? " (cpu0's short switches to the director, a kernel thread thread 0 calls, are not told)"
                   : "");

    for (unsigned cpu = 0; cpu < n->ncpus; cpu++) {
        end[cpu] = tlb_trace_count(cpu);
        if (end[cpu] - n->next[cpu] > TLB_TRACE_ENTRIES) {
            uint64_t first = end[cpu] - TLB_TRACE_ENTRIES;
            r->lost += first - n->next[cpu];
            say(n, "tlb:   (cpu%u's trace ring overflowed: %llu events were lost before they were read)\n", cpu,
                (unsigned long long)(first - n->next[cpu]));
            n->next[cpu] = first;
        }
    }
    unsigned told = 0;
    for (;;) {
        struct tlb_trace_entry best = { 0 }, e;
        int best_cpu = -1;
        for (unsigned cpu = 0; cpu < n->ncpus; cpu++) {
            while (n->next[cpu] < end[cpu] && !tlb_trace_read(cpu, n->next[cpu], &e)) {
                r->lost++;      /* overwritten while we read */
                n->next[cpu]++;
            }
            if (n->next[cpu] < end[cpu] && (best_cpu < 0 || e.tsc < best.tsc)) {
                best = e;
                best_cpu = (int)cpu;
            }
        }
        if (best_cpu < 0)
            break;
        uint64_t idx = n->next[best_cpu]++;
        if (ours(n, &best)) {
            tell_event(n, &best, idx, a);
            told++;
        }
    }
    if (!n->quiet && !told)
        printk("tlb:   nothing happened to pid %d's TLB state\n", n->pid);
    n->quiet = was_quiet;
}
