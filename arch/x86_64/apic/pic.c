/* arch/x86_64/apic/pic.c - remap and mask the 8259 pair (see arch/x86/pic.h). */
#include <arch/x86/pic.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>

#define PIC1_CMD    0x20
#define PIC1_DATA   0x21
#define PIC2_CMD    0xa0
#define PIC2_DATA   0xa1

#define ICW1_INIT   0x10    /* start the initialization sequence */
#define ICW1_ICW4   0x01    /* an ICW4 follows */
#define ICW4_8086   0x01    /* 8086 mode (not MCS-80) */

void pic_remap_and_mask(void)
{
    /* The four initialization words, with a short delay between writes
     * because old PICs need time to take each one. */
    outb(PIC1_CMD, ICW1_INIT | ICW1_ICW4);  io_delay();
    outb(PIC2_CMD, ICW1_INIT | ICW1_ICW4);  io_delay();
    outb(PIC1_DATA, PIC_VECTOR_BASE);       io_delay();  /* ICW2: vector base */
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);   io_delay();
    outb(PIC1_DATA, 1u << 2);               io_delay();  /* ICW3: slave on IRQ 2 */
    outb(PIC2_DATA, 2);                     io_delay();  /* ICW3: slave's cascade id */
    outb(PIC1_DATA, ICW4_8086);             io_delay();
    outb(PIC2_DATA, ICW4_8086);             io_delay();
    /* Mask every line on both. */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
}
