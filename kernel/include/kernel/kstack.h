/*
 * kernel/kstack.h - kernel stacks.
 *
 * Each stack is KSTACK_SIZE bytes in the kernel virtual area with an unmapped
 * guard page below it, so an overflow faults (and is reported) instead of
 * silently overwriting a neighbour.  kstack_alloc() returns the stack's top
 * (the initial RSP); 0 on failure.
 */
#pragma once
#include <stdint.h>

#define KSTACK_SIZE (16 * 1024)

uintptr_t kstack_alloc(void);
void kstack_free(uintptr_t top);

/* Freed stacks kept mapped for reuse (no TLB flush on free or reuse). */
#define KSTACK_CACHE_MAX 64
/* Unmap and free every cached stack (one TLB flush per batch).  The tests'
 * leak check calls it so that cached stacks do not count as leaked frames. */
void kstack_cache_drain(void);
