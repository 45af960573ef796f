/* kernel/mm/page_alloc.c - PLACEHOLDER: a bump allocator from a static pool,
 * replaced by the buddy allocator. */
#include <kernel/page_alloc.h>
#include <lib/string.h>
#include <kernel/compiler.h>

static uint8_t pool[8 << 20] __aligned(4096);
static size_t used;

void page_alloc_init(const struct boot_info *bi) { (void)bi; }

phys_addr_t page_alloc(unsigned order)
{
    size_t sz = PAGE_SIZE << order;
    used = ALIGN_UP(used, sz);
    if (used + sz > sizeof(pool))
        return 0;
    phys_addr_t pa = virt_to_phys(pool + used);
    used += sz;
    return pa;
}

phys_addr_t page_alloc_zeroed(unsigned order)
{
    phys_addr_t pa = page_alloc(order);
    if (pa)
        memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
    return pa;
}

void page_free(phys_addr_t pa, unsigned order) { (void)pa; (void)order; }
size_t page_free_frames(void) { return (sizeof(pool) - used) / PAGE_SIZE; }
size_t page_free_blocks(unsigned order) { (void)order; return 0; }
void page_alloc_print_stats(void) {}
