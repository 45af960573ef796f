/*
 * kernel/debug/tlb_inject.c - the tlb_inject= boot option (kernel/debug/tlb_inject.h).
 */
#include <kernel/debug/tlb_inject.h>
#include <kernel/boot_options.h>

int tlb_inject_mode = TLB_INJECT_NONE;

/* In the order of enum tlb_inject. */
static const char *const tlb_inject_choices[] = {
    "none", "skip_ipi", "noflush_stale", "skip_catchup", "skip_lazy_freed",
    "early_lazy_drop", "skip_exit_shootdown", "skip_hazard_scan", "free_before_flush",
    "skip_flush", "lazy_model_late",
    "cpumask_late", "early_borrow_end", "cr3_pcid_lost", "ctx_id_reuse",
    "kernel_flush_skip_cpu", "kernel_invpcid3", "skip_mmput_drop", "shm_no_get", "pt_free_no_gp",
    "kdefer_skip_entry", NULL,
};
_Static_assert(sizeof(tlb_inject_choices) / sizeof(tlb_inject_choices[0]) == TLB_INJECT_NR + 1,
               "one name per enum tlb_inject");

CMDLINE_ENUM(tlb_inject, tlb_inject_mode, tlb_inject_choices,
             "a deliberate TLB bug the shadow-TLB checker must catch (tests only)");
