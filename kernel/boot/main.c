/*
 * kernel/boot/main.c - kmain(), the boot CPU's first C function.
 *
 * boot/multiboot2.asm calls it in 64-bit mode on the early page tables, with
 * the multiboot2 magic and the physical address of the boot information.
 * The order below matters: each step may use only what the steps before it
 * set up.
 */
#include <kernel/acpi.h>
#include <kernel/bootinfo.h>
#include <kernel/boot_options.h>
#include <kernel/kmalloc.h>
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>
#include <kernel/rcu.h>
#include <kernel/pt_walk.h>
#include <kernel/smp.h>
#include <kernel/tick.h>
#include <kernel/time.h>
#include <kernel/syscall.h>
#include <arch/cpu.h>
#include <arch/crash.h>
#include <arch/init.h>
#include <arch/memlayout.h>
#include <arch/paging.h>
#include <arch/timer.h>
#include <kernel/sched.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/process.h>
#include <kernel/demo.h>
#include <kernel/ktest.h>
#include <kernel/run.h>

void kmain(uint32_t magic, uint32_t info_phys);

void kmain(uint32_t magic, uint32_t info_phys)
{
    (void)magic;    /* checked by boot/multiboot2.asm */

    percpu_init_bsp();          /* this_cpu_id() works from here on */
    arch_early_init();          /* the console: printk works from here on */
    printk("Shootdown booting\n");

    const char *err;
    if (multiboot2_parse(phys_to_virt(info_phys), 1u << 20, &boot_info, &err))
        panic("multiboot2 boot information is malformed: %s", err);
    boot_info.info_start += info_phys;
    boot_info.info_end += info_phys;
    printk("boot loader: %s\n", boot_info.loader_name[0] ? boot_info.loader_name : "(unnamed)");
    printk("command line: %s\n", boot_info.cmdline);

    arch_init();                /* the CPU: features, descriptor tables, traps, user entry */

    if (cmdline_apply(boot_info.cmdline))
        printk("warning: the command line had errors (see above); their defaults are in force\n");
    spinlock_choose(arch_cpus_are_virtual());   /* before any other CPU takes a lock */

    arch_clock_init();          /* ktime_ns() */
    page_alloc_init(&boot_info);
    paging_init();              /* the kernel's own page tables; adds RAM above 4 GiB */
    kmalloc_init();
    tlbcheck_init();            /* the shadow-TLB checker's frame records (tlbcheck=on) */
    sched_init();               /* this boot context becomes CPU 0's idle task */
    syscall_init();             /* the system-call table */

    acpi_init();                /* the CPU list */
    arch_interrupts_init();     /* interrupts come from the local APIC only */
    smp_init();                 /* CPU 0 online, cross-CPU call IPIs */
    tick_calibrate();
    tick_start_this_cpu();
    smp_boot_aps();
    arch_irq_enable();          /* the boot CPU takes ticks and IPIs from here on */

    crash_if_requested();       /* crash= on the command line: fault on purpose */
    process_init();             /* the reaper of orphaned processes */
    rcu_init();                 /* the grace-period thread (kernel/rcu/rcu.c) */
    pt_free_init();             /* pt_free=: how page tables are freed (kernel/mm/pt_free.c) */

    /* The rest happens in kernel threads: the tests (test=), one program
     * (run=) or the demo. */
    if (ktest_start()) {
        if (run_requested())
            printk("warning: run= ignored: test= runs the tests instead\n");
    } else if (!run_start()) {
        demo_start();
    }
    sched_idle_loop();
}
