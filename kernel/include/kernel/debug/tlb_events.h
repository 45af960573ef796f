/*
 * kernel/debug/tlb_events.h - the events of the TLB and lazy-mm protocols,
 * as the instruments see them (docs/tlb.md, "Events").
 *
 * The protocols (flush_tlb_mm_range in arch/x86_64/mm/tlb.c, switch_mm and
 * the lazy functions in arch/x86_64/mm/tlb_switch.c, context_switch in
 * kernel/sched/core.c, kernel/mm/lazy_mm.c) call ONE function of this
 * header at each point where something observable happens, and that
 * function feeds every instrument that wants the event:
 *   - the event counters (kernel/debug/counters.h; defined in
 *     kernel/debug/tlb_events.c);
 *   - the TLB trace (kernel/debug/tlb_trace.h);
 *   - the shadow-TLB checker (kernel/debug/tlbcheck.h);
 *   - the race windows of tlb_race_delay=N (kernel/debug/race_window.h).
 * So the protocol reads as its stores and fences, with one tlb_ev_ line
 * where an instrument looks.
 *
 * WHERE A CALL SITS IS PART OF THE PROTOCOL when the event reaches the
 * checker or a race window (docs/tlbcheck.md, "The model never lags"): a
 * checker event is placed exactly where the checker must learn of a state
 * change relative to the stores other CPUs act on, and a race window right
 * after such a store.  Each function says which instruments it feeds; those
 * that reach the checker may be called only from their sanctioned sites
 * (tools/check-pte-boundary.py finds them by the tlbcheck_ call in their
 * body).  The counters and the trace are per-CPU and seen by no other CPU
 * while the protocol runs, so their place within an event is free.
 *
 * The planted faults of tlb_inject= that change what a protocol DOES stay
 * in the protocol, visible where they bite (tlb_inject(TLB_INJECT_...));
 * the one fault that only moves a checker call (lazy_model_late) lives
 * here, in the events it moves.
 *
 * All of it costs one predictable branch per instrument that is off.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <kernel/cpumask.h>
#include <kernel/lazy_mm.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/race_window.h>
#include <kernel/debug/tlb_inject.h>
#include <kernel/debug/tlb_trace.h>
#include <kernel/debug/tlbcheck.h>

DECLARE_COUNTER(tlb, ipi_sent);
DECLARE_COUNTER(tlb, ipi_received);
DECLARE_COUNTER(tlb, ipi_skipped_lazy);
DECLARE_COUNTER(tlb, ipi_not_running);
DECLARE_COUNTER(tlb, cpumask_cleared);
DECLARE_COUNTER(tlb, flush_caught_up);
DECLARE_COUNTER(tlb, flush_partial);
DECLARE_COUNTER(tlb, flush_full);
DECLARE_COUNTER(tlb, asid_hit);
DECLARE_COUNTER(tlb, asid_miss);
DECLARE_COUNTER(tlb, asid_evict);
DECLARE_COUNTER(tlb, lazy_catchup);
DECLARE_COUNTER(tlb, leave_mm);
DECLARE_COUNTER(switch, same_mm);
DECLARE_COUNTER(switch, mm);
DECLARE_COUNTER(switch, enter_lazy);
DECLARE_COUNTER(switch, lazy_handover);
DECLARE_COUNTER(switch, leave_lazy);
DECLARE_COUNTER(lazy, borrow_start);
DECLARE_COUNTER(lazy, borrow_end);
DECLARE_COUNTER(lazy, borrow_drop);
DECLARE_COUNTER(lazy, exit_shootdown_ipis);
DECLARE_COUNTER(lazy, hazard_scans);
DECLARE_COUNTER(lazy, hazard_slots_read);
DECLARE_COUNTER(lazy, hazard_ipis);
DECLARE_COUNTER(lazy, teardown_ipis);
DECLARE_COUNTER(lazy, drop_ipis);

/* ---- flush_tlb_mm_range (arch/x86_64/mm/tlb.c) ---- */

