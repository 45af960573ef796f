/*
 * tests/test_kernel_wx.c - W^X of the kernel: read the live page tables.
 *
 *   .text     present, not writable, executable
 *   .rodata   not writable, not executable
 *   .data, .bss  writable, not executable
 *   nowhere in the kernel half a page that is both writable and executable
 *
 * and check that the hardware agrees: writing .text or .rodata and
 * executing .data fault.
 */
#include "ktest_suite.h"
#include <arch/x86/cpufeatures.h>
#include <arch/extable.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include <kernel/sections.h>

/* Every page of [start, end) must have `want` of PTE_W|PTE_NX set and the
 * rest of them clear. */
static void check_section(struct ktest *t, const char *name, const char *start, const char *end, uint64_t want)
{
    uint64_t mask = PTE_W | (cpu_features.nx ? PTE_NX : 0);
    unsigned bad = 0, pages = 0;
    for (uintptr_t va = (uintptr_t)start; va < (uintptr_t)end; va += PAGE_SIZE, pages++) {
        uint64_t flags;
        size_t size;
        if (!paging_lookup(kernel_pml4, va, NULL, &flags, &size)) {
            ktest_fail_at(t, __FILE__, __LINE__, "%s page %#lx is not mapped", name, va);
            bad++;
        } else if ((flags & mask) != (want & mask) || size != PAGE_SIZE) {
            if (bad++ < 4)
                ktest_fail_at(t, __FILE__, __LINE__, "%s page %#lx has flags %#lx (page size %zu)",
                              name, va, flags, size);
        }
        if (cpu_features.pge && !(flags & PTE_G) && bad++ < 4)
            ktest_fail_at(t, __FILE__, __LINE__, "%s page %#lx is not global", name, va);
    }
    EXPECT_EQ(t, bad, 0u);
    EXPECT_GT(t, pages, 0u);
}

static void test_sections(struct ktest *t)
{
    check_section(t, ".text", __text_start, __text_end, 0);
    check_section(t, ".rodata", __rodata_start, __rodata_end, PTE_NX);
    check_section(t, ".data", __data_start, __data_end, PTE_W | PTE_NX);
    check_section(t, ".bss", __bss_start, __bss_end, PTE_W | PTE_NX);
}

/* Walk every present leaf of the kernel half. */
static void test_no_writable_executable_page(struct ktest *t)
{
    if (!cpu_features.nx)
        KTEST_SKIP(t, "the CPU has no NX: every page is executable");
    size_t leaves = 0, bad = 0;
    for (unsigned i4 = PML4_KERNEL_FIRST; i4 < PTES_PER_TABLE; i4++) {
        pte_t e4 = kernel_pml4[i4];
        if (!(e4 & PTE_P))
            continue;
        EXPECT_EQ(t, e4 & PTE_NX, 0u);       /* intermediate entries leave it to the leaves */
        pte_t *pdpt = phys_to_virt(e4 & PTE_ADDR);
        for (unsigned i3 = 0; i3 < PTES_PER_TABLE; i3++) {
            pte_t e3 = pdpt[i3];
            if (!(e3 & PTE_P))
                continue;
            pte_t *leaf_at = NULL;
            unsigned n = 0;
            pte_t *pd = NULL;
            if (e3 & PTE_PS) {
                leaf_at = &pdpt[i3];
                n = 1;
            } else {
                pd = phys_to_virt(e3 & PTE_ADDR);
            }
            for (unsigned i2 = 0; pd && i2 < PTES_PER_TABLE; i2++) {
                pte_t e2 = pd[i2];
                if (!(e2 & PTE_P))
                    continue;
                if (e2 & PTE_PS) {
                    leaves++;
                    if ((e2 & PTE_W) && !(e2 & PTE_NX) && bad++ < 4)
                        ktest_fail_at(t, __FILE__, __LINE__, "2 MiB page W+X: PML4 %u PDPT %u PD %u = %#lx",
                                      i4, i3, i2, e2);
                    continue;
                }
                pte_t *pt = phys_to_virt(e2 & PTE_ADDR);
                for (unsigned i1 = 0; i1 < PTES_PER_TABLE; i1++) {
                    pte_t e1 = pt[i1];
                    if (!(e1 & PTE_P))
                        continue;
                    leaves++;
                    if ((e1 & PTE_W) && !(e1 & PTE_NX) && bad++ < 4)
                        ktest_fail_at(t, __FILE__, __LINE__, "page W+X: PML4 %u PDPT %u PD %u PT %u = %#lx",
                                      i4, i3, i2, i1, e1);
                }
            }
            for (unsigned k = 0; k < n; k++) {
                leaves++;
                if ((leaf_at[k] & PTE_W) && !(leaf_at[k] & PTE_NX) && bad++ < 4)
                    ktest_fail_at(t, __FILE__, __LINE__, "1 GiB page W+X: PML4 %u PDPT %u = %#lx",
                                  i4, i3, leaf_at[k]);
            }
        }
    }
    ktest_log("%zu leaf entries in the kernel half", leaves);
    EXPECT_EQ(t, bad, 0u);
    EXPECT_GT(t, leaves, 0u);
}

/* Writes store the byte that is already there: harmless if they succeed. */
static void rewrite_byte(void *arg)
{
    volatile uint8_t *p = arg;
    *p = *p;
}

static void call_code(void *arg)
{
    ((void (*)(void))arg)();
}

static const uint8_t rodata_byte = 0x5a;
static uint8_t data_code[16] = { 0xc3 };         /* ret */

static void test_hardware_agrees(struct ktest *t)
{
    struct fault_report r;
    void *text = (void *)test_hardware_agrees;
    EXPECT_TRUE(t, run_expecting_fault(rewrite_byte, text, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r.cr2, (uintptr_t)text);
    EXPECT_EQ(t, r.error_code & 3u, 3u);      /* present, write */

    EXPECT_TRUE(t, run_expecting_fault(rewrite_byte, (void *)&rodata_byte, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r.cr2, (uintptr_t)&rodata_byte);

    if (!cpu_features.nx)
        return;
    EXPECT_TRUE(t, run_expecting_fault(call_code, data_code, &r));
    EXPECT_EQ(t, r.vector, (unsigned)EXC_PF);
    EXPECT_EQ(t, r.cr2, (uintptr_t)data_code);
    EXPECT_EQ(t, r.rip, (uintptr_t)data_code);
    EXPECT_EQ(t, r.error_code & 0x11u, 0x11u);   /* present, instruction fetch */
}

static const struct ktest_case kernel_wx_cases[] = {
    KTEST_CASE(test_sections),
    KTEST_CASE(test_no_writable_executable_page),
    KTEST_CASE(test_hardware_agrees),
    {0},
};
KTEST_SUITE(kernel_wx, kernel_wx_cases);
