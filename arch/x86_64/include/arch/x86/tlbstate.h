/*
 * arch/x86/tlbstate.h - what each CPU knows about its own TLB (docs/tlb.md).
 *
 * struct cpu_tlbstate is private to its CPU: only that CPU reads or writes
 * it, with interrupts off (switch_mm and friends run with interrupts off;
 * the flush handler runs in the call IPI).  So it needs no atomics.
 *
 * struct cpu_tlbstate_shared is read by OTHER CPUs: flush_tlb_mm_range()
 * reads each target's is_lazy to decide whether to send it an IPI.  It sits
 * on its own cache line so that those remote reads do not bounce the line
 * the owner writes at every context switch.
 *
 * The ASID cache: with PCID the TLB keeps translations of several address
 * spaces at once, tagged with a PCID.  ctxs[a] says "PCID a+1 holds
 * translations of the mm whose ctx_id is ctxs[a].ctx_id, none older than
 * its generation ctxs[a].tlb_gen".  Keyed on ctx_id, never on the mm
 * pointer: a freed mm's memory may be reused by a new mm, ctx_ids never are.
 * Without PCID only slot 0 is used and it is flushed at every CR3 write.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <kernel/compiler.h>
#include <kernel/percpu.h>

struct mm;

/* ASID slots per CPU (PCIDs 1..TLB_NR_ASIDS; PCID 0 is init_mm's). */
#define TLB_NR_ASIDS 6

/*
 * loaded_mm while CR3 is being changed by switch_mm().  Anything that looks
 * at loaded_mm in that window (a flush handler reached from a nested path,
 * an NMI, the checker) must treat this CPU as "could be either": it is
 * never equal to a real mm, so a flush for any mm finds "not loaded" and
 * the switch itself reads tlb_gen after publishing its cpumask bit (see
 * switch_mm in arch/x86_64/mm/tlb_switch.c).
 */
#define LOADED_MM_SWITCHING ((struct mm *)1)

struct tlb_ctx {
    uint64_t ctx_id;        /* mm->ctx_id cached in this slot; 0: empty */
    uint64_t tlb_gen;       /* the slot holds nothing older than this generation */
};

struct cpu_tlbstate {
    struct mm *loaded_mm;   /* what CR3 points at (or LOADED_MM_SWITCHING) */
    unsigned loaded_asid;   /* slot of loaded_mm (unused for init_mm) */
    unsigned next_asid;     /* round-robin eviction cursor */
    struct tlb_ctx ctxs[TLB_NR_ASIDS];
};

struct cpu_tlbstate_shared {
    /* This CPU runs a kernel thread on loaded_mm (enter_lazy_tlb): flushes
     * of loaded_mm may skip it unless page tables are freed; it catches up
     * when it leaves lazy mode.  Written by the owner only. */
    bool is_lazy;
    /* This CPU is on init_mm's page tables (loaded_mm == &init_mm) and its
     * kernel thread still borrows the user mm it left (leave_mm for a
     * freed_tables flush): that mm's cpumask keeps our bit (the lazy-mm
     * modes find borrowers by it, kernel/mm/lazy_mm.c I2), but a flush of
     * any user mm has nothing to do here - CR3 holds none, and a cached
     * ASID slot is checked against tlb_gen when a user mm is loaded again.
     * So flushers skip us like a lazy CPU, also when tables are freed.
     * Set by our flush handler (tlb.c), cleared by switch_mm() when it
     * loads a user mm, before S3 with a full barrier between (tlb_switch.c,
     * PARK).  Written by the owner only. */
    bool parked;
} __cacheline_aligned;

DECLARE_PER_CPU(struct cpu_tlbstate, cpu_tlbstate);
DECLARE_PER_CPU(struct cpu_tlbstate_shared, cpu_tlbstate_shared);

/* This CPU's private state (interrupts off). */
static inline struct cpu_tlbstate *this_tlbstate(void)
{
    return this_cpu_ptr(&cpu_tlbstate);
}

/* CPU cpu's shared state (the lazy flag): any CPU may read it. */
static inline struct cpu_tlbstate_shared *tlbstate_shared(unsigned cpu)
{
    return per_cpu_ptr(&cpu_tlbstate_shared, cpu);
}

/* The boot-time choices (arch/x86_64/mm/tlb_switch.c). */
extern bool tlb_use_pcid;       /* CR4.PCIDE on every CPU; ASIDs in use */
extern bool tlb_use_invpcid;    /* INVPCID instead of the fallbacks */
extern unsigned tlb_flush_ceiling;  /* pages flushed one by one at most */
/* Its largest value (tlb_flush_ceiling=): the shadow-TLB checker must be
 * able to remember every change one partial flush covers (its ring, TC_RING,
 * is checked against this at compile time in tlbcheck/model.c); past a few
 * dozen pages a full flush is cheaper anyway. */
#define TLB_FLUSH_CEILING_MAX 128

/* The PCID of ASID slot a (user mms); init_mm always runs with PCID 0. */
static inline unsigned asid_to_pcid(unsigned asid) { return asid + 1; }
