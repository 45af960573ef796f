/*
 * arch/x86/smp.h - x86-64 private: the table that names CPUs in hardware.
 *
 * smp_apic_ids[cpu] is the APIC id of dense CPU id cpu (index 0: the boot
 * CPU), for the smp_nr_cpus_listed CPUs ACPI lists.  It is the only such
 * table: arch_send_ipi(), arch_send_nmi() and arch_cpu_hwid() read it, the
 * AP trampoline (trampoline.asm) searches it to find its own dense id.
 * Filled once by arch_smp_prepare() before any AP starts; read-only after.
 */
#pragma once
#include <stdint.h>
#include <kernel/config.h>

extern uint32_t smp_apic_ids[MAX_CPUS];
