/*
 * tests/test_backtrace.c - the frame-pointer walk and the symbol table.
 *
 * A real call chain bt_level_a -> bt_level_b -> bt_level_c must come back
 * with those names.  Then hand-made chains in a buffer check the walk's
 * defences one by one: a trap record, a loop, a frame pointer that goes
 * down, an unmapped or misaligned one, a return address outside the code,
 * and the depth limit.  None of them may fault.
 */
#include "ktest_suite.h"
#include <arch/backtrace.h>
#include <arch/memlayout.h>
#include <arch/trap.h>
#include <kernel/debug/ksyms.h>
#include <kernel/panic.h>
#include <lib/string.h>
#include <kernel/sections.h>

void kmain(uint32_t magic, uint32_t info_phys);
extern const char trap_dispatch_ret[];

/* ---- a real chain ---------------------------------------------------- */

struct bt_result {
    uintptr_t pcs[16];
    unsigned n;
};

/* Called through volatile pointers so the compiler can neither inline nor
 * specialize (rename) them. */
__noinline void bt_level_a(struct bt_result *r);
__noinline void bt_level_b(struct bt_result *r);
__noinline void bt_level_c(struct bt_result *r);
static void (*volatile call_b)(struct bt_result *) = bt_level_b;
static void (*volatile call_c)(struct bt_result *) = bt_level_c;

__noinline void bt_level_c(struct bt_result *r)
{
    r->n = backtrace_capture(r->pcs, ARRAY_SIZE(r->pcs));
    barrier();
}

__noinline void bt_level_b(struct bt_result *r)
{
    call_c(r);
    barrier();
}

__noinline void bt_level_a(struct bt_result *r)
{
    call_b(r);
    barrier();
}

static const char *name_of_return(uintptr_t pc)
{
    uintptr_t off;
    return ksym_lookup(pc - 1, &off);
}

static void test_call_chain(struct ktest *t)
{
    struct bt_result r = { .n = 0 };
    bt_level_a(&r);
    ASSERT_GE(t, r.n, 4u);
    EXPECT_STREQ(t, name_of_return(r.pcs[0]), "bt_level_c");
    EXPECT_STREQ(t, name_of_return(r.pcs[1]), "bt_level_b");
    EXPECT_STREQ(t, name_of_return(r.pcs[2]), "bt_level_a");
    EXPECT_STREQ(t, name_of_return(r.pcs[3]), "test_call_chain");
    /* The chain continues down to the first function of the test thread
     * (tests run in the "ktest" kernel thread) and ends there cleanly
     * (RBP = 0), well within the depth limit. */
    EXPECT_LT(t, r.n, (unsigned)ARRAY_SIZE(r.pcs));
    EXPECT_STREQ(t, name_of_return(r.pcs[r.n - 1]), "task_start_asm");

    char buf[96];
    ksym_format(buf, sizeof(buf), r.pcs[0], true);
    EXPECT_EQ(t, strncmp(buf, "bt_level_c+0x", 13), 0);
}

/* ---- the symbol table -------------------------------------------------- */

static void test_ksym_lookup(struct ktest *t)
{
    uintptr_t off = 99;
    EXPECT_STREQ(t, ksym_lookup((uintptr_t)kmain, &off), "kmain");
    EXPECT_EQ(t, off, 0ul);
    EXPECT_STREQ(t, ksym_lookup((uintptr_t)kmain + 3, &off), "kmain");
    EXPECT_EQ(t, off, 3ul);
    EXPECT_STREQ(t, ksym_lookup((uintptr_t)panic, &off), "panic");
    EXPECT_STREQ(t, ksym_lookup((uintptr_t)trap_dispatch, &off), "trap_dispatch");
    EXPECT_STREQ(t, ksym_lookup((uintptr_t)bt_level_b + 1, &off), "bt_level_b");
    EXPECT_EQ(t, off, 1ul);
    /* Not code: no name. */
    EXPECT_TRUE(t, ksym_lookup((uintptr_t)&ktest_selection, &off) == NULL);
    EXPECT_TRUE(t, ksym_lookup(0, &off) == NULL);
    EXPECT_TRUE(t, ksym_lookup(UINTPTR_MAX, &off) == NULL);

    char buf[64];
    ksym_format(buf, sizeof(buf), (uintptr_t)kmain + 0x10, false);
    EXPECT_STREQ(t, buf, "kmain+0x10");
    ksym_format(buf, sizeof(buf), 0x1234, false);
    EXPECT_STREQ(t, buf, "?");
    /* A return address equal to a function's start belongs to the one before. */
    ksym_format(buf, sizeof(buf), (uintptr_t)bt_level_b, true);
    EXPECT_TRUE(t, strncmp(buf, "bt_level_b+", 11) != 0);
}

