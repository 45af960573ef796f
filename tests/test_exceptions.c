/*
 * tests/test_exceptions.c - deliberate faults caught by run_expecting_fault()
 * and by the exception table, the IDT and the TSS as the CPU sees them, and
 * the decoding of error codes.
 *
 * Each faulting function stores the address of its faulting instruction
 * (a local label, taken with "lea 1f(%rip)") before it executes it, so the
 * test can check that the reported RIP is exactly that instruction - or,
 * for traps like int3, the instruction after it.
 */
#include "ktest_suite.h"
#include <arch/extable.h>
#include <arch/x86/gdt.h>
#include <arch/memlayout.h>
#include <arch/nmi.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>
#include <lib/string.h>
#include <kernel/sections.h>

/* The last page of the direct map's 64 TiB window: no RAM behind it. */
#define UNMAPPED_ADDRESS (DIRECT_MAP_BASE + DIRECT_MAP_SIZE - PAGE_SIZE)
#define NONCANONICAL_ADDRESS 0x8000000000000000ul

#define PF_PRESENT (1u << 0)
#define PF_WRITE   (1u << 1)
#define PF_USER    (1u << 2)
#define PF_RSVD    (1u << 3)
#define PF_INSTR   (1u << 4)

extern const uint64_t isr_stub_table[256];

struct fault_ctx {
    uintptr_t rip;          /* set by the function: where it will fault */
    uintptr_t addr;         /* the address it touches */
};

static __noinline void do_ud(void *arg)
{
    struct fault_ctx *c = arg;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %0\n\t"
                     "1: ud2"
                     : "=m"(c->rip) :: "rax", "memory");
}

static __noinline void do_de(void *arg)
{
    struct fault_ctx *c = arg;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %0\n\t"
                     "movl $1, %%eax\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "xorl %%ecx, %%ecx\n\t"
                     "1: divl %%ecx"
                     : "=m"(c->rip) :: "rax", "rcx", "rdx", "memory");
}

static __noinline void do_read(void *arg)
{
    struct fault_ctx *c = arg;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %0\n\t"
                     "1: movq (%1), %%rax"
                     : "=m"(c->rip) : "r"(c->addr) : "rax", "memory");
}

/* Writes back the value that is there: harmless if the write succeeds. */
static __noinline void do_rewrite(void *arg)
{
    struct fault_ctx *c = arg;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %0\n\t"
                     "movq (%1), %%rax\n\t"
                     "1: movq %%rax, (%1)"
                     : "=m"(c->rip) : "r"(c->addr) : "rax", "memory");
}

static __noinline void do_call(void *arg)
{
    struct fault_ctx *c = arg;
    c->rip = c->addr;
    __asm__ volatile("call *%0" :: "r"(c->addr) : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                     "r10", "r11", "memory");
}

static __noinline void do_load_es(void *arg)
{
    struct fault_ctx *c = arg;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %0\n\t"
                     "1: movw %w1, %%es"
                     : "=m"(c->rip) : "r"(c->addr) : "rax", "memory");
}

/* int3 is a trap: the CPU reports the instruction after it. */
static __noinline void do_int3(void *arg)
{
    struct fault_ctx *c = arg;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %0\n\t"
                     "int3\n"
                     "1:"
                     : "=m"(c->rip) :: "rax", "memory");
}

static __noinline void do_nothing(void *arg)
{
    struct fault_ctx *c = arg;
    c->rip = 1;
}

