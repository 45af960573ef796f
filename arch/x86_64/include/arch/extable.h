/*
 * arch/extable.h - surviving expected faults.
 *
 * Two mechanisms:
 *
 * 1. The exception table: an instruction that may fault (a read of a user
 *    pointer, a probe) is listed with a fixup address.  When it faults, the
 *    exception handler finds its RIP in the table and resumes at the fixup
 *    instead of panicking.  Inline assembly adds entries with EXTABLE_ENTRY.
 *
 * 2. run_expecting_fault(): for tests.  It runs fn(arg); if fn (or anything
 *    it calls) raises an exception that would otherwise panic, execution
 *    resumes in run_expecting_fault, which returns true and fills *report.
 *    It returns false if fn returned normally.  Only the calling CPU is
 *    affected; it must not be nested.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>

struct extable_entry {
    int32_t insn;       /* offset of the faulting instruction, relative to this field */
    int32_t fixup;      /* offset of where to continue, relative to this field */
};

/* Every entry, gathered by the linker from section .extable (linker.ld). */
extern const struct extable_entry __extable_start[], __extable_end[];

#define EXTABLE_ENTRY(insn_label, fixup_label)                      \
    ".pushsection .extable, \"a\"\n\t"                              \
    ".balign 4\n\t"                                                 \
    ".long " #insn_label " - .\n\t"                                 \
    ".long " #fixup_label " - .\n\t"                                \
    ".popsection\n\t"

/* The fixup for a faulting RIP, or 0. */
uintptr_t extable_find_fixup(uintptr_t rip);

struct fault_report {
    unsigned vector;
    uint64_t error_code;
    uintptr_t rip;
    uintptr_t cr2;          /* for #PF */
};

bool run_expecting_fault(void (*fn)(void *), void *arg, struct fault_report *report);

/* Read 8 bytes at addr; returns false (and no panic) if the read faults. */
bool probe_read_u64(const void *addr, uint64_t *out);
/* Write 8 bytes at addr; returns false if the write faults. */
bool probe_write_u64(void *addr, uint64_t v);
