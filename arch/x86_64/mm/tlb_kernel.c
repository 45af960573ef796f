/*
 * arch/x86_64/mm/tlb_kernel.c - flushing kernel-half translations on every
 * CPU (see flush_tlb_kernel_range in arch/paging.h).
 *
 * The caller has already changed the page tables.  We flush locally and ask
 * every other online CPU to do the same through a waiting cross-CPU call
 * (kernel/smp_call.c); when the call returns, each CPU has run its flush,
 * and the call's completion (release on the target, acquire here) orders
 * that flush before whatever the caller does next - typically freeing the
 * frames that were mapped.
 */
#include <arch/paging.h>
#include <kernel/smp.h>
#include <kernel/counters.h>
#include <kernel/tlb_trace.h>

DEFINE_COUNTER(tlb, kernel_flush, "flush_tlb_kernel_range calls (each reaches every online CPU)");
DEFINE_COUNTER(tlb, kernel_flush_ipis, "flush IPIs sent for kernel ranges (online CPUs but the caller)");

struct kernel_flush {
    uintptr_t start, end;
};

static void flush_on_this_cpu(void *arg)
{
    const struct kernel_flush *f = arg;
    local_flush_tlb_range(f->start, f->end);
}

void flush_tlb_kernel_range(uintptr_t start, uintptr_t end)
{
    struct kernel_flush f = { start, end };
    count_event(tlb, kernel_flush);
    count_event_n(tlb, kernel_flush_ipis, READ_ONCE(nr_cpus_online) - 1);
    tlb_trace(TLBT_KERNEL_FLUSH, start, end, 0, 0);
    smp_call_all(flush_on_this_cpu, &f, true);
}
