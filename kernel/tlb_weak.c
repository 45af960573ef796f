/*
 * kernel/tlb_weak.c - MERGE-TIME PLACEHOLDERS, to be deleted when the
 * shadow-TLB checker lands: weak no-op versions of its hooks so that the
 * branches calling them build on their own.
 */
#include <kernel/tlbcheck.h>
#include <arch/tlbcheck.h>

__attribute__((weak)) bool tlbcheck_enabled;
__attribute__((weak)) void tlbcheck_mm_create(struct mm *mm) { (void)mm; }
__attribute__((weak)) void tlbcheck_mm_free(struct mm *mm) { (void)mm; }
__attribute__((weak)) void tlbcheck_pte_change(struct mm *mm, uintptr_t va, uint64_t old, uint64_t new)
{ (void)mm; (void)va; (void)old; (void)new; }
__attribute__((weak)) void tlbcheck_tables_unlinked(struct mm *mm) { (void)mm; }
__attribute__((weak)) void tlbcheck_tables_free(struct mm *mm) { (void)mm; }
__attribute__((weak)) uint64_t tlbcheck_flush_begin(struct mm *mm) { (void)mm; return 0; }
__attribute__((weak)) void tlbcheck_flush_end(struct mm *mm, uint64_t token) { (void)mm; (void)token; }
__attribute__((weak)) void tlbcheck_set_lazy(bool lazy) { (void)lazy; }
__attribute__((weak)) void tlbcheck_borrow(struct mm *mm) { (void)mm; }
__attribute__((weak)) void tlbcheck_user_access(void) {}
__attribute__((weak)) void tlbcheck_cr3_write(struct mm *mm, unsigned pcid, bool noflush)
{ (void)mm; (void)pcid; (void)noflush; }
__attribute__((weak)) void tlbcheck_invlpg(uintptr_t va) { (void)va; }
__attribute__((weak)) void tlbcheck_invpcid(unsigned type, unsigned pcid, uintptr_t va)
{ (void)type; (void)pcid; (void)va; }
__attribute__((weak)) void tlbcheck_flush_everything(void) {}
