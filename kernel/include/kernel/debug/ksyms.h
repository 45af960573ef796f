/* kernel/debug/ksyms.h - the kernel's own symbol table, for backtraces.
 * Generated at build time by tools/gen-ksyms.sh (see the Makefile). */
#pragma once
#include <stdint.h>

struct ksym {
    unsigned long addr;
    const char *name;
};

extern const struct ksym ksyms_table[];
extern const unsigned long ksyms_count;

/* Name of the function containing addr and the offset into it, or NULL. */
const char *ksym_lookup(uintptr_t addr, uintptr_t *offset);
