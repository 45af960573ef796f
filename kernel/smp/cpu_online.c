/*
 * kernel/smp/cpu_online.c - which CPUs are online, and the generic side of bringing
 * them up (the x86 side is arch/x86_64/smp/smpboot.c).
 */
#include <kernel/smp.h>
#include <kernel/boot_options.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>
#include <arch/smp.h>

/* Written only while CPUs come online (each AP sets its own bit with an
 * atomic RMW), read freely afterwards.  The BSP's acquire in the boot
 * handshake makes an AP's bit visible before smp_boot_aps() returns. */
struct cpumask cpu_online_mask;
unsigned int nr_cpus_online;

static unsigned expect_cpus;
CMDLINE_UINT(expect_cpus, expect_cpus, 0, MAX_CPUS,
             "number of CPUs the machine has (tests check it; 0: unknown)");

unsigned smp_expected_cpus(void) { return expect_cpus; }

void smp_mark_online(unsigned cpu)
{
    if (cpumask_test_and_set_cpu_atomic(&cpu_online_mask, cpu))
        panic("smp: cpu%u came online twice", cpu);
    __atomic_fetch_add(&nr_cpus_online, 1, __ATOMIC_SEQ_CST);
    printk("cpu%u online (" ARCH_CPU_HWID_NAME " %u)\n", cpu, arch_cpu_hwid(cpu));
}

void smp_init(void)
{
    arch_ipi_init();            /* cross-CPU calls, reschedule */
    arch_smp_prepare();
    smp_mark_online(0);
}

void smp_boot_aps(void)
{
    arch_smp_boot_aps();
    printk("smp: %u CPU(s) online of %u listed\n", nr_cpus_online, smp_nr_cpus_listed);
    if (expect_cpus && expect_cpus != nr_cpus_online)
        printk("warning: smp: expect_cpus=%u but %u CPU(s) are online\n", expect_cpus, nr_cpus_online);
}

void smp_send_nmi(unsigned cpu)
{
    arch_send_nmi(cpu);
}
