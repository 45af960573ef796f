/*
 * kernel/mm.h - address spaces (struct mm).
 *
 * Every user process has an mm: its own top-level page table (whose kernel
 * half, PML4 entries 256..511, is shared with init_mm), a sorted set of
 * regions (VMAs), and the bookkeeping the TLB code needs.  Kernel threads
 * have no mm (task->mm == NULL) and run on whatever address space the CPU has
 * loaded (task->active_mm): init_mm, the kernel's own, or one they borrow.
 *
 * Two reference counts, the classic split (docs/processes.md):
 *   mm_users - users of the address space itself: threads of the process,
 *              and anyone who must walk it (fork, the ELF loader).  The last
 *              mmput() tears down the mappings: unmaps every VMA, frees the
 *              user pages and the user page tables (after the TLB flush).
 *   mm_count - references to the struct and its top-level page table.  All
 *              users together hold one; lazy borrowers (kernel threads
 *              running on it) hold their own.  The last mmdrop() frees the
 *              PML4 and the struct.
 *
 * Locking: mm->lock (a read/write semaphore, kernel/rwsem.h) protects the
 * VMA list and the page tables of the user half: mmap/munmap/mprotect, fork
 * and the teardown take it for writing, page faults for reading - and then
 * each page table's own lock (arch_pte_lock, arch/pte.h) orders the
 * faults that change entries of one table (docs/locking.md).  The counts,
 * tlb_gen and cpumask are atomics.
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/cpumask.h>
#include <kernel/list.h>
#include <kernel/wait.h>
#include <kernel/rwsem.h>
#include <arch/memlayout.h>
#include <arch/paging.h>
#include <stdatomic.h>

struct shm;

struct vma {
    uintptr_t start, end;       /* [start, end), page aligned */
    unsigned prot;              /* SD_PROT_* (uapi/shootdown.h) */
    struct list_head link;      /* in mm->vmas, sorted by start */
    /* A shared mapping: the object whose pages it maps (a reference,
     * kernel/shm.h) and the object's page at `start`; NULL: private
     * anonymous memory, copy-on-write over fork. */
    struct shm *shm;
    size_t shm_pgoff;
};

struct tc_mm;

struct mm {
    phys_addr_t pgd;            /* physical address of the PML4 */
    uint64_t *pml4;             /* the same, through the direct map */
    _Atomic int mm_users;
    _Atomic int mm_count;
    struct rwsem lock;          /* VMAs and user page tables (kernel/mm/mm_internal.h) */
    struct list_head vmas;
    uint64_t ctx_id;            /* never reused; 0 for init_mm */
    _Atomic uint64_t tlb_gen;   /* bumped (full barrier) after each page-table change */
    struct cpumask cpumask;     /* CPUs that may hold translations of this mm */
    const char *name;
    struct tc_mm *tlbcheck;     /* the shadow-TLB checker's record (kernel/debug/tlbcheck.h), or NULL */
    /* Tables the teardown unhooked but left for the last mmdrop to free
     * (kernel/mm/mm.c, mm_teardown); empty otherwise. */
    struct pt_free_list kept_tables;
};

extern struct mm init_mm;
void init_mm_setup(void);       /* record the kernel page tables in init_mm */

/* A new empty address space (users = count = 1), or NULL when out of memory. */
struct mm *mm_create(void);
void mmget(struct mm *mm);
void mmput(struct mm *mm);      /* the last one tears the mappings down, then mmdrop */
void mmgrab(struct mm *mm);
void mmdrop(struct mm *mm);     /* the last one frees the PML4 and the struct */
/* Address spaces alive (struct not yet freed), for leak checks. */
unsigned mm_live_count(void);

/* Map anonymous zero-filled memory [addr, addr+len) (page aligned) with prot.
 * Fails with -SD_EEXIST if it overlaps a VMA, -SD_EINVAL on bad arguments,
 * -SD_ENOMEM.  Pages are allocated on first touch (demand-zero). */
int mm_map_anon(struct mm *mm, uintptr_t addr, size_t len, unsigned prot);
/* The same, shared: [addr, addr+len) maps shm's pages from page pgoff on
 * (the VMA takes its own reference on shm).  Pages come from the object on
 * first touch; fork shares them (kernel/shm.h). */
