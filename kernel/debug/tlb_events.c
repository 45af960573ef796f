/*
 * kernel/debug/tlb_events.c - the counters of the TLB and lazy-mm
 * protocols' events, counted by kernel/debug/tlb_events.h.  (The counters
 * of the TLB instructions themselves are next to the instructions, in
 * arch/x86_64/mm/tlb_ops.c.)
 */
#include <kernel/debug/tlb_events.h>

/* flush_tlb_mm_range and its handler (arch/x86_64/mm/tlb.c) */
DEFINE_COUNTER(tlb, ipi_sent, "flush IPIs sent for user mms (one per target CPU)");
DEFINE_COUNTER(tlb, ipi_received, "flush IPIs for user mms handled (initiator's own flush not counted)");
DEFINE_COUNTER(tlb, ipi_skipped_lazy, "CPUs in the mm's cpumask not sent a flush IPI because they were lazy");
DEFINE_COUNTER(tlb, ipi_not_running, "flush IPIs that found the mm not loaded on the target (no work)");
DEFINE_COUNTER(tlb, cpumask_cleared, "bits a CPU cleared from an mm's cpumask (lazily, in a flush)");
DEFINE_COUNTER(tlb, flush_caught_up, "flush requests that found the CPU's ASID already caught up (no work)");
/* tlb_events.h: a test's pause before F1 (tests/test_tlbcheck_owed.c). */
void (*tlb_flush_begin_test_hook)(void);
/* tlb_events.h: a test's pause after F1 (tests/test_mm_concurrent.c). */
void (*tlb_flush_made_test_hook)(void);
/* tlb_events.h: a test's pause after a flushing CR3 write (tests/test_tlb_gen_window.c). */
void (*tlb_cr3_flushed_test_hook)(struct mm *mm);

DEFINE_COUNTER(tlb, flush_partial, "flush requests served by INVLPG per page (exactly one generation behind, within the ceiling)");

/* switch_mm, the ASID cache, leave_mm (arch/x86_64/mm/tlb_switch.c) */
DEFINE_COUNTER(tlb, asid_hit, "switch_mm found the mm in an ASID slot (PCID on)");
DEFINE_COUNTER(tlb, asid_miss, "switch_mm found no ASID slot for the mm (PCID on)");
DEFINE_COUNTER(tlb, asid_evict, "ASID slots taken over from another mm (round-robin)");
DEFINE_COUNTER(tlb, lazy_catchup, "leaving lazy mode on the same mm found tlb_gen moved: full flush");
DEFINE_COUNTER(tlb, leave_mm, "leave_mm switched a CPU from a user mm to init_mm");

/* the address-space step of context_switch (kernel/sched/core.c) */
DEFINE_COUNTER(switch, same_mm, "user -> user thread of the same mm (no CR3 write)");
DEFINE_COUNTER(switch, mm, "user -> user of another mm (switch_mm)");
DEFINE_COUNTER(switch, enter_lazy, "user -> kernel thread (borrows the mm: lazy_mm_borrow_start)");
DEFINE_COUNTER(switch, lazy_handover, "kernel -> kernel thread (hands the borrowed mm over)");
DEFINE_COUNTER(switch, leave_lazy, "kernel thread -> user (switch_mm, lazy_mm_borrow_end after)");

/* the lazy-mm borrow and its lifetime modes (kernel/mm/lazy_mm.c) */
DEFINE_COUNTER(lazy, borrow_start, "borrows of a user mm started (user -> kernel thread, exit_mm)");
DEFINE_COUNTER(lazy, borrow_end, "borrows ended by a switch to a user task");
DEFINE_COUNTER(lazy, borrow_drop, "borrows ended by a drop (exit shootdown, hazard IPI, mmput's teardown flush, drop_borrowers)");
DEFINE_COUNTER(lazy, exit_shootdown_ipis, "shootdown: IPIs to the mm's cpumask before freeing an mm");
DEFINE_COUNTER(lazy, hazard_scans, "hazard: scans of the slots before freeing an mm");
DEFINE_COUNTER(lazy, hazard_slots_read, "hazard: per-CPU slots read by those scans");
DEFINE_COUNTER(lazy, hazard_ipis, "hazard: IPIs to CPUs whose slot held the mm being freed");
DEFINE_COUNTER(lazy, teardown_ipis, "IPIs of the last mmput's teardown flush (every mode; mmput: they end the borrows)");
DEFINE_COUNTER(lazy, drop_ipis, "IPIs of lazy_mm_drop_borrowers (refcount: the reaper's; leak checks)");
