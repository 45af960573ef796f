/*
 * kernel/mm.h - address spaces.
 *
 * For now only the kernel's own address space exists: init_mm, whose page
 * tables map the kernel half (and nothing below it).  Kernel threads have no
 * mm of their own (task->mm == NULL) and run on whatever address space the
 * CPU has loaded (task->active_mm); user address spaces come with processes.
 */
#pragma once
#include <kernel/compiler.h>
#include <arch/memlayout.h>

struct mm {
    phys_addr_t pgd;            /* physical address of the top-level page table */
    const char *name;
};

extern struct mm init_mm;
void init_mm_setup(void);       /* record the kernel page tables in init_mm */
