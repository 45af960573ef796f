/*
 * arch/x86_64/tlbcheck/hooks.c - the live shadow-TLB checker: the boot
 * option, the model of the running machine, the checker's records of the
 * address spaces, and the hooks of kernel/debug/tlbcheck.h and arch/tlbcheck/insn.h
 * that feed it (docs/tlbcheck.md).  The model and the checks themselves
 * are in tlbcheck/model.c, tlbcheck/kernel.c and tlbcheck/checks.c.
 *
 * Cost (docs/tlbcheck.md, "What it costs"): no lock shared by all CPUs on
 * any path that runs per page, per switch or per user access.  An mm finds
 * its record through mm->tlbcheck; the registry lock is taken only when an
 * mm is created or freed and when a CR3 value does not match what the code
 * claimed (the report looks up the PML4's owner).
 *
 * Every hook starts with `if (!tlbcheck_on()) return;`: with the option off
 * (the default) the checker costs one predictable branch per hook.
 */
#include <arch/tlbcheck/model.h>
#include <arch/tlbcheck/insn.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/boot_options.h>
#include <kernel/kmalloc.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/printk.h>
#include <kernel/smp.h>
#include <kernel/debug/counters.h>
#include <arch/tlbflush.h>
#include <arch/paging.h>
#include <arch/x86/tlbstate.h>
#include <arch/x86/x86.h>
#include <stdatomic.h>

bool tlbcheck_enabled;
CMDLINE_BOOL(tlbcheck, tlbcheck_enabled,
             "shadow-TLB checker: panic when a CPU could use a stale translation (docs/tlbcheck.md)");

/* Static, so the hooks work from the first CR3 write of the boot on. */
static struct tc_cpu live_cpus[MAX_CPUS] = {
    [0 ... MAX_CPUS - 1] = { .lock = SPINLOCK_INIT("tlbcheck.cpu", LOCK_RANK_TC_CPU) },
};

/* init_mm's record (the checker's id 1: user mms count on from 2) and the
 * kernel half's.  init_mm's PML4 is kernel_cr3(), filled in at first use. */
#define TC_INIT_MM_ID   1
static struct tc_mm live_init_mm = {
    .lock = SPINLOCK_INIT("tlbcheck.mm", LOCK_RANK_TC_MM), .mm = &init_mm, .ctx_id = TC_INIT_MM_ID, .kernel = true,
};
static struct tc_kernel live_kernel = { .lock = SPINLOCK_INIT("tlbcheck.kernel", LOCK_RANK_TC_KERNEL), .m = &live_init_mm };
static struct tc_model live = { .cpus = live_cpus, .ncpus = MAX_CPUS, .live = true,
                                .online = &cpu_online_mask };
/* The frames' pending unmappings (arch/tlbcheck/frames.h): empty until
 * tlbcheck_init() allocated the records, then every frame of RAM. */
static struct tc_frames live_frames;

DEFINE_COUNTER(tlbcheck, registry_lock, "checker: registry lock taken (mm create/free, CR3 mismatch reports)");

/*
 * This CPU's model, locked, with interrupts off FIRST: a hook called with
 * interrupts on (a system call's return path, uaccess) could otherwise be
 * moved to another CPU between choosing the model and locking it, and
 * check or update the wrong CPU's TLB.  The first hook of a CPU (its
 * boot-time CR3 write, tlb_init_this_cpu) brings its model online.
 */
static struct tc_cpu *this_tc_cpu_lock(uint64_t *flags)
{
    *flags = arch_irq_save();
    struct tc_cpu *c = &live_cpus[this_cpu_id()];
    spin_lock(&c->lock);
    if (!c->online) {
        c->id = this_cpu_id();      /* the static initializer cannot number them */
        live_init_mm.pgd = kernel_cr3();
        tc_cpu_set_kernel(c, &live_kernel, read_cr4() & CR4_PGE);
    }
    return c;
}

static void tc_cpu_unlock(struct tc_cpu *c, uint64_t flags)
{
    spin_unlock_irqrestore(&c->lock, flags);    /* pairs with irq_save + spin_lock */
}

/* ---- the records: struct mm -> struct tc_mm (mm->tlbcheck) ----------------- */

/* Every live record, for the one lookup that goes by PML4 (a CR3 value that
 * is not what the code claimed).  Taken at mm create and free only. */
static struct tc_mm *registry;
static DEFINE_SPINLOCK(registry_lock, LOCK_RANK_TC_REGISTRY);
static bool warned_untracked;
static _Atomic uint64_t next_id = TC_INIT_MM_ID + 1;

