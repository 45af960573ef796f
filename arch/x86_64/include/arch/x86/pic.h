/*
 * arch/x86/pic.h - the legacy 8259 interrupt controller pair.
 *
 * Shootdown takes its interrupts from the local APIC only.  The PICs are
 * still reprogrammed so that, should one raise an interrupt anyway (a
 * spurious IRQ 7 or 15 is possible even when masked), it arrives on vectors
 * 0x20..0x2f instead of on the CPU exception vectors 8..15.
 */
#pragma once

/* Remap the master to PIC_VECTOR_BASE, the slave to PIC_VECTOR_BASE + 8,
 * and mask every line. */
void pic_remap_and_mask(void);
