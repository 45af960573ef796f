/*
 * arch/x86_64/mm/tlbcheck_hooks.c - the live shadow-TLB checker: the boot
 * option, the model of the running machine, the registry of user mms, and
 * the hooks of kernel/tlbcheck.h and arch/tlbcheck.h that feed it
 * (docs/tlbcheck.md).  The model and the checks themselves are in
 * tlbcheck_model.c and tlbcheck_checks.c.
 *
 * Every hook starts with `if (!tlbcheck_on()) return;`: with the option off
 * (the default) the checker costs one predictable branch per hook.
 */
#include <arch/tlbcheck_model.h>
#include <arch/tlbcheck.h>
#include <kernel/tlbcheck.h>
#include <kernel/cmdline.h>
#include <kernel/kmalloc.h>
#include <kernel/mm.h>
#include <kernel/page_alloc.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/printk.h>
#include <arch/paging.h>
#include <arch/tlbstate.h>
#include <arch/x86.h>
#include <stdatomic.h>

bool tlbcheck_enabled;
CMDLINE_BOOL(tlbcheck, tlbcheck_enabled,
             "shadow-TLB checker: panic when a CPU could use a stale translation (docs/tlbcheck.md)");

/* Static, so the hooks work from the first CR3 write of the boot on: every
 * CPU starts on the kernel's tables (init_mm), with nothing user cached. */
static struct tc_cpu live_cpus[MAX_CPUS] = {
    [0 ... MAX_CPUS - 1] = { .lock = SPINLOCK_INIT("tlbcheck.cpu") },
};
static struct tc_model live = { .cpus = live_cpus, .ncpus = MAX_CPUS, .live = true };
/* The frames' pending unmappings (tlbcheck_frames.h): empty until
 * tlbcheck_init() allocated the records, then every frame of RAM. */
static struct tc_frames live_frames;

/*
 * This CPU's model, locked, with interrupts off FIRST: a hook called with
 * interrupts on (a system call's return path, uaccess) could otherwise be
 * moved to another CPU between choosing the model and locking it, and
 * check or update the wrong CPU's TLB.
 */
static struct tc_cpu *this_tc_cpu_lock(uint64_t *flags)
{
    *flags = irq_save();
    struct tc_cpu *c = &live_cpus[this_cpu_id()];
    spin_lock(&c->lock);
    c->id = this_cpu_id();      /* the static initializer cannot number them */
    return c;
}

static void tc_cpu_unlock(struct tc_cpu *c, uint64_t flags)
{
    spin_unlock_irqrestore(&c->lock, flags);    /* pairs with irq_save + spin_lock */
}

/* ---- the registry: struct mm -> struct tc_mm ------------------------------ */

#define REG_BUCKETS 64
static struct tc_mm *registry[REG_BUCKETS];
static DEFINE_SPINLOCK(registry_lock);
static bool warned_untracked;

static unsigned bucket(const struct mm *mm)
{
    return (unsigned)(((uintptr_t)mm >> 6) % REG_BUCKETS);
}

/* The checker's record of mm, or NULL (init_mm; or one created while the
 * checker could not allocate its record: such an mm is not checked). */
static struct tc_mm *lookup(const struct mm *mm)
{
    if (!mm || mm == &init_mm)
        return NULL;
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    struct tc_mm *m = registry[bucket(mm)];
    while (m && m->mm != mm)
        m = m->hnext;
    spin_unlock_irqrestore(&registry_lock, flags);
    return m;
}