static void test_ksym_table_sorted(struct ktest *t)
{
    ASSERT_GT(t, ksyms_count, 10ul);
    unsigned bad = 0;
    for (unsigned long i = 0; i < ksyms_count; i++) {
        if (ksyms_table[i].addr < (uintptr_t)__text_start || ksyms_table[i].addr > (uintptr_t)__text_end)
            bad++;
        if (i && ksyms_table[i].addr < ksyms_table[i - 1].addr)
            bad++;
        /* NASM's local labels ("foo.loop") are left out of the table. */
        if (!strcmp(ksyms_table[i].name, "trap_common.no_smap") ||
            !strcmp(ksyms_table[i].name, "trap_common.from_kernel"))
            bad++;
    }
    EXPECT_EQ(t, bad, 0u);
}

/* ---- hand-made chains ---------------------------------------------------- */

/* 8-byte words; records are built at chosen indexes.  Static: the kernel
 * image is a region where stacks may live (the boot stack is there). */
static uint64_t fake_stack[256] __aligned(16);

#define REC(i) ((uintptr_t)&fake_stack[i])

static void set_record(unsigned i, uintptr_t next_rbp, uintptr_t ret)
{
    fake_stack[i] = next_rbp;
    fake_stack[i + 1] = ret;
}

/* Return addresses in known functions (any address inside them will do). */
#define RET_A ((uintptr_t)bt_level_a + 4)
#define RET_B ((uintptr_t)bt_level_b + 4)
#define RET_C ((uintptr_t)bt_level_c + 4)

static void test_fake_chain(struct ktest *t)
{
    uintptr_t pcs[8];
    memset(fake_stack, 0, sizeof(fake_stack));
    set_record(0, REC(4), RET_A);
    set_record(4, REC(10), RET_B);
    set_record(10, 0, RET_C);
    ASSERT_EQ(t, backtrace_from(REC(0), pcs, 8), 3u);
    EXPECT_EQ(t, pcs[0], RET_A);
    EXPECT_EQ(t, pcs[1], RET_B);
    EXPECT_EQ(t, pcs[2], RET_C);
    /* max is honoured */
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 2), 2u);
}

