/* arch/x86_64/machine.c - ending the machine (see arch/machine.h). */
#include <arch/machine.h>
#include <arch/x86/x86.h>

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT  0x8900

__noreturn void arch_machine_exit(int code)
{
    outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)code);
    /* Not QEMU (or no isa-debug-exit device): try Bochs. */
    for (const char *s = "Shutdown"; *s; s++)
        outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
    arch_irq_disable();
    for (;;)
        arch_halt();
}
