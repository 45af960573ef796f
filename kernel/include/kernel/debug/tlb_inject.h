/*
 * kernel/debug/tlb_inject.h - deliberate TLB and lazy-mm bugs, to prove that the
 * shadow-TLB checker (kernel/debug/tlbcheck.h) catches each of them.
 *
 * Boot option tlb_inject=<name>: the code path named below misbehaves in
 * exactly one way; a dedicated runner configuration per fault expects the
 * boot to fail with the checker's report.  Never set in normal use.
 */
#pragma once
#include <stdbool.h>

enum tlb_inject {
    TLB_INJECT_NONE,
    TLB_INJECT_SKIP_IPI,        /* skip_ipi: flush_tlb_mm_range leaves out one target CPU */
    TLB_INJECT_NOFLUSH_STALE,   /* noflush_stale: CR3 NOFLUSH although the ASID's generation is stale */
    TLB_INJECT_SKIP_CATCHUP,    /* skip_catchup: leaving lazy mode ignores a tlb_gen that moved */
    TLB_INJECT_SKIP_LAZY_FREED, /* skip_lazy_freed: a freed_tables flush skips the lazy CPUs */
    TLB_INJECT_EARLY_LAZY_DROP, /* early_lazy_drop: refcount mode drops the lazy reference at borrow time */
    TLB_INJECT_SKIP_EXIT_SHOOTDOWN, /* skip_exit_shootdown: shootdown mode frees without the IPIs */
    TLB_INJECT_SKIP_HAZARD_SCAN,    /* skip_hazard_scan: hazard mode frees without scanning the slots */
    TLB_INJECT_FREE_BEFORE_FLUSH,   /* free_before_flush: an unmap releases its frames before the flush */
    TLB_INJECT_SKIP_FLUSH,      /* skip_flush: mprotect forgets its flush */
    TLB_INJECT_LAZY_MODEL_LATE, /* lazy_model_late: enter_lazy_tlb tells the checker after flushers can see is_lazy */
    TLB_INJECT_CPUMASK_LATE,    /* cpumask_late: switch_mm sets its cpumask bit after the CR3 write */
    TLB_INJECT_EARLY_BORROW_END,    /* early_borrow_end: a drop ends the borrow before leave_mm */
    TLB_INJECT_CR3_PCID_LOST,   /* cr3_pcid_lost: tlb_write_cr3 drops the PCID bits of NOFLUSH loads */
    TLB_INJECT_CTX_ID_REUSE,    /* ctx_id_reuse: mm_create recycles the last freed mm's ctx_id */
    TLB_INJECT_KERNEL_FLUSH_SKIP_CPU, /* kernel_flush_skip_cpu: flush_tlb_kernel_range leaves out the last CPU */
    TLB_INJECT_KERNEL_INVPCID3, /* kernel_invpcid3: the global full flush uses INVPCID type 3 (keeps globals) */
    TLB_INJECT_SKIP_MMPUT_DROP, /* skip_mmput_drop: mmput mode's teardown flush leaves the last CPU's borrow */
    TLB_INJECT_SHM_NO_GET,      /* shm_no_get: a shared page is mapped without its entry's frame reference */
    TLB_INJECT_PT_FREE_NO_GP,   /* pt_free_no_gp: pt_free=rcu frees page tables without the grace period */
    TLB_INJECT_KDEFER_SKIP_ENTRY, /* kdefer_skip_entry: a kernel entry ignores its deferred kernel flush */
    TLB_INJECT_NR
};

extern int tlb_inject_mode;     /* enum tlb_inject, from the command line */
static inline bool tlb_inject(enum tlb_inject what)
{
    return __builtin_expect(tlb_inject_mode == (int)what, 0);
}
