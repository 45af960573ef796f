/*
 * arch/x86_64/exception.c - CPU exceptions (vectors 0..31): NMIs go to the
 * NMI handler chain, exceptions from user mode to user_exception()
 * (arch/x86_64/user.c: resolve the page fault or kill the process), expected
 * faults to their fixup, and anything else is a kernel bug that is reported
 * and panics.
 *
 * The report is printed by panic() (kernel/panic.c) through
 * trap_frame_report(), after panic has made sure only this CPU is printing:
 *
 *   KERNEL PANIC on cpu0: unexpected exception #PF (page fault) in crash_pf+0x0
 *   vector 14 #PF, error 0x0 (not-present read kernel)
 *   CR2 ffffbffffffff000 (the address that faulted)
 *   RIP 0008:ffffffff8020cb30 crash_pf+0x0
 *   ... RSP, RFLAGS, all general registers, CR0/CR2/CR3/CR4 ...
 *   Backtrace:
 *     [ffffffff8020cb30] crash_pf+0x0
 *     [ffffffff8020cc45] crash_if_requested+0xa5
 *     ...
 *   ---[ end kernel panic ]---
 *
 * (docs/traps.md shows a whole report.)
 */
#include <arch/backtrace.h>
#include <arch/extable.h>
#include <arch/nmi.h>
#include <arch/trap.h>
#include <arch/user.h>
#include <arch/x86/x86.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <lib/format.h>

static const struct {
    const char *mnemonic;
    const char *description;
} exception_names[32] = {
    [EXC_DE] = { "#DE", "divide error" },
    [EXC_DB] = { "#DB", "debug" },
    [EXC_NMI] = { "NMI", "non-maskable interrupt" },
    [EXC_BP] = { "#BP", "breakpoint" },
    [EXC_OF] = { "#OF", "overflow" },
    [EXC_BR] = { "#BR", "bound range exceeded" },
    [EXC_UD] = { "#UD", "invalid opcode" },
    [EXC_NM] = { "#NM", "device not available" },
    [EXC_DF] = { "#DF", "double fault" },
    [9] = { "#CSO", "coprocessor segment overrun" },
    [EXC_TS] = { "#TS", "invalid TSS" },
    [EXC_NP] = { "#NP", "segment not present" },
    [EXC_SS] = { "#SS", "stack-segment fault" },
    [EXC_GP] = { "#GP", "general protection" },
    [EXC_PF] = { "#PF", "page fault" },
    [EXC_MF] = { "#MF", "x87 floating-point error" },
    [EXC_AC] = { "#AC", "alignment check" },
    [EXC_MC] = { "#MC", "machine check" },
    [EXC_XM] = { "#XM", "SIMD floating-point" },
    [EXC_VE] = { "#VE", "virtualization exception" },
    [EXC_CP] = { "#CP", "control protection" },
    [28] = { "#HV", "hypervisor injection" },
    [29] = { "#VC", "VMM communication" },
    [30] = { "#SX", "security exception" },
};

const char *exception_mnemonic(unsigned vector)
{
    if (vector < 32 && exception_names[vector].mnemonic)
        return exception_names[vector].mnemonic;
    return vector < 32 ? "#reserved" : "interrupt";
}

static const char *exception_description(unsigned vector)
{
    if (vector < 32 && exception_names[vector].description)
        return exception_names[vector].description;
    return "reserved vector";
}

/* Page-fault error code bits (SDM vol. 3, 4.7). */
#define PF_PRESENT  (1u << 0)   /* 0: the page was not present */
#define PF_WRITE    (1u << 1)
#define PF_USER     (1u << 2)   /* the access came from ring 3 */
#define PF_RSVD     (1u << 3)   /* a reserved bit was set in a paging entry */
#define PF_INSTR    (1u << 4)   /* instruction fetch (reported with NX or SMEP on) */
#define PF_PK       (1u << 5)   /* protection key */
#define PF_SS       (1u << 6)   /* shadow-stack access */
#define PF_SGX      (1u << 15)

/* Selector error code (#TS, #NP, #SS, #GP; SDM vol. 3, 6.13). */
#define SEL_EXT     (1u << 0)   /* caused by an event external to the program */
#define SEL_IDT     (1u << 1)   /* the index names an IDT gate */
#define SEL_TI      (1u << 2)   /* ...otherwise: 1 = LDT, 0 = GDT */

