/*
 * arch/x86_64/init.c - the x86-64 steps of kmain() (see arch/init.h).
 */
#include <arch/init.h>
#include <arch/x86/apic.h>
#include <arch/x86/cpufeatures.h>
#include <arch/x86/gdt.h>
#include <arch/x86/pic.h>
#include <arch/x86/serial.h>
#include <arch/trap.h>
#include <arch/user.h>

void arch_early_init(void)
{
    serial_init();
}

void arch_init(void)
{
    cpu_features_detect();
    cpu_features_enable_this_cpu();
    gdt_init_this_cpu();
    idt_init();
    idt_load();
    arch_user_init_this_cpu();  /* SYSCALL entry, FPU/SSE for user mode */
}

void arch_interrupts_init(void)
{
    pic_remap_and_mask();       /* interrupts come from the local APIC only */
    lapic_init_bsp();
}
