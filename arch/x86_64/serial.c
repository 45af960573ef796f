/*
 * arch/x86_64/serial.c - COM1 (16550 UART) output and input, polled.
 *
 * Before each byte we wait until the transmit holding register is empty
 * (line status bit 5).  QEMU never makes us wait, but real UARTs and Bochs
 * model the transmit time and drop bytes written too early.  Input is
 * read only when asked (line status bit 0: a byte is waiting); the UART's
 * interrupts stay off.
 */
#include <arch/console.h>
#include <arch/x86/serial.h>
#include <arch/x86/x86.h>

#define COM1        0x3f8
#define REG_DATA    0
#define REG_IER     1
#define REG_FCR     2
#define REG_LCR     3
#define REG_MCR     4
#define REG_LSR     5
#define LSR_DR      0x01
#define LSR_THRE    0x20

void serial_init(void)
{
    outb(COM1 + REG_IER, 0x00);     /* no interrupts */
    outb(COM1 + REG_LCR, 0x80);     /* DLAB on: set the divisor */
    outb(COM1 + REG_DATA, 0x01);    /* 115200 baud */
    outb(COM1 + REG_IER, 0x00);
    outb(COM1 + REG_LCR, 0x03);     /* 8 bits, no parity, one stop bit */
    outb(COM1 + REG_FCR, 0xc7);     /* FIFOs on and cleared */
    outb(COM1 + REG_MCR, 0x03);     /* DTR, RTS */
}

void arch_console_putc(char c)
{
    /* Bounded: a missing UART reads 0xff (THRE set), so this cannot hang. */
    for (int i = 0; i < 1000000 && !(inb(COM1 + REG_LSR) & LSR_THRE); i++)
        arch_cpu_relax();
    outb(COM1 + REG_DATA, (uint8_t)c);
}

int arch_console_getc(void)
{
    uint8_t lsr = inb(COM1 + REG_LSR);
    /* A missing UART reads 0xff: "data ready" would never end. */
    if (lsr == 0xff || !(lsr & LSR_DR))
        return -1;
    return inb(COM1 + REG_DATA);
}