void exception_decode_error(char *buf, size_t size, unsigned vector, uint64_t err)
{
    switch (vector) {
    case EXC_PF:
        snprintf(buf, size, "%s %s %s%s%s%s%s",
                 (err & PF_PRESENT) ? "protection" : "not-present",
                 (err & PF_INSTR) ? "instruction-fetch" : (err & PF_WRITE) ? "write" : "read",
                 (err & PF_USER) ? "user" : "kernel",
                 (err & PF_RSVD) ? " reserved-bit" : "",
                 (err & PF_PK) ? " protection-key" : "",
                 (err & PF_SS) ? " shadow-stack" : "",
                 (err & PF_SGX) ? " sgx" : "");
        break;
    case EXC_TS:
    case EXC_NP:
    case EXC_SS:
    case EXC_GP:
        if ((err & 0xffff) == 0) {
            snprintf(buf, size, "no selector%s", (err & SEL_EXT) ? ", external event" : "");
            break;
        }
        snprintf(buf, size, "selector %#lx: %s entry %lu%s", (unsigned long)(err & 0xffff),
                 (err & SEL_IDT) ? "IDT" : (err & SEL_TI) ? "LDT" : "GDT",
                 (unsigned long)((err & 0xffff) >> 3), (err & SEL_EXT) ? ", external event" : "");
        break;
    case EXC_CP: {
        static const char *const cp_causes[] = { "?", "near return", "far return or iret", "endbranch",
                                                 "rstorssp", "setssbsy" };
        unsigned cause = (unsigned)(err & 0x7fff);
        snprintf(buf, size, "%s", cause < ARRAY_SIZE(cp_causes) ? cp_causes[cause] : "?");
        break;
    }
    default:
        snprintf(buf, size, "no details");
        break;
    }
}

static void print_flags(char *buf, size_t size, uint64_t rflags)
{
    static const struct {
        unsigned bit;
        const char *name;
    } flags[] = { { 0, "CF" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" }, { 7, "SF" }, { 8, "TF" },
                  { 9, "IF" }, { 10, "DF" }, { 11, "OF" }, { 16, "RF" }, { 18, "AC" } };
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(flags) && len < size; i++)
        if (rflags & (1ul << flags[i].bit))
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "", flags[i].name);
}

void trap_frame_report(const struct trap_frame *tf, bool exception)
{
    /* CR2 first: nothing below may fault before we have read it. */
    uint64_t cr2 = read_cr2();
    char text[128];

    if (exception) {
        exception_decode_error(text, sizeof(text), (unsigned)tf->vector, tf->error_code);
        printk("vector %lu %s, error 0x%lx (%s)\n", (unsigned long)tf->vector,
               exception_mnemonic((unsigned)tf->vector), (unsigned long)tf->error_code, text);
        if (tf->vector == EXC_PF)
            printk("CR2 %016lx (the address that faulted)\n", (unsigned long)cr2);
    }
    ksym_format(text, sizeof(text), tf->rip, !exception);
    printk("RIP %04lx:%016lx %s%s\n", (unsigned long)tf->cs, (unsigned long)tf->rip, text,
           exception ? "" : " (where panic was called)");
    print_flags(text, sizeof(text), tf->rflags);
    printk("RSP %04lx:%016lx RFLAGS %016lx [%s]\n", (unsigned long)tf->ss, (unsigned long)tf->rsp,
           (unsigned long)tf->rflags, text);
    printk("RAX %016lx RBX %016lx RCX %016lx\n", (unsigned long)tf->rax, (unsigned long)tf->rbx,
           (unsigned long)tf->rcx);
    printk("RDX %016lx RSI %016lx RDI %016lx\n", (unsigned long)tf->rdx, (unsigned long)tf->rsi,
           (unsigned long)tf->rdi);
    printk("RBP %016lx R8  %016lx R9  %016lx\n", (unsigned long)tf->rbp, (unsigned long)tf->r8,
           (unsigned long)tf->r9);
    printk("R10 %016lx R11 %016lx R12 %016lx\n", (unsigned long)tf->r10, (unsigned long)tf->r11,
           (unsigned long)tf->r12);
    printk("R13 %016lx R14 %016lx R15 %016lx\n", (unsigned long)tf->r13, (unsigned long)tf->r14,
           (unsigned long)tf->r15);
    printk("CR0 %016lx CR2 %016lx CR3 %016lx CR4 %016lx\n", (unsigned long)read_cr0(),
           (unsigned long)cr2, (unsigned long)read_cr3(), (unsigned long)read_cr4());
    backtrace_print(tf->rip, exception, tf->rsp, tf->rbp);
}

void exception_handle(struct trap_frame *tf)
{
    if (tf->vector == EXC_NMI) {
        nmi_dispatch(tf);
        return;
    }
    /* From ring 3: the program's business (user.c), never a kernel panic. */
    if ((tf->cs & 3) == 3) {
        user_exception(tf);
        return;
    }
    /*
     * The kernel touching a user address for a system call (an instruction
     * of arch/x86_64/uaccess.c, listed in the exception table): the page
     * may just not be there yet (demand-zero, copy-on-write).  If the mm
     * resolves it, retry the access; else the fixup turns it into -EFAULT.
     */
    if (tf->vector == EXC_PF && !(tf->error_code & PF_USER) && extable_find_fixup(tf->rip) &&
        user_fault_from_kernel(tf, read_cr2()))
        return;
    if (exception_try_fixup(tf))
        return;

    unsigned v = (unsigned)tf->vector;
    char where[96];
    ksym_format(where, sizeof(where), tf->rip, false);
    panic_with_frame(tf, "unexpected exception %s (%s) in %s%s", exception_mnemonic(v),
                     exception_description(v), where, (tf->cs & 3) ? " (user mode)" : "");
}
