/* kernel/mm/init_mm.c - the kernel's own address space (see kernel/mm.h). */
#include <kernel/mm.h>
#include <arch/paging.h>

/* init_mm lives forever: its counts start at 1 and nothing drops that one
 * (mmput/mmdrop in mm.c check that they never free it). */
struct mm init_mm = { .name = "init_mm", .mm_users = 1, .mm_count = 1 };

void init_mm_setup(void)
{
    /* Called once the kernel's final page tables are loaded on the boot CPU. */
    init_mm.pgd = arch_loaded_pgd();
    init_mm.pml4 = phys_to_virt(init_mm.pgd);
    rwsem_init(&init_mm.lock, "init_mm.lock");
    list_init(&init_mm.vmas);
}