/* The checker's record of a user mm (NULL for init_mm, whose user half is
 * not modeled - its kernel half is, through live_kernel - and for an mm
 * created while the checker could not allocate its record: not checked). */
static struct tc_mm *record(const struct mm *mm)
{
    if (!mm || mm == &init_mm)
        return NULL;
    return mm->tlbcheck;
}

/* The record whose PML4 is at pgd, or NULL (slow: the registry lock). */
static struct tc_mm *owner_of(phys_addr_t pgd)
{
    if (pgd == kernel_cr3())
        return &live_init_mm;
    count_event(tlbcheck, registry_lock);
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    struct tc_mm *m = registry;
    while (m && m->pgd != pgd)
        m = m->reg_next;
    spin_unlock_irqrestore(&registry_lock, flags);
    return m;
}

void tlbcheck_mm_create(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    static _Atomic bool announced;
    if (!atomic_exchange(&announced, true))
        printk("tlbcheck: shadow-TLB checker on (%u PCIDs, %u changes per mm, %u kernel changes, "
               "%u page flushes per PCID modeled)\n", TC_NR_PCIDS, TC_RING, TC_KRING, TC_FLUSH_SLOTS);
    struct tc_mm *m = kmalloc(sizeof(*m));
    if (!m) {
        if (!warned_untracked)
            printk("tlbcheck: warning: out of memory: an mm (ctx %llu) is not checked\n",
                   (unsigned long long)mm->ctx_id);
        warned_untracked = true;
        mm->tlbcheck = NULL;
        return;
    }
    /* The checker's own id: a kernel that reused its ctx_id (or keyed its
     * ASID cache on something reusable) cannot make two mms look alike. */
    tc_mm_init(m, mm, atomic_fetch_add(&next_id, 1), mm->pgd);
    count_event(tlbcheck, registry_lock);
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    m->reg_prev = NULL;
    m->reg_next = registry;
    if (registry)
        registry->reg_prev = m;
    registry = m;
    spin_unlock_irqrestore(&registry_lock, flags);
    mm->tlbcheck = m;
}

void tlbcheck_mm_free(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    if (!m)
        return;
    tc_check_mm_free(&live, m);
    tc_frames_mm_free(&live_frames, m);    /* no record outlives its mm */
    count_event(tlbcheck, registry_lock);
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    if (m->reg_prev)
        m->reg_prev->reg_next = m->reg_next;
    else
        registry = m->reg_next;
    if (m->reg_next)
        m->reg_next->reg_prev = m->reg_prev;
    spin_unlock_irqrestore(&registry_lock, flags);
    mm->tlbcheck = NULL;
    kfree(m);
}

/* ---- page-table hooks ------------------------------------------------------ */

void tlbcheck_pte_change(struct mm *mm, uintptr_t va, uint64_t old, uint64_t new)
{
    if (!tlbcheck_on())
        return;
    if (mm == &init_mm && va >= USER_TOP) {
        if (tc_pte_change_needs_flush(old, new))
            tc_kernel_pte_change(&live_kernel, va, old, new);
        return;
    }
    /* Every user entry made or removed, flushed or not: frame_mapped. */
    tc_frame_map_change(&live_frames, old, new);
    if (!tc_pte_change_needs_flush(old, new))
        return;
    struct tc_mm *m = record(mm);
    if (!m)
        return;
    uint64_t seq = tc_pte_change_by(m, va, old, new, current_task());
    if (!seq)
        return;
    if (tc_pte_change_removes_frame(old, new))
        tc_frame_unmapped_by(&live_frames, m, va, old & PTE_ADDR, seq, current_task());
}

void tlbcheck_tables_unlinked(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    if (m)
        tc_tables_unlinked_by(m, current_task());
}

void tlbcheck_tables_free(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    if (m)
        tc_check_tables_free(&live, m);
}

uint64_t tlbcheck_flush_begin(struct mm *mm)
{
    if (!tlbcheck_on())
        return 0;
    struct tc_mm *m = record(mm);
    return m ? tc_flush_begin(m) : 0;
}

void tlbcheck_flush_end(struct mm *mm, uint64_t token)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    if (!m)
        return;
    /* The flush's author is the thread that made the changes it covers
     * (every kernel path flushes its own changes: arch/tlbcheck/open.h). */
    tc_check_flush_end_by(&live, m, token, current_task());
    /* Before flush_tlb_mm_range() returns: its caller may release the
     * frames right after (tc_check_frame_free). */
    tc_frames_flushed(&live_frames, m, token);
}

