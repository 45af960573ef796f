/* arch/x86_64/apic/lapic.c - PLACEHOLDER until the APIC driver lands. */
#include <arch/apic.h>
void lapic_eoi(void) {}
uint32_t lapic_id(void) { return 0; }
bool lapic_x2apic_mode(void) { return false; }
void lapic_send_nmi_all_but_self(void) {}
