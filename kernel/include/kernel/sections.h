/*
 * kernel/sections.h - where the kernel image lies: the symbols linker.ld
 * defines at the bounds of its parts.
 *
 * A linker symbol is an address with no storage behind it, so each is
 * declared as an array of char: its name is the address, and there is no
 * variable to read by mistake.  All are virtual addresses in the kernel's
 * high half except the two __kernel_phys_*, which are physical.
 *
 * The tables the linker gathers from DEFINE_* macros (registration sections)
 * are declared with their entry type, in the header of their mechanism:
 *   __ktest_start/_end         tests/ktest_suite.h            (struct ktest_suite)
 *   __extable_start/_end       arch/extable.h           (struct extable_entry)
 *   __cmdline_opts_start/_end  kernel/boot_options.h         (struct cmdline_option)
 *   __syscalls_start/_end      kernel/syscall.h         (struct syscall_entry)
 *   __counters_start/_end      kernel/debug/counters.h  (struct counter_desc)
 */
#pragma once

/* The whole image: its first byte, and just past its last (physical). */
extern char __kernel_phys_start[], __kernel_phys_end[];

/* Each part starts on a page boundary and is mapped with its own
 * permissions (arch/x86_64/mm/kernel_map.c). */
extern char __text_start[], __text_end[];       /* read + execute */
extern char __rodata_start[], __rodata_end[];   /* read only */
extern char __data_start[], __data_end[];       /* read + write */
extern char __bss_start[], __bss_end[];         /* read + write */

/* The template of per-CPU variables, inside .data (kernel/percpu.h). */
extern char __percpu_start[], __percpu_end[];