static void test_ud(struct ktest *t)
{
    struct fault_ctx c = { 0 };
    struct fault_report r;
    ASSERT_TRUE(t, run_expecting_fault(do_ud, &c, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_UD);
    EXPECT_EQ(t, r.error_code, 0ul);
    EXPECT_EQ(t, r.rip, c.rip);
}

static void test_de(struct ktest *t)
{
    struct fault_ctx c = { 0 };
    struct fault_report r;
    ASSERT_TRUE(t, run_expecting_fault(do_de, &c, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_DE);
    EXPECT_EQ(t, r.rip, c.rip);
}

static void test_pf_read_unmapped(struct ktest *t)
{
    struct fault_ctx c = { .addr = UNMAPPED_ADDRESS };
    struct fault_report r;
    ASSERT_TRUE(t, run_expecting_fault(do_read, &c, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r.rip, c.rip);
    EXPECT_EQ(t, r.cr2, c.addr);
    /* Not present, a read, from the kernel, no reserved bit, not a fetch. */
    EXPECT_EQ(t, r.error_code & (PF_PRESENT | PF_WRITE | PF_USER | PF_RSVD | PF_INSTR), 0ul);
}

static void test_pf_write_rodata(struct ktest *t)
{
    struct fault_ctx c = { .addr = (uintptr_t)__rodata_start };
    struct fault_report r;
    /* CR0.WP makes the kernel's own writes honour read-only pages. */
    ASSERT_TRUE(t, read_cr0() & CR0_WP);
    if (!run_expecting_fault(do_rewrite, &c, &r))
        KTEST_SKIP(t, ".rodata is mapped writable (the W^X kernel mapping is not in place)");
    EXPECT_EQ(t, r.vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r.rip, c.rip);
    EXPECT_EQ(t, r.cr2, c.addr);
    EXPECT_EQ(t, r.error_code & (PF_PRESENT | PF_WRITE | PF_USER | PF_INSTR), (uint64_t)(PF_PRESENT | PF_WRITE));
}

static void test_pf_fetch_unmapped(struct ktest *t)
{
    struct fault_ctx c = { .addr = UNMAPPED_ADDRESS };
    struct fault_report r;
    ASSERT_TRUE(t, run_expecting_fault(do_call, &c, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r.rip, c.addr);
    EXPECT_EQ(t, r.cr2, c.addr);
    EXPECT_EQ(t, r.error_code & (PF_PRESENT | PF_WRITE | PF_USER), 0ul);
    /* The CPU reports instruction fetches only with NX or SMEP enabled. */
    if ((rdmsr(MSR_EFER) & EFER_NXE) || (read_cr4() & CR4_SMEP))
        EXPECT_TRUE(t, r.error_code & PF_INSTR);
}

static void test_gp_noncanonical(struct ktest *t)
{
    struct fault_ctx c = { .addr = NONCANONICAL_ADDRESS };
    struct fault_report r;
    ASSERT_TRUE(t, run_expecting_fault(do_read, &c, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_GP);
    EXPECT_EQ(t, r.error_code, 0ul);
    EXPECT_EQ(t, r.rip, c.rip);
}

static void test_gp_bad_selector(struct ktest *t)
{
    /* Entry 8191 is far beyond the GDT's limit: #GP with that selector. */
    struct fault_ctx c = { .addr = 0xfff8 };
    struct fault_report r;
    uint16_t es_before, es_after;
    __asm__ volatile("movw %%es, %0" : "=r"(es_before));
    ASSERT_TRUE(t, run_expecting_fault(do_load_es, &c, &r));
    __asm__ volatile("movw %%es, %0" : "=r"(es_after));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_GP);
    EXPECT_EQ(t, r.error_code, 0xfff8ul);
    EXPECT_EQ(t, r.rip, c.rip);
    EXPECT_EQ(t, es_after, es_before);     /* a faulting load changes nothing */
    char text[96];
    exception_decode_error(text, sizeof(text), r.vector, r.error_code);
    EXPECT_STREQ(t, text, "selector 0xfff8: GDT entry 8191");
}

static void test_bp(struct ktest *t)
{
    struct fault_ctx c = { 0 };
    struct fault_report r;
    ASSERT_TRUE(t, run_expecting_fault(do_int3, &c, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_BP);
    EXPECT_EQ(t, r.rip, c.rip);
}

static void test_no_fault(struct ktest *t)
{
    struct fault_ctx c = { 0 };
    struct fault_report r = { .vector = 99 };
    EXPECT_FALSE(t, run_expecting_fault(do_nothing, &c, &r));
    EXPECT_EQ(t, c.rip, 1ul);
    EXPECT_EQ(t, r.vector, 99u);            /* untouched */
    /* Disarmed again after a fault and after a clean run: both work twice. */
    EXPECT_TRUE(t, run_expecting_fault(do_ud, &c, &r));
    EXPECT_TRUE(t, run_expecting_fault(do_ud, &c, &r));
    EXPECT_FALSE(t, run_expecting_fault(do_nothing, &c, &r));
}

/*
 * Software "int $n" through every exception vector whose stub pushes no
 * error code of its own (int never pushes one), except NMI, #DF and #MC,
 * which run_expecting_fault does not catch.  Each arrives as its vector
 * number, at the instruction after the int.
 */
#define INT_FN(n)                                                              \
    static __noinline void do_int_##n(void *arg)                              \
    {                                                                          \
        struct fault_ctx *c = arg;                                             \
        __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"                           \
                         "movq %%rax, %0\n\t"                                  \
                         "int $" #n "\n"                                       \
                         "1:"                                                  \
                         : "=m"(c->rip) :: "rax", "memory");                   \
    }
INT_FN(0) INT_FN(1) INT_FN(3) INT_FN(4) INT_FN(5) INT_FN(6) INT_FN(7) INT_FN(9) INT_FN(15)
INT_FN(16) INT_FN(19) INT_FN(20) INT_FN(22) INT_FN(23) INT_FN(24) INT_FN(25) INT_FN(26)
INT_FN(27) INT_FN(28) INT_FN(31)

static const struct {
    unsigned vector;
    void (*fn)(void *);
} int_fns[] = {
#define INT_ENTRY(n) { n, do_int_##n }
    INT_ENTRY(0), INT_ENTRY(1), INT_ENTRY(3), INT_ENTRY(4), INT_ENTRY(5), INT_ENTRY(6),
    INT_ENTRY(7), INT_ENTRY(9), INT_ENTRY(15), INT_ENTRY(16), INT_ENTRY(19), INT_ENTRY(20),
    INT_ENTRY(22), INT_ENTRY(23), INT_ENTRY(24), INT_ENTRY(25), INT_ENTRY(26), INT_ENTRY(27),
    INT_ENTRY(28), INT_ENTRY(31),
#undef INT_ENTRY
};

static void test_int_vectors(struct ktest *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(int_fns); i++) {
        struct fault_ctx c = { 0 };
        struct fault_report r;
        ASSERT_TRUE(t, run_expecting_fault(int_fns[i].fn, &c, &r));
        EXPECT_EQ(t, r.vector, int_fns[i].vector);
        EXPECT_EQ(t, r.rip, c.rip);
    }
}

static void test_extable_probe(struct ktest *t)
{
    volatile uint64_t word = 0x1122334455667788ul;
    uint64_t v = 1;

    EXPECT_TRUE(t, probe_read_u64((const void *)&word, &v));
    EXPECT_EQ(t, v, 0x1122334455667788ul);
    EXPECT_FALSE(t, probe_read_u64((const void *)UNMAPPED_ADDRESS, &v));
    EXPECT_EQ(t, v, 0ul);
    v = 1;
    EXPECT_FALSE(t, probe_read_u64((const void *)NONCANONICAL_ADDRESS, &v));    /* a #GP */
    EXPECT_EQ(t, v, 0ul);
    EXPECT_TRUE(t, probe_write_u64((void *)&word, 42));
    EXPECT_EQ(t, word, 42ul);
    EXPECT_FALSE(t, probe_write_u64((void *)UNMAPPED_ADDRESS, 42));
    EXPECT_FALSE(t, probe_write_u64((void *)NONCANONICAL_ADDRESS, 42));
}

static void test_extable_entries(struct ktest *t)
{
    ASSERT_GT(t, __extable_end - __extable_start, 0l);
    for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
        uintptr_t insn = (uintptr_t)&e->insn + (intptr_t)e->insn;
        uintptr_t fixup = (uintptr_t)&e->fixup + (intptr_t)e->fixup;
        EXPECT_TRUE(t, insn >= (uintptr_t)__text_start && insn < (uintptr_t)__text_end);
        EXPECT_TRUE(t, fixup >= (uintptr_t)__text_start && fixup < (uintptr_t)__text_end);
        EXPECT_EQ(t, extable_find_fixup(insn), fixup);
    }
    EXPECT_EQ(t, extable_find_fixup((uintptr_t)test_extable_entries), 0ul);
}

struct idt_gate_raw {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
} __packed;

static void test_idt_gates(struct ktest *t)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __packed idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    ASSERT_EQ(t, idtr.limit, (uint16_t)(256 * 16 - 1));

    const struct idt_gate_raw *g = (const struct idt_gate_raw *)idtr.base;
    unsigned bad = 0;
    for (unsigned v = 0; v < 256; v++) {
        uint64_t target = g[v].offset_lo | ((uint64_t)g[v].offset_mid << 16) | ((uint64_t)g[v].offset_hi << 32);
        unsigned want_ist = v == EXC_DF ? IST_DOUBLE_FAULT : v == EXC_NMI ? IST_NMI
                          : v == EXC_MC ? IST_MACHINE_CHECK : 0;
        /* Present, 64-bit interrupt gate (type 0xe), kernel code; DPL 0
         * except for int3 and into, which user code may execute. */
        uint8_t want_attr = (v == EXC_BP || v == EXC_OF) ? 0xee : 0x8e;
        if (g[v].type_attr != want_attr || g[v].selector != GDT_KERNEL_CODE || target != isr_stub_table[v] ||
            (g[v].ist & 7) != want_ist) {
            if (bad++ < 4)
                ktest_log("vector %u: attr %#x selector %#x ist %u target %#lx (stub %#lx)", v,
                          g[v].type_attr, g[v].selector, g[v].ist, (unsigned long)target,
                          (unsigned long)isr_stub_table[v]);
        }
    }
    EXPECT_EQ(t, bad, 0u);
    /* The stubs are distinct code addresses. */
    for (unsigned v = 1; v < 256; v++)
        EXPECT_TRUE(t, isr_stub_table[v] > isr_stub_table[v - 1]);
    EXPECT_GE(t, idt_cpus_loaded(), 1u);
}

/* The TSS the CPU uses (found through TR and the GDT) points each IST slot at
 * the top of this CPU's stack for it. */
static void test_tss_ist(struct ktest *t)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __packed gdtr;
    uint16_t tr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    __asm__ volatile("str %0" : "=r"(tr));
    ASSERT_EQ(t, tr, (uint16_t)GDT_TSS);

    uint64_t lo, hi;
    memcpy(&lo, (const char *)gdtr.base + tr, 8);
    memcpy(&hi, (const char *)gdtr.base + tr + 8, 8);
    EXPECT_EQ(t, (lo >> 40) & 0x9f, 0x8bul);      /* present, busy 64-bit TSS */
    uintptr_t tss = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);

    for (unsigned ist = IST_DOUBLE_FAULT; ist <= IST_MACHINE_CHECK; ist++) {
        uint64_t top;
        uintptr_t stack_lo, stack_hi;
        memcpy(&top, (const char *)tss + 36 + 8 * (ist - 1), 8);
        ist_stack_bounds(ist, &stack_lo, &stack_hi);
        EXPECT_EQ(t, top, stack_hi);
        EXPECT_EQ(t, stack_hi - stack_lo, (uintptr_t)IST_STACK_SIZE);
        EXPECT_EQ(t, top & 15, 0ul);
    }
}

/*
 * The NMI gate switches to this CPU's NMI IST stack: "int $2" enters the
 * same gate (without the NMI blocking a real one brings), and a handler that
 * claims it records where its stack is.  Registered on first use, and inert
 * unless this test armed it.
 */
static volatile bool nmi_probe_armed;
static volatile uintptr_t nmi_probe_stack;
static volatile unsigned nmi_probe_hits;

static bool nmi_probe(struct trap_frame *tf)
{
    (void)tf;
    if (!nmi_probe_armed)
        return false;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    nmi_probe_stack = here;
    nmi_probe_hits++;
    return true;
}

static void test_nmi_ist(struct ktest *t)
{
    static bool registered;
    if (!registered) {
        nmi_register(nmi_probe);
        registered = true;
    }
    uintptr_t lo, hi;
    ist_stack_bounds(IST_NMI, &lo, &hi);
    unsigned hits_before = nmi_probe_hits;
    uint64_t flags = arch_irq_save();
    nmi_probe_armed = true;
    __asm__ volatile("int $2" ::: "memory");
    nmi_probe_armed = false;
    arch_irq_restore(flags);
    EXPECT_EQ(t, nmi_probe_hits, hits_before + 1);
    EXPECT_TRUE(t, nmi_probe_stack >= lo && nmi_probe_stack < hi);
}

static void test_decode_error(struct ktest *t)
{
    char s[96];
    exception_decode_error(s, sizeof(s), EXC_PF, PF_WRITE);
    EXPECT_STREQ(t, s, "not-present write kernel");
    exception_decode_error(s, sizeof(s), EXC_PF, PF_PRESENT | PF_INSTR);
    EXPECT_STREQ(t, s, "protection instruction-fetch kernel");
    exception_decode_error(s, sizeof(s), EXC_PF, PF_PRESENT | PF_USER | PF_RSVD | (1u << 5) | (1u << 6));
    EXPECT_STREQ(t, s, "protection read user reserved-bit protection-key shadow-stack");
    exception_decode_error(s, sizeof(s), EXC_GP, 0);
    EXPECT_STREQ(t, s, "no selector");
    exception_decode_error(s, sizeof(s), EXC_GP, 0x10 * 8 + 2);
    EXPECT_STREQ(t, s, "selector 0x82: IDT entry 16");
    exception_decode_error(s, sizeof(s), EXC_NP, 0x2c | 1);
    EXPECT_STREQ(t, s, "selector 0x2d: LDT entry 5, external event");
    exception_decode_error(s, sizeof(s), EXC_CP, 3);
    EXPECT_STREQ(t, s, "endbranch");
    EXPECT_STREQ(t, exception_mnemonic(EXC_PF), "#PF");
    EXPECT_STREQ(t, exception_mnemonic(EXC_GP), "#GP");
    EXPECT_STREQ(t, exception_mnemonic(EXC_DF), "#DF");
    EXPECT_STREQ(t, exception_mnemonic(15), "#reserved");
}

static const struct ktest_case exception_cases[] = {
    KTEST_CASE(test_ud),
    KTEST_CASE(test_de),
    KTEST_CASE(test_pf_read_unmapped),
    KTEST_CASE(test_pf_write_rodata),
    KTEST_CASE(test_pf_fetch_unmapped),
    KTEST_CASE(test_gp_noncanonical),
    KTEST_CASE(test_gp_bad_selector),
    KTEST_CASE(test_bp),
    KTEST_CASE(test_no_fault),
    KTEST_CASE(test_int_vectors),
    KTEST_CASE(test_extable_probe),
    KTEST_CASE(test_extable_entries),
    KTEST_CASE(test_idt_gates),
    KTEST_CASE(test_tss_ist),
    KTEST_CASE(test_nmi_ist),
    KTEST_CASE(test_decode_error),
    {0},
};
KTEST_SUITE(exceptions, exception_cases);
