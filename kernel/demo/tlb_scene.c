/*
 * kernel/demo/tlb_scene.c - the boot demo's TLB scene (kernel/demo_tlb.h,
 * docs/demo.md): the user program tlbscene unmaps and remaps pages with a
 * thread on every CPU, while a kernel thread borrows its mm; the narrator
 * (tlb_narrator.c) tells from the trace what the TLBs did.
 *
 * Three parties, meeting over IPC (uapi/tlbscene.h):
 *   - the director: the caller of tlb_scene_run() (the demo's or the
 *     test's thread, on cpu0).  It makes the endpoints, spawns the program
 *     and serves "tlbscene": it narrates when thread 0 asks, and tells
 *     thread 0 when the borrower runs;
 *   - the borrower: a kernel thread bound to the last CPU, serving
 *     "tlbscene-borrow".  The program's thread on that CPU calls it and
 *     blocks, so the borrower runs there next - on the program's page
 *     tables, which it borrows without owning them (lazy TLB).  It keeps
 *     running (spinning, so the CPU stays with this kernel thread rather
 *     than idle) until thread 0 releases it, then replies;
 *   - the program's threads (user/tlbscene.c).
 * Thread 0 changes the page tables only after the director said the
 * borrower runs, so the flushes of acts 2 and 3 meet a lazy CPU for sure:
 * nothing here depends on timing.
 */
#include <kernel/demo_tlb.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_events.h>
#include <kernel/ipc.h>
#include <kernel/kmalloc.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/printk.h>
#include <kernel/process.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/bootinfo.h>
#include <kernel/elf.h>
#include <arch/cpu.h>
#include <lib/string.h>
#include <lib/format.h>

#define PROGRAM "tlbscene"

struct scene {
    int director_ep, borrower_ep;
    unsigned borrower_cpu;
    struct completion borrowing;        /* the borrower runs on its CPU */
    _Atomic bool released;              /* thread 0 let it go */
    _Atomic uint64_t borrowed_ctx;      /* the borrower's active_mm while it ran */
    _Atomic bool ended;                 /* the program is gone: nobody waits for anyone */
    int pid, status;
};

/* Waits for the program, so that a program that dies half-way (a bug)
 * cannot leave the director or the borrower waiting for it forever: the
 * director's endpoint goes away (its ipc_recv fails) and the borrower and
 * a WAIT_LAZY stop waiting. */
static void watcher_fn(void *arg)
{
    struct scene *s = arg;
    process_wait(s->pid, &s->status);
    atomic_store(&s->ended, true);
    complete_all(&s->borrowing);
    ipc_endpoint_destroy(s->director_ep);
}

static void borrower_fn(void *arg)
{
    struct scene *s = arg;
    for (;;) {
        struct sd_ipc_msg m, reply = { 0 };
        if (ipc_recv(s->borrower_ep, &m) < 0 || m.label == TLBSCENE_QUIT)
            return;
        if (m.label != TLBSCENE_BORROW)
            continue;
        /* We run on the caller's CPU on the caller's page tables: our
         * active_mm is its mm, our mm is NULL (compared, never followed). */
        atomic_store(&s->borrowed_ctx, current_task()->active_mm ? current_task()->active_mm->ctx_id : 0);
        complete(&s->borrowing);
        while (!atomic_load(&s->released) && !atomic_load(&s->ended))
            arch_cpu_relax();
        atomic_store(&s->released, false);
        ipc_reply(&reply);
    }
}

static void print_counters(const struct counter_snapshot *before, bool quiet)
{
    if (quiet)
        return;
    printk("tlb: the event counters of this scene, lazy_mm=%s (kernel/debug/counters.c; `make demo-modes` "
           "compares the four modes):\n", lazy_mm_mode_name());
    for (const struct counter_desc *c = __counters_start; c < __counters_end; c++) {
        /* The TLB's and the switches' counters, and what each lazy-mm mode
         * pays: mm_count atomics (refcount), IPIs at the free (shootdown),
         * slot scans (hazard). */
        if (strcmp(c->group, "tlb") && strcmp(c->group, "switch") && strcmp(c->group, "lazy") &&
            strcmp(c->group, "mm"))
            continue;
        uint64_t d = counter_delta(before, c);
        if (d || !strcmp(c->group, "lazy") || !strcmp(c->group, "mm")) {
            char name[48];
            snprintf(name, sizeof(name), "%s.%s", c->group, c->name);
            printk("tlb:   %-26s %6llu  %s\n", name, (unsigned long long)d, c->help);
        }
    }
}