/*
 * A test's stretch of the window between the checker's token and F1 (NULL
 * but in tests/test_tlbcheck_owed.c and tests/test_mm_concurrent.c): a
 * copy-on-write fault's change is recorded and its flush not made yet,
 * while another fault's flush bumps tlb_gen first and reaches CPUs one
 * generation behind, which INVLPG only its page - the checker's holes
 * (docs/tlbcheck.md, "Concurrent changes").  The test holds a flush here
 * (interrupts on, so it still serves the other flush's IPI) until that
 * other flush returned: held by progress, not by a clock, the order is the
 * same however the host schedules the vCPUs.  test_mm_concurrent parks a
 * flush here until others have bumped, so that its own bump comes last.
 */
extern void (*tlb_flush_begin_test_hook)(void);

/* Before F1: the checker's bracket opens.  Returns its token (the change
 * sequence the flush covers).  Checker; the test's pause. */
static inline uint64_t tlb_ev_flush_begin(struct mm *mm)
{
    uint64_t token = tlbcheck_flush_begin(mm);
    void (*hook)(void) = READ_ONCE(tlb_flush_begin_test_hook);
    if (__builtin_expect(hook != NULL, 0))
        hook();
    return token;
}

/*
 * A test's stretch of the window between F1 and the IPIs (NULL but in
 * tests/test_mm_concurrent.c).  Concurrent flushes of one mm reach a CPU
 * out of order when one initiator bumps tlb_gen first but sends its IPIs
 * after another initiator's later request was served: on QEMU TCG a
 * descheduled vCPU opens that window now and then, on Bochs (CPUs in
 * lock-step) almost never.  The test holds flushes here (interrupts on, so
 * they still serve the other flushes' IPIs) until a later request has been
 * served everywhere: held by progress, not by a clock.
 */
extern void (*tlb_flush_made_test_hook)(void);

/* After F1: the flush request [start, end) of generation new_gen is made,
 * for `cause`.  Trace; the test's hold. */
static inline void tlb_ev_flush_made(struct mm *mm, uintptr_t start, uintptr_t end,
                                     uint64_t new_gen, bool freed_tables, enum tlb_flush_cause cause)
{
    tlb_trace(TLBT_FLUSH, mm->ctx_id, start, end, new_gen << 1 | freed_tables, cause);
    void (*hook)(void) = READ_ONCE(tlb_flush_made_test_hook);
    if (__builtin_expect(hook != NULL, 0))
        hook();
}

/*
 * A test's stretch of the window right after a flushing CR3 write of a user
 * mm (its checker record made, interrupts still off), before the caller
 * records in the ASID slot which generation the flush covered (NULL but in
 * tests/test_tlb_gen_window.c).  Invariant G (tlb.c) says that generation
 * must be read BEFORE the flush: a tlb_gen bump landing in this window is
 * not covered.  The flush handler's full flush, the lazy catch-up and
 * switch_mm all record a generation around such a write; a version that
 * reads it after the write is wrong only when another CPU's bump lands
 * here, a few instructions - the test holds the CPU here until one does.
 */
extern void (*tlb_cr3_flushed_test_hook)(struct mm *mm);

/* After a flushing CR3 write of mm and its checker record (tlb_ops.c). */
static inline void tlb_ev_cr3_flushed(struct mm *mm)
{
    void (*hook)(struct mm *) = READ_ONCE(tlb_cr3_flushed_test_hook);
    if (__builtin_expect(hook != NULL, 0))
        hook(mm);
}

/* The CPUs other than the initiator that F2 leaves out of a flush's IPI
 * batch, by reason. */
struct flush_skipped {
    struct cpumask lazy;        /* lazy on mm: they catch up when they leave lazy mode */
    struct cpumask not_running; /* not in mm's cpumask (offline ones are dropped below) */
    struct cpumask offline;     /* in the cpumask but offline */
};

static inline void flush_skipped_clear(struct flush_skipped *s)
{
    cpumask_clear(&s->lazy);
    cpumask_clear(&s->not_running);
    cpumask_clear(&s->offline);
}

/* After F2: `targets` (us not included) get an IPI, `skipped` says why
 * the other CPUs do not.  Counters, trace (the batch is recorded even when
 * nobody is called: the skipped CPUs are the point). */