void tlbcheck_mm_create(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    static _Atomic bool announced;
    if (!atomic_exchange(&announced, true))
        printk("tlbcheck: shadow-TLB checker on (%u PCIDs, %u changes per mm, %u page flushes per PCID modeled)\n",
               TC_NR_PCIDS, TC_RING, TC_FLUSH_SLOTS);
    struct tc_mm *m = kmalloc(sizeof(*m));
    if (!m) {
        if (!warned_untracked)
            printk("tlbcheck: warning: out of memory: an mm (ctx %llu) is not checked\n",
                   (unsigned long long)mm->ctx_id);
        warned_untracked = true;
        return;
    }
    tc_mm_init(m, mm, mm->ctx_id, mm->pgd);
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    m->hnext = registry[bucket(mm)];
    registry[bucket(mm)] = m;
    spin_unlock_irqrestore(&registry_lock, flags);
}

void tlbcheck_mm_free(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = lookup(mm);
    if (!m)
        return;
    tc_check_mm_free(&live, m);
    tc_frames_mm_free(&live_frames, m);    /* no record outlives its mm */
    uint64_t flags = spin_lock_irqsave(&registry_lock);
    struct tc_mm **pp = &registry[bucket(mm)];
    while (*pp != m)
        pp = &(*pp)->hnext;
    *pp = m->hnext;
    spin_unlock_irqrestore(&registry_lock, flags);
    kfree(m);
}

/* ---- kernel/mm hooks ------------------------------------------------------- */

void tlbcheck_pte_change(struct mm *mm, uintptr_t va, uint64_t old, uint64_t new)
{
    if (!tlbcheck_on() || !tc_pte_change_needs_flush(old, new))
        return;
    struct tc_mm *m = lookup(mm);
    if (!m)
        return;
    uint64_t seq = tc_pte_change(m, va, old, new);
    if (!seq)
        return;
    tc_owed_note(m, current_task(), seq);
    if (tc_pte_change_removes_frame(old, new))
        tc_frame_unmapped(&live_frames, m, va, old & PTE_ADDR, seq);
}

void tlbcheck_tables_unlinked(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = lookup(mm);
    if (m)
        tc_owed_note(m, current_task(), tc_tables_unlinked(m));
}

void tlbcheck_tables_free(struct mm *mm)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = lookup(mm);
    if (m)
        tc_check_tables_free(&live, m);
}

uint64_t tlbcheck_flush_begin(struct mm *mm)
{
    if (!tlbcheck_on())
        return 0;
    struct tc_mm *m = lookup(mm);
    return m ? tc_flush_begin(m) : 0;
}

void tlbcheck_flush_end(struct mm *mm, uint64_t token)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = lookup(mm);
    if (!m)
        return;
    tc_check_flush_end(&live, m, token);
    /* Before flush_tlb_mm_range() returns: its caller may release the
     * frames right after (tc_check_frame_free). */
    tc_frames_flushed(&live_frames, m, token);
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
    struct tc_mm *m = lookup(mm);
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    c->borrowed = m;
    c->borrowed_ctx = m ? m->ctx_id : 0;
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
    struct tc_mm *m = lookup(mm);
    if (!m)
        return;
    /* Interrupts off only so that the report names this CPU. */
    uint64_t flags = irq_save();
    tc_check_mm_unlock(&live, &live_cpus[this_cpu_id()], m);
    irq_restore(flags);
}

/* ---- frames (tlbcheck_frames.h) -------------------------------------------- */

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
    uint64_t flags = irq_save();
    tc_check_frame_free(&live, &live_frames, &live_cpus[this_cpu_id()], pa, order);
    irq_restore(flags);
}

/* ---- arch/tlbcheck.h: the instructions (this CPU, interrupts off) ---------- */

void tlbcheck_cr3_write(struct mm *mm, unsigned pcid, bool noflush)
{
    if (!tlbcheck_on())
        return;
    struct tc_mm *m = lookup(mm);
    bool pcide = read_cr4() & CR4_PCIDE;
    uint64_t flags;
    struct tc_cpu *c = this_tc_cpu_lock(&flags);
    tc_cr3_write(&live, c, m, m ? m->ctx_id : 0, pcid, noflush, pcide);
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
    tc_flush_everything(&live, c);
    tc_cpu_unlock(c, flags);
}