static void summary(const struct tlb_scene_result *r, bool quiet)
{
    if (quiet)
        return;
    unsigned flushes = 0, ipis = 0, skipped = 0, catchups = 0, leaves = 0;
    for (unsigned i = 0; i < TLBSCENE_NR_ACTS; i++) {
        flushes += r->act[i].flushes;
        ipis += r->act[i].ipis;
        skipped += r->act[i].skipped_lazy;
        catchups += r->act[i].catchups;
        leaves += r->act[i].recv_leave_mm;
    }
    printk("tlb: in all: %u flushes, %u flush IPIs, %u times a lazy CPU was left out, %u lazy catch-up%s, "
           "%u leave_mm%s%s\n", flushes, ipis, skipped, catchups, catchups == 1 ? "" : "s", leaves,
           r->lost ? "; trace events lost: " : "", r->lost ? "some (see above)" : "");
}

/* Serve the program until it is gone; thread 0's calls drive the acts. */
static void direct(struct scene *s, struct tlb_narrator *n, struct tlb_scene_result *r, int pid, bool quiet)
{
    for (;;) {
        struct sd_ipc_msg m, reply = { 0 };
        if (ipc_recv(s->director_ep, &m) < 0)
            return;
        switch (m.label) {
        case TLBSCENE_NARRATE:
            tlb_narrator_tell(n, (enum tlbscene_act)(m.words[0] < TLBSCENE_NR_ACTS ? m.words[0] : TLBSCENE_ACT_EXIT), r);
            if (m.words[0] == TLBSCENE_ACT_LAZY) {
                /* What the borrower itself saw of its task while it ran. */
                r->borrowed_ctx = atomic_load(&s->borrowed_ctx);
                if (!quiet)
                    printk("tlb:   (tlb-borrower, on cpu%u, saw its own task: mm none, active_mm = the mm of pid "
                           "%d%s)\n", s->borrower_cpu, pid,
                           r->borrowed_ctx == r->ctx ? "" : " - NOT the program's: a bug");
            }
            ipc_reply(&reply);
            if (m.words[0] == TLBSCENE_ACT_TABLES || (r->cpus == 1 && m.words[0] == TLBSCENE_ACT_ALL_RUN))
                return;         /* the rest is the exit */
            break;
        case TLBSCENE_WAIT_LAZY:
            wait_for_completion(&s->borrowing);
            if (!atomic_load(&s->ended))
                reinit_completion(&s->borrowing);
            ipc_reply(&reply);
            break;
        case TLBSCENE_RELEASE:
            atomic_store(&s->released, true);
            break;
        default:
            break;
        }
    }
}