static void test_fake_trap_record(struct ktest *t)
{
    uintptr_t pcs[8];
    memset(fake_stack, 0, sizeof(fake_stack));
    /*
     * Record 0 is trap_dispatch's: it returns into trap_common.  Record 2 is
     * the one isr.asm builds: saved RBP and the interrupted RIP, with the
     * struct trap_frame right above it (at index 4).  The RIP may be any
     * address - here, an unmapped one, as after a jump into nowhere.
     */
    const uintptr_t wild_rip = DIRECT_MAP_BASE + DIRECT_MAP_SIZE - PAGE_SIZE;
    struct trap_frame *tf = (struct trap_frame *)&fake_stack[4];
    set_record(0, REC(2), (uintptr_t)trap_dispatch_ret);
    set_record(2, REC(40), wild_rip);
    tf->rip = wild_rip;
    tf->cs = 0x08;
    tf->rsp = REC(30);
    fake_stack[30] = 0;                 /* no return address on top of that stack */
    set_record(40, 0, RET_C);
    ASSERT_EQ(t, backtrace_from(REC(0), pcs, 8), 3u);
    EXPECT_EQ(t, pcs[0], (uintptr_t)trap_dispatch_ret);
    EXPECT_EQ(t, pcs[1], wild_rip);
    EXPECT_EQ(t, pcs[2], RET_C);

    /* Without the trap_dispatch_ret marker the same wild RIP is garbage. */
    set_record(0, REC(2), RET_A);
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 8), 1u);

    /*
     * Interrupted at the very first instruction of bt_level_b (before its
     * "push rbp"): RBP still is the caller's record, and the caller's return
     * address is on top of the interrupted stack.  The walk must find it.
     * A genuine return address is needed (it must follow a call): take one
     * from a real chain.
     */
    struct bt_result real = { .n = 0 };
    bt_level_a(&real);
    ASSERT_GE(t, real.n, 2u);
    set_record(0, REC(2), (uintptr_t)trap_dispatch_ret);
    tf->rip = (uintptr_t)bt_level_b;
    fake_stack[3] = tf->rip;
    fake_stack[30] = real.pcs[1];       /* the return address into bt_level_b */
    ASSERT_EQ(t, backtrace_from(REC(0), pcs, 8), 4u);
    EXPECT_EQ(t, pcs[1], (uintptr_t)bt_level_b);
    EXPECT_EQ(t, pcs[2], real.pcs[1]);
    EXPECT_EQ(t, pcs[3], RET_C);
    /* ... but not a word that does not follow a call. */
    fake_stack[30] = RET_A;
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 8), 3u);
}

static void test_fake_bad_chains(struct ktest *t)
{
    uintptr_t pcs[BACKTRACE_MAX_DEPTH + 8];
    memset(fake_stack, 0, sizeof(fake_stack));

    /* A loop: the record points at itself. */
    set_record(0, REC(0), RET_A);
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 8), 1u);
    /* Going down the stack. */
    set_record(10, REC(4), RET_A);
    set_record(4, REC(20), RET_B);
    EXPECT_EQ(t, backtrace_from(REC(10), pcs, 8), 1u);
    /* Starting in unmapped memory: the read is probed, not faulted. */
    EXPECT_EQ(t, backtrace_from(DIRECT_MAP_BASE + DIRECT_MAP_SIZE - PAGE_SIZE, pcs, 8), 0u);
    /* Jumping from the kernel image down into the direct map. */
    set_record(0, DIRECT_MAP_BASE + DIRECT_MAP_SIZE - PAGE_SIZE, RET_A);
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 8), 1u);
    /* Misaligned, user-half and non-canonical frame pointers. */
    set_record(0, REC(4) + 3, RET_A);
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 8), 1u);
    EXPECT_EQ(t, backtrace_from(0x1000, pcs, 8), 0u);
    EXPECT_EQ(t, backtrace_from(0x8000000000000000ul, pcs, 8), 0u);
    /* A return address that is not kernel code ends the walk. */
    set_record(0, REC(4), RET_A);
    set_record(4, REC(8), (uintptr_t)&fake_stack[0]);
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, 8), 1u);
    /* The depth limit: a long, well-formed chain is cut. */
    for (unsigned i = 0; i + 2 < ARRAY_SIZE(fake_stack); i += 2)
        set_record(i, REC(i + 2), RET_A);
    EXPECT_EQ(t, backtrace_from(REC(0), pcs, ARRAY_SIZE(pcs)), (unsigned)BACKTRACE_MAX_DEPTH);
}

static const struct ktest_case backtrace_cases[] = {
    KTEST_CASE(test_call_chain),
    KTEST_CASE(test_ksym_lookup),
    KTEST_CASE(test_ksym_table_sorted),
    KTEST_CASE(test_fake_chain),
    KTEST_CASE(test_fake_trap_record),
    KTEST_CASE(test_fake_bad_chains),
    {0},
};
KTEST_SUITE(backtrace, backtrace_cases);
