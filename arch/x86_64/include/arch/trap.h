/*
 * arch/trap.h - the register frame of an interrupt or exception, and how
 * handlers are registered.
 *
 * Every one of the 256 IDT vectors enters through a stub in
 * arch/x86_64/isr.asm that pushes a (possibly dummy) error code and the vector
 * number, saves the general registers and calls trap_dispatch(tf).
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

struct trap_frame {
    /* saved by isr.asm, in this order (lowest address first) */
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;    /* 0 for vectors without one */
    /* pushed by the CPU */
    uint64_t rip, cs, rflags, rsp, ss;
};

/* The assembly entry paths use these offsets (arch/x86_64/trap_frame.inc). */
_Static_assert(__builtin_offsetof(struct trap_frame, r11) == 4 * 8, "trap_frame.inc TF_R11");
_Static_assert(__builtin_offsetof(struct trap_frame, rax) == 14 * 8, "trap_frame.inc TF_RAX");
_Static_assert(__builtin_offsetof(struct trap_frame, vector) == 15 * 8, "trap_frame.inc TF_VECTOR");
_Static_assert(__builtin_offsetof(struct trap_frame, rip) == 17 * 8, "trap_frame.inc TF_RIP");
_Static_assert(__builtin_offsetof(struct trap_frame, ss) == 21 * 8, "trap_frame.inc TF_SS");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap_frame.inc TF_SIZE");

typedef void (*trap_handler_t)(struct trap_frame *tf);

/* Exception vectors (Intel SDM vol. 3, table 6-1). */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
    EXC_VE = 20, EXC_CP = 21,
};

/*
 * Interrupt vectors.  32..47 are where the legacy PIC is remapped (and
 * masked); the local APIC's sources and the IPIs sit at the top, where the
 * APIC's priority scheme ranks them highest.
 */
#define PIC_VECTOR_BASE         0x20
#define IRQ_VECTOR_TIMER        0xf0    /* LAPIC timer tick */
#define IPI_VECTOR_CALL_FUNC    0xf1    /* cross-CPU function calls (kernel/smp/smp_call.c) */
#define IPI_VECTOR_RESCHEDULE   0xf2    /* kick a CPU's scheduler */
#define IPI_VECTOR_TEST         0xf3    /* used by tests only */
#define IRQ_VECTOR_APIC_ERROR   0xfe
#define IRQ_VECTOR_SPURIOUS     0xff

void idt_init(void);            /* build the IDT (boot CPU, once) */
void idt_load(void);            /* lidt on this CPU */
/* How many CPUs have loaded the IDT, i.e. can take an NMI (panic waits for
 * that many minus itself to stop). */
unsigned idt_cpus_loaded(void);
/* Install the handler for an interrupt vector (>= 32).  Registering twice
 * for one vector is a bug and panics. */
void trap_register(unsigned vector, trap_handler_t fn);
void trap_dispatch(struct trap_frame *tf);
/* Is this CPU inside an interrupt handler (a vector of 32 and up, run by
 * trap_dispatch)?  For tests that count what a task's own code does and
 * must leave out what the tick or an IPI does on its CPU meanwhile. */
bool arch_in_interrupt(void);
/* Exceptions (vectors 0..31) go here: see arch/x86_64/exception.c. */
void exception_handle(struct trap_frame *tf);
/* An expected fault (exception table entry, or run_expecting_fault() armed
 * on this CPU): redirect the frame and return true (arch/x86_64/extable.c). */
bool exception_try_fixup(struct trap_frame *tf);

/* "#PF", "#GP"... for vectors 0..31 (arch/x86_64/exception.c). */
const char *exception_mnemonic(unsigned vector);
/* The error code of `vector` in words: the #PF bits (present, write, user,
 * reserved-bit, instruction-fetch, protection-key, shadow-stack), the
 * selector of #TS/#NP/#SS/#GP, the cause of #CP. */
void exception_decode_error(char *buf, size_t size, unsigned vector, uint64_t err);
/* Print the registers of tf and a backtrace from it.  exception: tf is a
 * real trap (print the decoded error code and CR2; RIP is the faulting
 * instruction); otherwise registers captured at a call to panic(). */
void trap_frame_report(const struct trap_frame *tf, bool exception);
/* The registers panic() recorded at its call on this cpu
 * (arch/x86_64/panic_entry.asm, arch/x86_64/panic_regs.c), or NULL when it
 * could not record them (the per-CPU area was not set up yet). */
const struct trap_frame *arch_panic_regs(unsigned cpu);
