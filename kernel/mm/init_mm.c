/* kernel/mm/init_mm.c - the kernel's own address space (see kernel/mm.h). */
#include <kernel/mm.h>
#include <arch/x86.h>

struct mm init_mm = { .name = "init_mm" };

void init_mm_setup(void)
{
    /* Called once the kernel's final page tables are loaded on the boot CPU. */
    init_mm.pgd = read_cr3() & ~0xffful;
}
