/*
 * arch/x86_64/kctx.c - per-CPU context tracking (user / kernel / idle) and
 * the entry flush point of deferred kernel flushes (arch/x86/kctx.h,
 * docs/tlb.md "Kernel flushes deferred for user and idle CPUs").
 *
 * One word per CPU, on its own cache line: the state (enum kctx_state) and
 * KCTX_PENDING, "a kernel-range flush was deferred for this CPU".
 *
 * ORDERING.  The flusher (flush_tlb_kernel_range, arch/x86_64/mm/
 * tlb_kernel.c) clears PTEs, then D1: a locked compare-exchange on the
 * target's word that sets PENDING only if the state is user or idle.  The
 * entering CPU does E1: a locked compare-exchange that sets the state to
 * kernel and keeps PENDING, then, if PENDING was set, drops every global
 * entry, then clears PENDING (E2).  D1 and E1 are read-modify-writes of one
 * word, so they are ordered one way or the other:
 *   - D1 first: E1 reads PENDING and the CPU flushes.  Both are locked
 *     instructions (full fences on x86), so the flusher's PTE stores were
 *     globally visible before D1, hence before E1, hence before the flush
 *     and every page walk after it: the walk cannot re-cache the old entry.
 *   - E1 first: D1 reads "kernel", sets nothing, and the flusher sends the
 *     IPI as before.
 * This is Dekker's pattern (flusher: write "pending", read state; CPU:
 * write state, read "pending") folded into one word.  Were they two words,
 * each side would need a full fence (MFENCE or a locked RMW) between its
 * write and its read: x86-TSO lets a load pass an earlier store to another
 * address, and then the flusher could read "user" while the CPU reads "no
 * flush pending" - it would run kernel code with a stale entry that nobody
 * flushes.  The flusher must do D1 even when PENDING is already set: the
 * locked write is what publishes its PTE stores before the CPU's E1.
 *
 * The exit (X1, kctx_exit_to_user / kctx_enter_idle) is a plain release
 * store: no flusher sets PENDING while the state is kernel, so nothing can
 * be lost, and after X1 the CPU touches only what is never deferred (its
 * own stack, per-CPU data, the kernel image: docs/tlb.md).  A CPU that
 * publishes "kernel" a little too long only costs an IPI.
 *
 * NMI, #DF and #MC do not call kctx_enter (they may arrive anywhere, even
 * inside it); their handlers touch only IST stacks, per-CPU data and the
 * kernel image, none of which a deferred flush ever covers.
 */
#include <arch/x86/kctx.h>
#include <arch/cpu.h>
#include <arch/tlbflush.h>
#include <arch/tlbcheck/insn.h>
#include <kernel/boot_options.h>
#include <kernel/compiler.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlb_inject.h>
#include <kernel/debug/tlb_trace.h>

bool kflush_defer = true;
CMDLINE_BOOL(kflush_defer, kflush_defer,
             "kernel-range flushes skip CPUs in user mode or idle; they flush at their next kernel entry");

DEFINE_COUNTER(tlb, kernel_flush_skip_user, "kernel-flush IPIs not sent: the CPU was in user mode (deferred)");
DEFINE_COUNTER(tlb, kernel_flush_skip_idle, "kernel-flush IPIs not sent: the CPU was idle (deferred)");
DEFINE_COUNTER(tlb, kernel_flush_deferred, "deferred kernel flushes done at kernel entry (this CPU)");
DEFINE_COUNTER(tlb, kctx_entries, "kernel entries from user mode or idle (context tracking)");

#define KCTX_STATE_MASK 3u
#define KCTX_PENDING    4u

static struct {
    uint32_t word;
} __aligned(64) kctx[MAX_CPUS];

enum kctx_state kctx_state_of(unsigned cpu)
{
    return (enum kctx_state)(__atomic_load_n(&kctx[cpu].word, __ATOMIC_ACQUIRE) & KCTX_STATE_MASK);
}

void kctx_enter(void)
{
    /* Interrupts off: a preemption between E1 and E2 would move us to
     * another CPU with `w` still naming this one's word. */
    uint64_t flags = arch_irq_save();
    uint32_t *w = &kctx[this_cpu_id()].word;
    uint32_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
    if (old == KCTX_KERNEL) {
        arch_irq_restore(flags);
        return;         /* a nested entry */
    }
    /* E1, pairs with D1 in kctx_defer_kernel_flush: kernel, PENDING kept,
     * so that an interrupt or NMI nested before E2 still sees it. */
    while (!__atomic_compare_exchange_n(w, &old, KCTX_KERNEL | (old & KCTX_PENDING), false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        ;
    count_event(tlb, kctx_entries);
    if (old & KCTX_PENDING) {
        /* Every global entry: the deferred ranges were not recorded.
         * kdefer_skip_entry plants the bug of forgetting it. */
        if (!tlb_inject(TLB_INJECT_KDEFER_SKIP_ENTRY)) {
            local_flush_tlb_all();
            /* The trace's other end of a kernel_flush that deferred this
             * CPU: a student reads "deferred: idle={1}", then this line. */
            tlb_trace(TLBT_KFLUSH_ENTRY, 0, 0, 0, 0, 0);
        }
        count_event(tlb, kernel_flush_deferred);
        /* E2: no flusher sets PENDING while the state is kernel. */
        __atomic_fetch_and(w, ~KCTX_PENDING, __ATOMIC_SEQ_CST);
    }
    /* The entry flush point: the checker asserts that this CPU dropped
     * every kernel change deferred for it (docs/tlbcheck.md). */
    tlbcheck_kernel_entry();
    arch_irq_restore(flags);
}

void kctx_exit_to_user(void)
{
    /* X1: see ORDERING above. */
    __atomic_store_n(&kctx[this_cpu_id()].word, KCTX_USER, __ATOMIC_RELEASE);
}

void kctx_enter_idle(void)
{
    /* X1 for idle: between here and HLT the CPU runs only this function's
     * caller on its own stack. */
    __atomic_store_n(&kctx[this_cpu_id()].word, KCTX_IDLE, __ATOMIC_RELEASE);
}

void arch_safe_halt(void)
{
    kctx_enter_idle();
    /* An interrupt that wakes us calls kctx_enter itself (trap_dispatch);
     * the second call below covers a wake-up that did not (an NMI). */
    __asm__ volatile("sti; hlt" ::: "memory");
    kctx_enter();
}

enum kctx_state kctx_defer_kernel_flush(unsigned cpu)
{
    uint32_t *w = &kctx[cpu].word;
    uint32_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
    do {
        if ((old & KCTX_STATE_MASK) == KCTX_KERNEL)
            return KCTX_KERNEL;
        /* D1, pairs with E1 in kctx_enter. */
    } while (!__atomic_compare_exchange_n(w, &old, old | KCTX_PENDING, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    if ((old & KCTX_STATE_MASK) == KCTX_USER) {
        count_event(tlb, kernel_flush_skip_user);
        return KCTX_USER;
    }
    count_event(tlb, kernel_flush_skip_idle);
    return KCTX_IDLE;
}