void tlb_scene_run(struct tlb_scene_result *r, bool quiet)
{
    memset(r, 0, sizeof(*r));
    r->cpus = nr_cpus_online;
    size_t size;
    if (!elf_find_module(PROGRAM, &size)) {
        printk("tlb: no user program '%s' among the %u boot modules: no TLB scene\n", PROGRAM,
               boot_info.module_count);
        return;
    }
    struct scene *s = kzalloc(sizeof(*s));
    struct counter_snapshot *before = kmalloc(sizeof(*before));
    if (!s || !before)
        goto out_free;
    completion_init(&s->borrowing, "tlbscene-borrowing");
    s->borrower_cpu = nr_cpus_online - 1;
    r->borrower_cpu = s->borrower_cpu;
    s->director_ep = ipc_endpoint_create(TLBSCENE_EP_DIRECTOR, NULL);
    s->borrower_ep = ipc_endpoint_create(TLBSCENE_EP_BORROWER, NULL);
    if (s->director_ep < 0 || s->borrower_ep < 0) {
        printk("tlb: cannot make the scene's endpoints (%d, %d)\n", s->director_ep, s->borrower_ep);
        goto out_eps;
    }
    struct task *borrower = NULL;
    if (nr_cpus_online > 1) {
        borrower = kthread_create(borrower_fn, s, "tlb-borrower");
        if (!borrower)
            goto out_eps;
        kthread_bind(borrower, s->borrower_cpu);
        kthread_start(borrower);
    }

    if (!quiet) {
        printk("tlb: ---- the TLB scene: who flushes what, and who is left out ----\n");
        printk("tlb: Each CPU caches address translations in its TLB. When a program's page tables change,\n");
        printk("tlb: every CPU that may still cache the old translation must drop it: the changing CPU sends\n");
        printk("tlb: them an interrupt (an IPI, a \"shootdown\") and waits. A CPU running a kernel thread on\n");
        printk("tlb: the program's page tables is \"lazy\": it is skipped and catches up later, because the\n");
        printk("tlb: program's generation number (mm->tlb_gen) tells it what it missed.\n");
    }
    counters_snapshot(before);
    const char *argv[] = { PROGRAM, quiet ? "quiet" : NULL, NULL };
    int pid = process_spawn(PROGRAM, argv);
    if (pid < 0) {
        printk("tlb: spawn %s failed: %d\n", PROGRAM, pid);
        goto out_borrower;
    }
    r->ran = true;
    s->pid = pid;
    struct task *watcher = kthread_create(watcher_fn, s, "tlb-scene-wait");
    if (!watcher) {
        process_wait(pid, &r->status);
        goto out_borrower;
    }
    kthread_bind(watcher, this_cpu_id());     /* with the director: no other CPU is disturbed */
    kthread_start(watcher);
    if (!quiet)
        printk("tlb: pid %d runs '%s' with %u thread%s, one per CPU%s; lazy_mm=%s\n", pid, PROGRAM,
               nr_cpus_online > 16 ? 16 : nr_cpus_online, nr_cpus_online == 1 ? "" : "s",
               nr_cpus_online > 1 ? "; kernel thread 'tlb-borrower' waits on the last CPU" : "",
               lazy_mm_mode_name());

    /* The program's first call (the setup done) starts the narration. */
    struct tlb_narrator *n = NULL;
    struct sd_ipc_msg m, reply = { 0 };
    if (ipc_recv(s->director_ep, &m) == 0) {
        r->ctx = process_mm_ctx(pid);
        n = tlb_narrator_start(r->ctx, pid, s->borrower_cpu, quiet);
        if (n) {
            tlb_narrator_tell(n, TLBSCENE_ACT_SETUP, r);
            ipc_reply(&reply);
            direct(s, n, r, pid, quiet);
        } else {
            ipc_reply(&reply);
        }
    }
    kthread_join(watcher);
    r->status = s->status;
    if (n) {
        tlb_narrator_tell(n, TLBSCENE_ACT_EXIT, r);
        if (!quiet && !tlb_narrator_saw_free(n)) {
            char list[200];
            size_t len = 0;
            uint64_t lazy = tlb_narrator_lazy_cpus(n);
            list[0] = '\0';
            for (unsigned cpu = 0; cpu < 64; cpu++)
                if (lazy & (1ull << cpu))
                    len += (size_t)snprintf(list + len, sizeof(list) - len, " cpu%u", cpu);
            printk("tlb:   pid %d's mm is not freed yet:%s%s still borrow%s it%s\n", pid, list[0] ? "" : " no CPU",
                   list, (lazy & (lazy - 1)) == 0 ? "s" : "",
                   lazy_mm_mode == LAZY_MM_REFCOUNT
                       ? " (lazy_mm=refcount: each borrow holds a reference; the last CPU to let go frees it)"
                       : "");
        }
        tlb_narrator_stop(n);
    }
    if (!quiet && SD_WIFFAULTED(r->status))
        printk("tlb: pid %d was killed by vector %d\n", pid, SD_WFAULTVEC(r->status));
    else if (!quiet && SD_WEXITCODE(r->status))
        printk("tlb: pid %d exited with %d\n", pid, SD_WEXITCODE(r->status));
    r->ipi_sent = counter_delta(before, COUNTER(tlb, ipi_sent));
    r->ipi_skipped_lazy = counter_delta(before, COUNTER(tlb, ipi_skipped_lazy));
    r->lazy_catchup = counter_delta(before, COUNTER(tlb, lazy_catchup));
    r->leave_mm = counter_delta(before, COUNTER(tlb, leave_mm));
    r->borrow_start = counter_delta(before, COUNTER(lazy, borrow_start));
    summary(r, quiet);
    print_counters(before, quiet);
out_borrower:
    if (borrower) {
        struct sd_ipc_msg quit = { .label = TLBSCENE_QUIT };
        ipc_send(s->borrower_ep, &quit);
        kthread_join(borrower);
    }
out_eps:
    if (s->director_ep >= 0 && !atomic_load(&s->ended))
        ipc_endpoint_destroy(s->director_ep);
    if (s->borrower_ep >= 0)
        ipc_endpoint_destroy(s->borrower_ep);
out_free:
    kfree(before);
    kfree(s);
}
