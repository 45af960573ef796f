/*
 * arch/kva.h - how the kernel virtual area (KVA_BASE, 1 TiB, arch/memlayout.h)
 * is divided.
 *
 *   KVA_STACKS_BASE   kernel stacks: KVA_STACK_SLOTS slots of KVA_STACK_SLOT
 *                     bytes; a stack fills the top KSTACK_SIZE of its slot
 *                     and the rest below it is never mapped (the guard), so
 *                     running off the bottom of a stack faults
 *                     (kernel/mm/kstack.c)
 *   KVA_IOREMAP_BASE  device registers mapped uncached, handed out upwards
 *                     and never reused (arch/x86_64/mm/ioremap.c)
 *
 * Each region starts on its own PML4 entry's worth of address space
 * (512 GiB), so their page tables never share a PDPT entry.
 */
#pragma once
#include <arch/memlayout.h>
#include <stdbool.h>

#define KVA_STACKS_BASE     KVA_BASE
#define KVA_STACK_SLOT      (32ul * 1024)
#define KVA_STACK_SLOTS     16384u                          /* 512 MiB of address space */
#define KVA_IOREMAP_BASE    (KVA_BASE + (512ul << 30))
#define KVA_IOREMAP_SIZE    (512ul << 30)

/* Boot (paging_init): prepare the ioremap window's first page tables. */
void kva_init(void);
/* True once paging_init() has switched to the kernel's page tables. */
bool paging_initialized(void);