uint64_t tlbcheck_kernel_flush_begin(void)
{
    return tlbcheck_on() ? tc_kernel_flush_begin(&live_kernel) : 0;
}

void tlbcheck_kernel_flush_end(uint64_t token, uintptr_t start, uintptr_t end)
{
    if (tlbcheck_on())
        tc_check_kernel_flush_end(&live, &live_kernel, token, start, end);
}

void tlbcheck_kernel_defer(unsigned cpu, uint64_t token)
{
    if (tlbcheck_on() && cpu < MAX_CPUS)
        tc_kernel_defer(&live_cpus[cpu], token);
}

void tlbcheck_kernel_entry(void)
{
    if (tlbcheck_on())
        tc_check_kernel_entry(&live, &live_cpus[this_cpu_id()]);
}

uint64_t tlbcheck_kernel_tables_unlinked(uintptr_t va)
{
    return tlbcheck_on() ? tc_kernel_tables_unlinked(&live_kernel, va) : 0;
}

void tlbcheck_kernel_tables_free(uint64_t unlinked)
{
    if (tlbcheck_on())
        tc_check_kernel_tables_free(&live, &live_kernel, unlinked);
}

/* ---- scheduler / lazy-mm hooks (this CPU) ---------------------------------- */

/*
 * The model never lags behind the is_lazy flag flushers read (publish_lazy
 * and publish_unlazy in tlb_switch.c): "lazy" must reach the model before
 * the flag is set (else a flusher skips a CPU the model still holds to its
 * flush: a false report at flush_end), "not lazy" only after the flag was
 * cleared and the switch is done.  Either wrong order is reported (op
 * set_lazy) on the first transition that makes it, on every boot - without
 * waiting for a flusher to fall into the window (tlb_inject=lazy_model_late
 * plants it).
 */
void tlbcheck_set_lazy(bool lazy)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    if (READ_ONCE(tlbstate_shared(c->id)->is_lazy))
        tc_violation(&live, c, NULL, 0, "set_lazy",
                     lazy ? "the checker is told 'lazy' after flushers can already skip this CPU"
                          : "the checker is told 'not lazy' while flushers still skip this CPU");
    c->lazy = lazy;
    tc_cpu_unlock(c, flags);
}

void tlbcheck_borrow(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    /* The task running now owns the borrowed mm (a kernel thread handed
     * the CPU to a user thread of it): pointer compares only. */
    struct tc_mm *b = c->borrowed;
    bool cur_owns = b && b->mm && current_task()->mm == b->mm;
    tc_borrow(&live, c, m, cur_owns);
    tc_cpu_unlock(c, flags);
}

void tlbcheck_user_access(void)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    tc_check_user_access(&live, c, "user_access");
    tc_cpu_unlock(c, flags);
}

void tlbcheck_user_return(void)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    tc_check_user_access(&live, c, "user_access");
    tc_check_user_return(&live, c, current_task());
    tc_cpu_unlock(c, flags);
}

void tlbcheck_mm_unlock(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    if (!m)
        return;
    /* Interrupts off only so that the report names this CPU. */
    uint64_t flags = arch_irq_save();
    tc_check_mm_unlock(&live, &live_cpus[this_cpu_id()], m);
    arch_irq_restore(flags);
}

void tlbcheck_mm_read_unlock(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = record(mm);
    if (!m)
        return;
    uint64_t flags = arch_irq_save();
    tc_check_mm_read_unlock(&live, &live_cpus[this_cpu_id()], m, current_task());
    arch_irq_restore(flags);
}

/* ---- frames (arch/tlbcheck/frames.h) -------------------------------------------- */

void tlbcheck_init(void)
{
    if (!tlbcheck_on())
        return;
    size_t nframes = page_ram_end() >> PAGE_SHIFT;
    size_t per_chunk = (size_t)1 << TC_FRAME_CHUNK_SHIFT, modeled = 0;
    for (unsigned i = 0; i < TC_FRAME_CHUNKS && modeled < nframes; i++) {
        size_t n = nframes - modeled < per_chunk ? nframes - modeled : per_chunk;
        unsigned order = 0;
        while ((PAGE_SIZE << order) < n * sizeof(struct tc_frame))
            order++;
        phys_addr_t pa = page_alloc_zeroed(order);
        if (!pa)
            break;
        live_frames.chunk[i] = phys_to_virt(pa);
        modeled += n;
    }
    tc_frames_init(&live_frames, modeled);
    printk("tlbcheck: frame lifetimes of %zu MiB of RAM modeled (%u pending unmappings per frame, "
           "%u per mm)%s\n", modeled >> 8, TC_FRAME_RECORDS, TC_MM_PENDING,
           modeled < nframes ? "; the rest is not checked (out of memory or beyond the model)" : "");
}

