/*
 * arch/apic.h - the local APIC (xAPIC through MMIO, or x2APIC through MSRs)
 * and inter-processor interrupts.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>

void lapic_init_bsp(void);      /* map, enable, choose xAPIC or x2APIC mode */
void lapic_init_ap(void);       /* enable on an AP, same mode as the BSP */
void lapic_eoi(void);
uint32_t lapic_id(void);        /* this CPU's APIC id */
bool lapic_x2apic_mode(void);

/* Send a fixed IPI with vector v to one CPU (by APIC id), or an NMI. */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi(uint32_t apic_id);
/* NMI to every CPU but this one (panic uses it). */
void lapic_send_nmi_all_but_self(void);
/* INIT and STARTUP IPIs for bringing up an AP (arch/x86_64/smp/). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t page);

/* The periodic LAPIC timer: calibrate once on the BSP, start on every CPU. */
void lapic_timer_calibrate(void);
void lapic_timer_start(unsigned hz);
