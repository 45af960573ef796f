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

/*
 * The asm text of one instruction that may fault, with its fixup written
 * once for every user:
 *
 *   EXTABLE_TRY_LOAD("movq (%[a]), %[val]")   a load into the operand [val]
 *   EXTABLE_TRY("movq %[v], (%[a])")           anything else (a store)
 *
 * Without a fault the instruction runs and nothing else does.  On a fault the
 * handler resumes at the fixup (kept out of line in .text.fixup), which sets
 * the operand [failed] to 1 - for a load also zeroes [val], so no stale
 * register value escapes - and continues after the instruction.  The caller
 * declares [failed] "+r" on an int that starts at 0.
 */
#define EXTABLE_TRY_LOAD(insn)  __EXTABLE_TRY(insn, "   xorl %k[val], %k[val]\n")
#define EXTABLE_TRY(insn)       __EXTABLE_TRY(insn, "")
#define __EXTABLE_TRY(insn, zero_output)                            \
    "1: " insn "\n"                                                 \
    "2:\n"                                                          \
    ".pushsection .text.fixup, \"ax\"\n"                           \
    "3: movl $1, %[failed]\n"                                       \
    zero_output                                                     \
    "   jmp 2b\n"                                                   \
    ".popsection\n"                                                 \
    EXTABLE_ENTRY(1b, 3b)

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
