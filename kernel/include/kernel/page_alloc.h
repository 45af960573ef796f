/*
 * kernel/page_alloc.h - physical page frames (the buddy allocator).
 *
 * Frames are named by physical address; reach their contents through the
 * direct map (phys_to_virt).  A block of order k is 2^k contiguous frames,
 * aligned to its size.  Physical address 0 is never handed out, so 0 means
 * failure.
 */
#pragma once
#include <arch/memlayout.h>
#include <stddef.h>

#define PAGE_ORDER_MAX 10       /* largest block: 2^10 frames = 4 MiB */

struct boot_info;

void page_alloc_init(const struct boot_info *bi);
phys_addr_t page_alloc(unsigned order);
phys_addr_t page_alloc_zeroed(unsigned order);
void page_free(phys_addr_t pa, unsigned order);
/* Frames currently free, over all orders. */
size_t page_free_frames(void);
/* Free blocks of each order, for statistics and tests. */
size_t page_free_blocks(unsigned order);
void page_alloc_print_stats(void);
