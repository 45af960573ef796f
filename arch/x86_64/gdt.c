/*
 * arch/x86_64/gdt.c - per-CPU GDT and TSS.
 *
 * Each CPU has its own GDT because the TSS descriptor's busy bit is set by
 * ltr: two CPUs cannot load the same TSS.  Both tables and the IST stacks
 * are per-CPU variables (kernel/percpu.h).
 */
#include <arch/x86/gdt.h>
#include <kernel/percpu.h>
#include <lib/string.h>

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __packed;

struct cpu_tables {
    uint64_t gdt[7];
    struct tss tss __aligned(16);
    uint8_t ist_stacks[3][IST_STACK_SIZE] __aligned(16);
};

static DEFINE_PER_CPU(struct cpu_tables, cpu_tables);

void gdt_init_this_cpu(void)
{
    struct cpu_tables *t = this_cpu_ptr(&cpu_tables);

    memset(&t->tss, 0, sizeof(t->tss));
    for (int i = 0; i < 3; i++)
        t->tss.ist[i] = (uint64_t)&t->ist_stacks[i][IST_STACK_SIZE];
    t->tss.iomap_base = sizeof(struct tss);   /* no I/O permission bitmap */

    uint64_t base = (uint64_t)&t->tss;
    uint64_t limit = sizeof(struct tss) - 1;
    t->gdt[0] = 0;
    t->gdt[1] = 0x00209a0000000000ull;     /* kernel code: P, DPL0, L */
    t->gdt[2] = 0x0000920000000000ull;     /* kernel data: P, DPL0, W */
    t->gdt[3] = 0x0000f20000000000ull;     /* user data:   P, DPL3, W */
    t->gdt[4] = 0x0020fa0000000000ull;     /* user code:   P, DPL3, L */
    t->gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    t->gdt[6] = base >> 32;

    struct {
        uint16_t limit;
        uint64_t base;
    } __packed desc = { sizeof(t->gdt) - 1, (uint64_t)t->gdt };

    /*
     * Reload CS through a far return and the data segments directly.  FS and
     * GS are left alone: loading a selector into them would clear the
     * per-CPU GS base that percpu_load() (arch_percpu_init) put in MSR_GS_BASE.
     */
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w2, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "movw %w3, %%ax\n\t"
        "ltr %%ax\n\t"
        :
        : "m"(desc), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA), "i"(GDT_TSS)
        : "rax", "memory");
}

void tss_set_rsp0(uint64_t rsp0)
{
    this_cpu_ptr(&cpu_tables)->tss.rsp[0] = rsp0;
}

void ist_stack_bounds(unsigned ist, uintptr_t *lo, uintptr_t *hi)
{
    struct cpu_tables *t = this_cpu_ptr(&cpu_tables);
    *lo = (uintptr_t)&t->ist_stacks[ist - 1][0];
    *hi = *lo + IST_STACK_SIZE;
}