void tlbcheck_frame_free(phys_addr_t pa, unsigned order)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags = arch_irq_save();
    tc_check_frame_free(&live, &live_frames, &live_cpus[this_cpu_id()], pa, order);
    arch_irq_restore(flags);
}

/* ---- arch/tlbcheck/insn.h: the instructions (this CPU, interrupts off) ---------- */

/*
 * What the hardware took, not what the code meant: the PML4 frame and the
 * PCID are read back from CR3, NOFLUSH is bit 63 of the value the MOV
 * wrote (the CPU does not store it).  The model follows the owner of the
 * PML4 found.  When it is not what the caller claimed (mm, pcid, noflush),
 * the code's own bookkeeping is wrong from here on: a violation.
 *
 * No false positive: this CPU's CR3 cannot change between the MOV and this
 * read (interrupts are off, and nothing else writes CR3: arch/tlbcheck/insn.h);
 * a PML4 frame belongs to exactly one live mm (mm_create allocates it,
 * the last mmdrop frees it after tlbcheck_mm_free), and mm->pgd never
 * changes; the cpumask bit checked below is set by this CPU before its
 * CR3 write (S2 in switch_mm) and cleared only by this CPU in a flush
 * handler - which cannot run here, interrupts being off.
 */
void tlbcheck_cr3_write(struct mm *mm, unsigned pcid, bool noflush, uint64_t written)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    uint64_t cr4 = read_cr4();
    bool pcide = cr4 & CR4_PCIDE;
    c->pge = cr4 & CR4_PGE;
    struct tc_cr3 hw = tc_cr3_decode(read_cr3(), written, pcide);
    phys_addr_t frame = hw.pgd;
    unsigned hw_pcid = hw.pcid;
    bool hw_noflush = hw.noflush;
    struct tc_mm *claimed = mm == &init_mm ? &live_init_mm : record(mm);
    phys_addr_t claimed_pgd = mm == &init_mm ? kernel_cr3() : mm->pgd;
    struct tc_mm *m = claimed && claimed->pgd == frame ? claimed : owner_of(frame);
    if (frame != claimed_pgd || hw_pcid != (pcide ? pcid : 0) || hw_noflush != noflush) {
        printk("tlbcheck: CR3 holds PML4 %#lx PCID %u%s; the code claimed mm ctx %llu (PML4 %#lx) PCID %u%s\n",
               frame, hw_pcid, hw_noflush ? " NOFLUSH" : "",
               (unsigned long long)(claimed ? claimed->ctx_id : 0), claimed_pgd, pcid,
               noflush ? " NOFLUSH" : "");
        tc_violation(&live, c, m ? m : claimed, frame, "cr3_write",
                     "the value written to CR3 is not what the code meant (PML4, PCID or NOFLUSH)");
    }
    if (!m && !warned_untracked)
        tc_violation(&live, c, claimed, frame, "cr3_write",
                     "CR3 loaded with a PML4 that no live address space owns");
    /* (f): flushers find the CPUs to reach in mm->cpumask (F2). */
    if (m && m->mm && !m->kernel &&
        !bitmap_test_bit_atomic(m->mm->cpumask.bits, this_cpu_id()))
        tc_violation(&live, c, m, frame, "cr3_cpumask",
                     "an mm loaded into CR3 before this CPU's bit in its cpumask was set (flushes would miss it)");
    tc_cr3_write(&live, c, m, m ? m->ctx_id : 0, hw_pcid, hw_noflush, pcide);
    tc_cpu_unlock(c, flags);
}

void tlbcheck_invlpg(uintptr_t va)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    tc_invlpg(&live, c, va);
    tc_cpu_unlock(c, flags);
}

void tlbcheck_invpcid(unsigned type, unsigned pcid, uintptr_t va)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    tc_invpcid(&live, c, type, pcid, va);
    tc_cpu_unlock(c, flags);
}

void tlbcheck_flush_everything(void)
{
    if (!tlbcheck_on())
        return;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    c->pge = read_cr4() & CR4_PGE;
    tc_flush_everything(&live, c);
    tc_cpu_unlock(c, flags);
}

/* A violation found on behalf of `cpu` by a check that keeps its own
 * records (tlbcheck/walkers.c): the report shows that CPU's model. */
void tc_live_report(unsigned cpu, uintptr_t addr, const char *op, const char *what)
{
    tc_violation(&live, &live_cpus[cpu], NULL, addr, op, what);
}
