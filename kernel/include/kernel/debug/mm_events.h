/*
 * kernel/include/kernel/debug/mm_events.h - test hooks inside the page-fault
 * code (kernel/mm/fault.c).  NULL outside the tests that set them; each
 * costs one predictable branch.
 */
#pragma once
#include <stdint.h>
#include <kernel/compiler.h>

/*
 * A copy-on-write break has allocated its copy without the page-table lock
 * (kernel/mm/fault.c allocates before taking it) and is about to take the
 * lock and test the entry it read unlocked: another thread may have broken
 * the page meanwhile.  tests/test_mm_concurrent.c holds a faulter here until
 * another one has mapped its copy, so that the second test must see it.
 */
extern void (*cow_copy_allocated_test_hook)(uintptr_t va);

static inline void mm_ev_cow_copy_allocated(uintptr_t va)
{
    void (*hook)(uintptr_t) = READ_ONCE(cow_copy_allocated_test_hook);
    if (__builtin_expect(hook != NULL, 0))
        hook(va);
}
