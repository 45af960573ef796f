/*
 * arch/x86_64/mm/tlb_kernel.c - flushing kernel-half translations on every
 * CPU (flush_tlb_kernel_range in arch/paging.h, docs/tlb.md).
 *
 * Kernel mappings are global (PTE_G with CR4.PGE): one entry serves every
 * PCID and survives CR3 writes.  So no CPU is exempt - not an idle one,
 * not a lazy one, not one running some other mm - and no generation
 * tracking can help: every online CPU flushes - through a waiting
 * cross-CPU call, or (below) before it next runs kernel code.  When the
 * call returns, each CPU it reached has run its flush, and
 * the call's completion (store-release R2 on the target, load-acquire A2
 * here: kernel/smp/smp_call.c) orders that flush before whatever the caller
 * does next - typically freeing the frames that were mapped.
 *
 * Deferred (kflush_defer=on, the default; arch/x86_64/kctx.c): a CPU in
 * user mode or idle gets no IPI.  It is marked instead, and at its next
 * kernel entry it drops every global entry before anything that could use
 * the range runs (docs/tlb.md "Kernel flushes deferred for user and idle
 * CPUs").  Only a change in the kernel half whose page tables stay may be
 * deferred: a CPU in user mode uses the user half of init_mm (test
 * programs) without entering the kernel, and freed page tables must leave
 * every paging-structure cache before the frames are reused, because the
 * hardware may walk them speculatively at any time, in any mode.
 *
 * Per CPU: INVLPG each page up to tlb_flush_ceiling pages (INVLPG drops a
 * global entry whatever PCID is current); above it - or, with PCID on, when
 * page tables are being freed or the range is in the user half (init_mm's
 * own user mappings are not global) - the global full flush (INVPCID type
 * 2, else the CR4.PGE toggle): both drop every entry and the
 * paging-structure caches of EVERY PCID, which INVLPG does only for the
 * current one.
 */
#include <arch/paging.h>
#include <arch/x86/kctx.h>
#include <arch/x86/tlbstate.h>
#include <arch/tlbcheck/insn.h>
#include <kernel/smp.h>
#include <kernel/debug/tlb_inject.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_trace.h>

DEFINE_COUNTER(tlb, kernel_flush, "flush_tlb_kernel_range calls (each clears every online CPU: IPI or deferred)");
DEFINE_COUNTER(tlb, kernel_flush_ipis, "flush IPIs sent for kernel ranges (online CPUs but the caller and the deferred)");

struct kernel_flush {
    uintptr_t start, end;
    bool full;
};

static void flush_on_this_cpu(void *arg)
{
    const struct kernel_flush *f = arg;
    if (f->full)
        local_flush_tlb_all();
    else
        local_flush_tlb_kernel_range(f->start, f->end);
}

void flush_tlb_kernel_range_freed(uintptr_t start, uintptr_t end, bool freed_tables)
{
    /*
     * With PCID, INVLPG reaches global entries in every PCID but non-global
     * ones only in the current PCID.  Kernel-half entries are global; the
     * user half of the kernel's own tree (init_mm: test programs) is not,
     * and is cached under PCID 0 by CPUs that run init_mm - which they load
     * with NOFLUSH.  So a change there, like a free of kernel page tables,
     * takes the global full flush on every CPU.
     */
    bool full = tlb_use_pcid && (freed_tables || start < USER_TOP);
    struct kernel_flush f = { start, end, full };
    /* The checker's bracket: the changes recorded before this point are
     * the ones every CPU must have dropped when the call returns. */
    uint64_t token = tlbcheck_kernel_flush_begin();
    count_event(tlb, kernel_flush);
    struct cpumask targets = cpu_online_mask;
    uint64_t deferred_user = 0, deferred_idle = 0;     /* CPUs 0..63, for the trace */
    if (tlb_inject(TLB_INJECT_KERNEL_FLUSH_SKIP_CPU) && nr_cpus_online > 1) {
        /* kernel_flush_skip_cpu: "the last CPU is idle, it needs no IPI"
         * - without marking it, so it never flushes. */
        cpumask_clear_cpu(&targets, nr_cpus_online - 1);
    } else if (kflush_defer && !freed_tables && start >= USER_TOP) {
        /* The caller's own CPU runs kernel code: it always flushes. */
        unsigned self = this_cpu_id(), cpu;
        for_each_cpu(cpu, &cpu_online_mask) {
            if (cpu == self)
                continue;
            enum kctx_state was = kctx_defer_kernel_flush(cpu);
            if (was == KCTX_KERNEL)
                continue;
            cpumask_clear_cpu(&targets, cpu);
            tlbcheck_kernel_defer(cpu, token);
            if (cpu < 64)
                *(was == KCTX_USER ? &deferred_user : &deferred_idle) |= 1ull << cpu;
        }
    }
    count_event_n(tlb, kernel_flush_ipis,
                  cpumask_weight(&targets) - cpumask_test_cpu(&targets, this_cpu_id()));
    /* The batch as the trace shows it: who gets the IPI (not us: we flush
     * in the call too) and who was deferred, by the state it was in. */
    uint64_t ipi = targets.bits[0] & ~(this_cpu_id() < 64 ? 1ull << this_cpu_id() : 0);
    tlb_trace(TLBT_KERNEL_FLUSH, start, end, ipi, deferred_user, deferred_idle);
    smp_call_mask(&targets, flush_on_this_cpu, &f, true);
    tlbcheck_kernel_flush_end(token, start, end);
}

void flush_tlb_kernel_range(uintptr_t start, uintptr_t end)
{
    flush_tlb_kernel_range_freed(start, end, false);
}
