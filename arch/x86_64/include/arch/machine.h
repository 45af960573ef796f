/* arch/machine.h - ending the machine. */
#pragma once
#include <kernel/compiler.h>

/*
 * End the virtual machine with a status the host can read: under QEMU via the
 * isa-debug-exit device (QEMU exits with (code << 1) | 1), under Bochs via
 * its shutdown port.  On real hardware (or without those devices) the CPU
 * halts with interrupts off.
 */
__noreturn void arch_machine_exit(int code);
#define EXIT_TESTS_PASSED 0x10   /* QEMU exit status 33 */
#define EXIT_TESTS_FAILED 0x11   /* QEMU exit status 35 */
#define EXIT_PANIC        0x12   /* QEMU exit status 37 */
#define EXIT_RUN_ENDED    0x13   /* QEMU exit status 39: run= ended, its status is in the log (kernel/proc/run.c) */
