/*
 * arch/init.h - the architecture's steps in kmain() (kernel/boot/main.c), in
 * the order kmain calls them.  Each may use only what the steps before it
 * set up.
 *
 *   arch_early_init()      the console, so that printk works; nothing else
 *                          exists yet (per-CPU data only).
 *   arch_init()            the boot CPU itself: detect and turn on its
 *                          features, load its descriptor tables and trap
 *                          vectors, prepare entry from user mode.  Before
 *                          the command line is applied and before any memory
 *                          allocator exists.
 *   arch_clock_init()      (arch/timer.h) ktime_ns() and udelay().
 *   paging_init()          (arch/paging.h) the kernel's page tables.
 *   arch_interrupts_init() the interrupt controllers: external interrupts
 *                          come from the local APIC only.  After the memory
 *                          allocators (it maps the APIC) and ACPI.
 */
#pragma once

void arch_early_init(void);
void arch_init(void);
void arch_interrupts_init(void);