int mm_map_shm(struct mm *mm, uintptr_t addr, size_t len, unsigned prot, struct shm *shm,
               size_t pgoff);
/* A free range of len bytes at or after hint (SD_USER_MMAP_BASE if 0), or 0. */
uintptr_t mm_find_free(struct mm *mm, uintptr_t hint, size_t len);
/* munmap / mprotect semantics: partial overlaps split VMAs; TLBs are flushed
 * on every CPU that may hold the old translations before this returns. */
int mm_unmap(struct mm *mm, uintptr_t addr, size_t len);
int mm_protect(struct mm *mm, uintptr_t addr, size_t len, unsigned prot);
/* Copy into the address space, allocating pages as needed, ignoring the
 * VMA protections (the ELF loader and stack set-up use it; the mm need not
 * be loaded on this CPU). */
int mm_write(struct mm *mm, uintptr_t uaddr, const void *src, size_t len);
/*
 * A page fault at addr in mm.  write/exec/user describe the access.
 * Returns 0 when the fault was resolved (demand-zero page, copy-on-write
 * copy) and the access can be retried, -SD_EFAULT when the access is not
 * allowed (no VMA, protection) - the caller then kills the process or runs
 * the exception-table fixup.
 */
int mm_handle_fault(struct mm *mm, uintptr_t addr, bool write, bool exec, bool user);
/* A copy-on-write copy of parent for fork (the parent's writable pages are
 * write-protected in both and flushed on every CPU running the parent). */
struct mm *mm_fork(struct mm *parent);
/* mm_fork for a fork system call of the thread whose user stack pointer is
 * user_sp (0: none): when the parent has no other thread, the page of the
 * stack pointer's next push is copied for the child at once instead of
 * shared (kernel/mm/fork.c, fork_copy_now). */
struct mm *mm_fork_thread(struct mm *parent, uintptr_t user_sp);

/* Why a flush is made: the change to the page tables it makes visible.
 * Only the TLB trace reads it ("flush ... cause=munmap", docs/tlb.md); the
 * protocol treats every cause alike. */
enum tlb_flush_cause {
    TLB_CAUSE_MUNMAP,           /* munmap removed mappings (kernel/mm/vma.c) */
    TLB_CAUSE_MPROTECT,         /* mprotect changed rights (vma.c) */
    TLB_CAUSE_COW,              /* a write fault replaced a shared page by its copy (fault.c) */
    TLB_CAUSE_FORK,             /* fork write-protected the parent's pages (fork.c) */
    TLB_CAUSE_TEARDOWN,         /* the last user is gone: exit, or a failed fork (mm.c) */
    TLB_CAUSE_TEST,             /* a test flushed on purpose (tests/) */
    TLB_CAUSE_NR
};

/*
 * The one flush interface for user address spaces: after a page-table change
 * in [start, end) of mm (end <= start: the whole mm), make every CPU drop old
 * translations before it returns.  freed_tables: page-table pages were
 * unlinked and will be freed (lazy users must stop using them too).  Bumps
 * tlb_gen and IPIs the CPUs running mm non-lazily (arch/x86_64/mm/tlb.c,
 * docs/tlb.md).  `cause` says why, for the trace.
 */
void flush_tlb_mm_range(struct mm *mm, uintptr_t start, uintptr_t end, bool freed_tables,
                        enum tlb_flush_cause cause);

/* Counters for tests and docs. */
struct mm_stats {
    _Atomic uint64_t demand_zero_faults;
    _Atomic uint64_t cow_copies;        /* pages copied on a write after fork */
    _Atomic uint64_t cow_reuses;        /* write faults on a page no longer shared: no copy */
    _Atomic uint64_t fork_copies;       /* pages fork copied at once (the forking thread's stack) */
    _Atomic uint64_t cow_copy_raced;    /* copies made for a break another thread won first: freed unused */
    _Atomic uint64_t shared_faults;     /* first touches in an mm of a shared object's page */
};
extern struct mm_stats mm_stats;
