/* kernel/mm/kstack.c - PLACEHOLDER: stacks from the page allocator, no guard
 * page; replaced by the kernel virtual area. */
#include <kernel/kstack.h>
#include <kernel/page_alloc.h>
uintptr_t kstack_alloc(void)
{
    phys_addr_t pa = page_alloc(2);
    return pa ? (uintptr_t)phys_to_virt(pa) + KSTACK_SIZE : 0;
}
void kstack_free(uintptr_t top) { page_free(virt_to_phys((void *)(top - KSTACK_SIZE)), 2); }