static inline void tlb_ev_flush_targets(struct mm *mm, const struct cpumask *targets,
                                        const struct flush_skipped *skipped)
{
    unsigned n = cpumask_weight(targets);
    count_event_n(tlb, ipi_skipped_lazy, cpumask_weight(&skipped->lazy));
    if (n)
        count_event_n(tlb, ipi_sent, n);
    /* A CPU that never came up is not "not running" anything. */
    uint64_t not_running = skipped->not_running.bits[0] & cpu_online_mask.bits[0];
    tlb_trace(TLBT_IPI_SEND, mm->ctx_id, targets->bits[0], skipped->lazy.bits[0], not_running,
              skipped->offline.bits[0]);
}

/* After F2 of the last mmput's teardown flush (freed_tables, cause
 * teardown): its `targets` (us not included) are the exit's first round of
 * IPIs in every lazy_mm mode - in mmput mode, the only one.  Counter. */
static inline void tlb_ev_teardown_targets(const struct cpumask *targets)
{
    count_event_n(lazy, teardown_ipis, cpumask_weight(targets));
}

/* The calls returned: the checker asserts every non-lazy CPU of mm is
 * clean up to `token` and publishes it.  Checker. */
static inline void tlb_ev_flush_end(struct mm *mm, uint64_t token)
{
    tlbcheck_flush_end(mm, token);
}

/* The handler ran on this CPU for a request of CPU `from` (this CPU: the
 * initiator's own part), and did `work` (enum tlb_trace_work).  Counters,
 * trace. */
static inline void tlb_ev_flush_work(struct mm *mm, unsigned from, int work)
{
    bool remote = this_cpu_id() != from;
    if (remote)
        count_event(tlb, ipi_received);
    if (work == TLBT_WORK_NOT_LOADED && remote)
        count_event(tlb, ipi_not_running);
    else if (work == TLBT_WORK_CAUGHT_UP)
        count_event(tlb, flush_caught_up);
    else if (work == TLBT_WORK_FULL)
        count_event(tlb, flush_full);
    else if (work == TLBT_WORK_PAGES)
        count_event(tlb, flush_partial);
    if (remote)
        tlb_trace(TLBT_IPI_RECV, mm->ctx_id, from, (uint64_t)work, 0, 0);
    else
        tlb_trace(TLBT_FLUSH_LOCAL, mm->ctx_id, (uint64_t)work, 0, 0, 0);
}

/* Right after this CPU cleared its bit in an mm's cpumask (the lazy
 * clearing, in the handler).  Race window, counter. */
static inline void tlb_ev_cpumask_cleared(void)
{
    race_window(RACE_CPUMASK_CLEAR);
    count_event(tlb, cpumask_cleared);
}

/* ---- switch_mm and the lazy functions (arch/x86_64/mm/tlb_switch.c) ---- */

/* The ASID cache found mm in a slot / took a slot (`evicted`: from another
 * mm).  Counters. */
static inline void tlb_ev_asid_hit(void)
{
    count_event(tlb, asid_hit);
}

static inline void tlb_ev_asid_miss(bool evicted)
{
    count_event(tlb, asid_miss);
    if (evicted)
        count_event(tlb, asid_evict);
}

/* enter_lazy_tlb, around the store is_lazy = true (publish_lazy): the model
 * is told BEFORE the store, since flushers may skip us from the store on;
 * the race window opens right after it.  tlb_inject=lazy_model_late moves
 * the checker's call after the store, into the window (issue 9's flake).
 * Checker, race window. */
static inline void tlb_ev_lazy_publish_begin(void)
{
    if (!tlb_inject(TLB_INJECT_LAZY_MODEL_LATE))
        tlbcheck_set_lazy(true);
}

static inline void tlb_ev_lazy_published(void)
{
    race_window(RACE_LAZY_ENTER);
    if (tlb_inject(TLB_INJECT_LAZY_MODEL_LATE))
        tlbcheck_set_lazy(true);
}

/* Right after is_lazy = false (publish_unlazy, S1): flushers target us
 * again from here on.  Race window. */
