/*
 * kernel/debug/mm_events.c - the test hooks of the page-fault code
 * (kernel/include/kernel/debug/mm_events.h).
 */
#include <kernel/debug/mm_events.h>

void (*cow_copy_allocated_test_hook)(uintptr_t va);
