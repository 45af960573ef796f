/*
 * arch/memlayout.h - the kernel's virtual address space on x86-64.
 *
 *   0x0000000000000000 .. 0x00007fffffffffff   user half (per mm)
 *   0xffff800000000000 .. +64 TiB              direct map of all physical RAM
 *   0xffffc00000000000 .. +1 TiB               kernel virtual area (stacks with
 *                                              guard pages, MMIO mappings)
 *   0xffffffff80000000 .. top                  kernel image (-mcmodel=kernel)
 *
 * The upper half (PML4 entries 256..511) is the same in every address space.
 */
#pragma once
#include <stdint.h>

#define PAGE_SHIFT      12
#define PAGE_SIZE       4096ul
#define PAGE_MASK       (~(PAGE_SIZE - 1))
#define LARGE_PAGE_SIZE (2ul << 20)
#define HUGE_PAGE_SIZE  (1ul << 30)

#define KERNEL_PHYS     0x200000ul
#define KERNEL_VMA      0xffffffff80000000ul
#define DIRECT_MAP_BASE 0xffff800000000000ul
#define DIRECT_MAP_SIZE (64ul << 40)
#define KVA_BASE        0xffffc00000000000ul
#define KVA_SIZE        (1ul << 40)
#define USER_TOP        0x0000800000000000ul

typedef uint64_t phys_addr_t;

static inline void *phys_to_virt(phys_addr_t pa) { return (void *)(pa + DIRECT_MAP_BASE); }

/* Works for direct-map and kernel-image addresses. */
static inline phys_addr_t virt_to_phys(const void *va)
{
    uintptr_t v = (uintptr_t)va;
    if (v >= KERNEL_VMA)
        return v - KERNEL_VMA;
    return v - DIRECT_MAP_BASE;
}

#define ALIGN_UP(x, a)   (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
