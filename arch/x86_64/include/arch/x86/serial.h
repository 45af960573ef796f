/* arch/x86/serial.h - the COM1 UART, polled (no interrupts). */
#pragma once
void serial_init(void);