static inline void tlb_ev_unlazy_published(void)
{
    race_window(RACE_LAZY_LEAVE);
}

/* Right after switch_mm's S2 (our bit in next's cpumask set, or the fence).
 * Race window. */
static inline void tlb_ev_cpumask_set(void)
{
    race_window(RACE_CPUMASK_SET);
}

/* The end of every transition that can leave lazy mode (model_switch_done):
 * CR3, the slot and any catch-up flush are final.  Checker. */
static inline void tlb_ev_switch_done(void)
{
    tlbcheck_set_lazy(false);
}

/* Leaving lazy mode on the loaded mm: slot generation `local`, mm's `gen`,
 * whether it flushes.  Trace, and counters when it flushes. */
static inline void tlb_ev_lazy_catchup(struct mm *mm, uint64_t local, uint64_t gen, bool flush)
{
    tlb_trace(TLBT_LAZY_CATCHUP, mm->ctx_id, local, gen, flush, 0);
    if (flush) {
        count_event(tlb, lazy_catchup);
        count_event(tlb, flush_full);
    }
}

/* switch_mm wrote CR3 for mm (its ctx_id; 0 for init_mm) with `pcid` and
 * `noflush`, for reason `why` (enum tlb_trace_cr3).  Trace. */
static inline void tlb_ev_cr3_load(uint64_t ctx, unsigned pcid, bool noflush, int why)
{
    tlb_trace(TLBT_CR3_LOAD, ctx, pcid, noflush, (uint64_t)why, 0);
}

/* leave_mm moves this CPU from `mm` to init_mm.  Counter, trace. */
static inline void tlb_ev_leave_mm(struct mm *mm)
{
    count_event(tlb, leave_mm);
    tlb_trace(TLBT_LEAVE_MM, mm->ctx_id, 0, 0, 0, 0);
}

/* exit_mm (kernel/mm/lazy_mm.c): the exiting user thread goes on as a
 * kernel thread on its mm, so this CPU turns lazy without a context switch.
 * Traced before enter_lazy_tlb's is_lazy store, as the switch's lazy_enter
 * is, so that a reader of the trace (the demo's narrator, tools/tlbtrace.py)
 * knows the CPU is lazy before any flusher can skip it as lazy.  a1 = 1
 * tells it from a switch's.  Trace only: the switch counters count switches. */
static inline void tlb_ev_exit_mm_lazy(struct mm *mm)
{
    tlb_trace(TLBT_LAZY_ENTER, mm->ctx_id, 1, 0, 0, 0);
}

/* ---- context_switch (kernel/sched/core.c) ---- */

/* Before step 2 of a switch from a task with (prev_mm, prev_active) to one
 * with next_mm (NULL: kernel threads): which of the five kinds of address-
 * space step this is.  Counters, trace. */
static inline void tlb_ev_context_switch(struct mm *prev_mm, struct mm *prev_active,
                                         struct mm *next_mm)
{
    if (!next_mm && prev_mm) {
        count_event(switch, enter_lazy);
        tlb_trace(TLBT_LAZY_ENTER, prev_active->ctx_id, 0, 0, 0, 0);
    } else if (!next_mm) {
        count_event(switch, lazy_handover);
        tlb_trace(TLBT_LAZY_HANDOVER, prev_active->ctx_id, 0, 0, 0, 0);
    } else if (!prev_mm) {
        count_event(switch, leave_lazy);
        tlb_trace(TLBT_LAZY_LEAVE, prev_active->ctx_id, next_mm->ctx_id, 0, 0, 0);
    } else if (prev_mm == next_mm) {
        count_event(switch, same_mm);
    } else {
        count_event(switch, mm);
        tlb_trace(TLBT_SWITCH_MM, prev_mm->ctx_id, next_mm->ctx_id, 0, 0, 0);
    }
}

/* ---- the lazy-mm borrow (kernel/mm/lazy_mm.c) ---- */

/* A borrow of mm is protected (its reference taken or its hazard slot
 * published): only now is the model told - a model that learns late only
 * checks less (borrow_protect).  Counter, checker. */
