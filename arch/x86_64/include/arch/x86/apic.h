/*
 * arch/x86/apic.h - the local APIC (xAPIC through MMIO, or x2APIC through MSRs)
 * and inter-processor interrupts.
 *
 * Mode: the boot CPU chooses once (lapic_init_bsp): x2APIC when CPUID offers
 * it (and the command line does not say x2apic=0), xAPIC otherwise; every AP
 * then uses the same mode.  Destinations are physical APIC ids in both modes.
 *
 * The send functions may be called with interrupts on or off, from any CPU
 * that has run lapic_init_*.  They are not for NMI context, except
 * lapic_send_nmi_all_but_self(), which panic uses.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>

void lapic_init_bsp(void);      /* map, enable, choose xAPIC or x2APIC mode */
void lapic_init_ap(void);       /* enable on an AP, same mode as the BSP */
void lapic_eoi(void);
uint32_t lapic_id(void);        /* this CPU's APIC id */
bool lapic_x2apic_mode(void);
/* The largest APIC id an IPI can name in the current mode (0xfe for xAPIC). */
uint32_t lapic_max_apic_id(void);

/* Send a fixed IPI with vector v to one CPU (by APIC id), or an NMI. */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi(uint32_t apic_id);
/* NMI to every CPU but this one (panic uses it). */
void lapic_send_nmi_all_but_self(void);
/* INIT and STARTUP IPIs for bringing up an AP (arch/x86_64/smp/). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t page);

/* The periodic LAPIC timer (arch/x86_64/apic/lapic_timer.c) is the tick:
 * arch_timer_calibrate() and arch_timer_start() in arch/timer.h. */
/* Timer counts per millisecond (after the divider), 0 before calibration. */
extern uint32_t lapic_timer_khz;

/* Register access for the timer code (offsets are the xAPIC MMIO offsets;
 * in x2APIC mode they become MSR 0x800 + offset / 16). */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);

/* Register offsets (Intel SDM vol. 3, table 11-1). */
#define LAPIC_ID            0x020
#define LAPIC_VERSION       0x030
#define LAPIC_TPR           0x080
#define LAPIC_EOI           0x0b0
#define LAPIC_SVR           0x0f0
#define LAPIC_ESR           0x280
#define LAPIC_ICR_LO        0x300
#define LAPIC_ICR_HI        0x310
#define LAPIC_LVT_TIMER     0x320
#define LAPIC_LVT_LINT0     0x350
#define LAPIC_LVT_LINT1     0x360
#define LAPIC_LVT_ERROR     0x370
#define LAPIC_TIMER_INIT    0x380
#define LAPIC_TIMER_CUR     0x390
#define LAPIC_TIMER_DIV     0x3e0

#define LAPIC_LVT_MASKED    (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
