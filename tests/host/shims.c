/*
 * tests/host/shims.c - the two things kernel/boot/boot_options.c needs from the rest of
 * the kernel, for the host build:
 *  - vprintk(), where cmdline_apply() sends its messages.  The tests call
 *    cmdline_apply_table() with a report buffer, so nothing should come here;
 *    anything that does is printed and counted as a failure.
 *  - the bounds of the .cmdline_opts section, which the kernel's linker
 *    script defines.  The host program registers no options: both names are
 *    set to the same address, an empty table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <kernel/boot_options.h>
#include "check.h"

void vprintk(const char *fmt, va_list ap);
void vprintk(const char *fmt, va_list ap)
{
    printf("unexpected vprintk: ");
    vprintf(fmt, ap);
    check_at(false, __FILE__, __LINE__, "kernel code printed instead of writing its report");
}

const struct cmdline_option host_no_options[1];
__asm__(".globl __cmdline_opts_start\n.set __cmdline_opts_start, host_no_options\n"
        ".globl __cmdline_opts_end\n.set __cmdline_opts_end, host_no_options\n");
