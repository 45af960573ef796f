/*
 * arch/x86_64/mm/tlb_ops.c - the TLB instructions, one primitive each
 * (arch/tlbflush.h).
 *
 * Why one primitive per instruction: the counters and the shadow-TLB
 * checker (kernel/debug/tlbcheck.h) must see EVERY instruction that changes what
 * a CPU may have cached.  A CR3 write hidden in some corner would make the
 * model's picture of that CPU wrong - too clean (a real bug hidden) or too
 * dirty (a false report).  So the instruction and its report sit together,
 * with interrupts off between them: an interrupt handler that flushed in
 * between would report its own operation out of order.
 */
#include <arch/tlbflush.h>
#include <arch/x86/tlbstate.h>
#include <arch/tlbcheck/insn.h>
#include <arch/x86/cpufeatures.h>
#include <arch/paging.h>
#include <arch/x86/x86.h>
#include <kernel/debug/counters.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/debug/race_window.h>
#include <kernel/debug/tlb_inject.h>
#include <kernel/debug/tlb_events.h>

DEFINE_COUNTER(tlb, cr3_write_flush, "CR3 writes that flush the new PCID (every CR3 write without PCID)");
DEFINE_COUNTER(tlb, cr3_write_noflush, "CR3 writes with NOFLUSH (PCID on, cached ASID up to date)");
DEFINE_COUNTER(tlb, invlpg, "INVLPG instructions (one page of the current PCID, plus global entries)");
DEFINE_COUNTER(tlb, invpcid_addr, "INVPCID type 0 (one address of one PCID)");
DEFINE_COUNTER(tlb, invpcid_single, "INVPCID type 1 (all non-global entries of one PCID)");
DEFINE_COUNTER(tlb, invpcid_all_global, "INVPCID type 2 (everything, global entries included)");
DEFINE_COUNTER(tlb, invpcid_all_nonglobal, "INVPCID type 3 (everything but global entries)");
DEFINE_COUNTER(tlb, pge_toggle, "CR4.PGE toggles (drop everything, every PCID, global entries too)");
DEFINE_COUNTER(tlb, flush_full, "full flushes: of a user ASID (flush handler, lazy catch-up) or of everything (kernel)");

void tlb_write_cr3(struct mm *mm, unsigned pcid, bool noflush)
{
    /* PCIDE=0: CR3[11:0] are cache-control bits we keep 0, and bit 63 is
     * reserved (#GP), so there is neither a PCID nor NOFLUSH. */
    BUG_ON(!tlb_use_pcid && (pcid || noflush));
    BUG_ON(pcid > 0xfff);
    /* init_mm's PML4 is the kernel's own (init_mm.pgd is only filled in
     * once the scheduler starts; kernel_pml4 is there from paging_init). */
    phys_addr_t pgd = mm == &init_mm ? kernel_cr3() : mm->pgd;
    uint64_t cr3 = pgd | pcid | (noflush ? CR3_NOFLUSH : 0);
    /* cr3_pcid_lost: "pgd | (noflush ? CR3_NOFLUSH : pcid)" - a slip that
     * NOFLUSH-loads the mm into PCID 0. */
    if (noflush && tlb_inject(TLB_INJECT_CR3_PCID_LOST))
        cr3 = pgd | CR3_NOFLUSH;
    uint64_t flags = arch_irq_save();
    write_cr3(cr3);
    /* The model learns of the write just after it.  That lag is harmless
     * (docs/tlbcheck.md, "The model never lags"): no other CPU can see CR3
     * itself, only what we publish after the hook (is_lazy, a hazard slot,
     * a reference, a cpumask bit), and interrupts are off, so no flush
     * handler of ours runs in between.  tlb_race_delay=N widens it. */
    race_window(RACE_CR3_WRITE);
    tlbcheck_cr3_write(mm, pcid, noflush, cr3);
    if (!noflush && mm != &init_mm)
        tlb_ev_cr3_flushed(mm);         /* a test's pause: the generation's window */
    arch_irq_restore(flags);
    if (noflush)
        count_event(tlb, cr3_write_noflush);
    else
        count_event(tlb, cr3_write_flush);
}

void tlb_invlpg(uintptr_t va)
{
    uint64_t flags = arch_irq_save();
    __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
    tlbcheck_invlpg(va);
    arch_irq_restore(flags);
    count_event(tlb, invlpg);
}

void tlb_invpcid(enum invpcid_type type, unsigned pcid, uintptr_t va)
{
    BUG_ON(!tlb_use_invpcid);
    /* Reserved descriptor bits must be 0 and a non-zero PCID needs PCIDE
     * (else #GP): checked here rather than found by a fault. */
    BUG_ON(pcid > 0xfff || (pcid && !tlb_use_pcid) || type > INVPCID_ALL_NONGLOBAL);
    struct { uint64_t pcid, addr; } desc = { pcid, va };
    uint64_t flags = arch_irq_save();
    __asm__ volatile("invpcid %0, %1" :: "m"(desc), "r"((uint64_t)type) : "memory");
    tlbcheck_invpcid(type, pcid, va);
    arch_irq_restore(flags);
    switch (type) {
    case INVPCID_ADDR: count_event(tlb, invpcid_addr); break;
    case INVPCID_SINGLE: count_event(tlb, invpcid_single); break;
    case INVPCID_ALL_GLOBAL: count_event(tlb, invpcid_all_global); break;
    case INVPCID_ALL_NONGLOBAL: count_event(tlb, invpcid_all_nonglobal); break;
    }
}

void tlb_pge_toggle(void)
{
    uint64_t flags = arch_irq_save();
    uint64_t cr4 = read_cr4();
    BUG_ON(!(cr4 & CR4_PGE));
    /* Any change of CR4.PGE drops every entry of every PCID, global ones
     * and the paging-structure caches included (SDM vol. 3, 4.10.4.1). */
    write_cr4(cr4 & ~CR4_PGE);
    write_cr4(cr4);
    tlbcheck_flush_everything();
    arch_irq_restore(flags);
    count_event(tlb, pge_toggle);
}

void local_flush_tlb_page(uintptr_t va)
{
    tlb_invlpg(va);
}

void local_flush_tlb_all(void)
{
    count_event(tlb, flush_full);
    if (tlb_use_invpcid) {
        /* Type 2: type 3 would keep the kernel's global entries.
         * (kernel_invpcid3 plants exactly that mistake.) */
        tlb_invpcid(tlb_inject(TLB_INJECT_KERNEL_INVPCID3) ? INVPCID_ALL_NONGLOBAL : INVPCID_ALL_GLOBAL,
                    0, 0);
    } else if (read_cr4() & CR4_PGE) {
        tlb_pge_toggle();
    } else {
        /* No PGE: nothing is global, and without PGE we never turn PCID on
         * (tlb_init), so reloading CR3 drops everything. */
        uint64_t flags = arch_irq_save();
        struct mm *mm = this_tlbstate()->loaded_mm;
        BUG_ON(mm == LOADED_MM_SWITCHING);
        tlb_write_cr3(mm ? mm : &init_mm, 0, false);
        arch_irq_restore(flags);
    }
}

void local_flush_tlb_kernel_range(uintptr_t start, uintptr_t end)
{
    start = ALIGN_DOWN(start, PAGE_SIZE);
    if (end <= start)
        return;
    if ((end - start) / PAGE_SIZE > tlb_flush_ceiling) {
        local_flush_tlb_all();
        return;
    }
    for (uintptr_t va = start; va < end; va += PAGE_SIZE)
        tlb_invlpg(va);
}