static inline void tlb_ev_borrow_protected(struct mm *mm)
{
    count_event(lazy, borrow_start);
    tlbcheck_borrow(mm);
}

/* A borrow is about to give its protection back: the model is told FIRST,
 * since the freeing side may go ahead once it sees the release
 * (borrow_release).  Checker. */
static inline void tlb_ev_borrow_releasing(void)
{
    tlbcheck_borrow(NULL);
}

/* Right after the hazard slot's store of mm (borrow start) / of NULL
 * (borrow end or drop), and right after a borrow's reference was dropped
 * (refcount, borrow end).  Race windows. */
static inline void tlb_ev_hazard_published(void)
{
    race_window(RACE_HAZARD_SET);
}

static inline void tlb_ev_hazard_cleared(void)
{
    race_window(RACE_HAZARD_CLEAR);
}

static inline void tlb_ev_borrow_ref_dropped(void)
{
    race_window(RACE_BORROW_END);
}

/* A borrow ended by a switch to a user task / by a drop (`why`: 0 asked,
 * 1 shootdown, 2 hazard, 3 the teardown flush of lazy_mm=mmput).
 * Counters, trace. */
static inline void tlb_ev_borrow_end(void)
{
    count_event(lazy, borrow_end);
}

static inline void tlb_ev_borrow_dropped(struct mm *mm, int why)
{
    count_event(lazy, borrow_drop);
    tlb_trace(TLBT_LAZY_DROP, mm->ctx_id, (uint64_t)why, 0, 0, 0);
}

/* The CPUs of `targets` other than this one (the remote calls of a drop). */
static inline unsigned tlb_events_remote_cpus(const struct cpumask *targets)
{
    return cpumask_weight(targets) - (cpumask_test_cpu(targets, this_cpu_id()) ? 1 : 0);
}

/* lazy_mm_drop_borrowers calls the CPUs of `targets` (the reaper in
 * refcount mode, the leak checks).  Counter. */
static inline void tlb_ev_drop_borrowers(const struct cpumask *targets)
{
    unsigned online = 0, cpu;
    for_each_online_cpu(cpu)
        online += cpumask_test_cpu(targets, cpu) && cpu != this_cpu_id();
    count_event_n(lazy, drop_ipis, online);
}

/* Before the last mmdrop frees mm: the shootdown calls the CPUs of
 * `targets` / the hazard scan read `read` slots and calls the CPUs of
 * `targets`, those whose slot held mm.  Counters, trace. */
static inline void tlb_ev_exit_shootdown(struct mm *mm, const struct cpumask *targets)
{
    unsigned remote = tlb_events_remote_cpus(targets);
    count_event_n(lazy, exit_shootdown_ipis, remote);
    tlb_trace(TLBT_LAZY_FREE, mm->ctx_id, LAZY_MM_SHOOTDOWN, remote, targets->bits[0], 0);
}

static inline void tlb_ev_hazard_scan(struct mm *mm, const struct cpumask *targets, unsigned read)
{
    unsigned remote = tlb_events_remote_cpus(targets);
    count_event(lazy, hazard_scans);
    count_event_n(lazy, hazard_slots_read, read);
    count_event_n(lazy, hazard_ipis, remote);
    tlb_trace(TLBT_LAZY_FREE, mm->ctx_id, LAZY_MM_HAZARD, remote, targets->bits[0], 0);
}

/* ---- who owns an address space (kernel/mm/mm.c, kernel/proc/process.c) ---- */

/* mm_create made mm (its final ctx_id): until a process takes it, it is
 * named after the task that made it (a test's kernel thread, or the
 * spawning or forking task).  Trace. */
static inline void tlb_ev_mm_created(struct mm *mm)
{
    struct task *t = current_task();
    tlb_trace_set_owner(mm->ctx_id, 0, t ? t->name : "boot");
}

/* Process `pid`, running program `name`, owns mm from here on.  Trace. */
static inline void tlb_ev_mm_owner(struct mm *mm, int pid, const char *name)
{
    tlb_trace_set_owner(mm->ctx_id, pid, name);
}
