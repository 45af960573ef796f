/*
 * kernel/mm/pt_free.h - freeing unhooked page tables once nothing can
 * reach them (kernel/mm/pt_free.c).  Internal to kernel/mm/.
 */
#pragma once
#include <kernel/mm.h>
#include <arch/paging.h>

/* Called by mmu_gather_flush() after the flush with freed_tables that
 * covers `tables` returned: free them now (pt_free=ipi) or after a grace
 * period (pt_free=rcu).  `tables` is empty afterwards. */
void pt_free_tables(struct mm *mm, struct pt_free_list *tables);
