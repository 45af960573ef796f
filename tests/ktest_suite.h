/*
 * tests/ktest_suite.h - the in-kernel test framework.
 *
 * A suite is a named list of cases, registered through the .ktest.* linker
 * section, so adding a suite means adding a file and nothing else:
 *
 *     static void test_addition(struct ktest *t)
 *     {
 *         EXPECT_EQ(t, 1 + 1, 2);
 *     }
 *     static const struct ktest_case cases[] = {
 *         KTEST_CASE(test_addition),
 *         {0},
 *     };
 *     KTEST_SUITE(arith, cases);
 *
 * EXPECT_* records a failure and goes on; ASSERT_* records it and returns
 * from the test function.  Both print the expression, both values and
 * file:line.  KTEST_SKIP(t, "why") ends a test as skipped.
 *
 * Output is KTAP version 1 (the format of Linux's KUnit), one nested block
 * per suite.  After its cases each suite runs one more case, "leak_check",
 * which fails if free page frames or kmalloc'd bytes differ from before the
 * suite.  The last line is "# shootdown: N passed, N failed, N skipped".
 */
#pragma once
#include <kernel/compiler.h>
#include <kernel/ktest.h>       /* what kmain calls: ktest_start() */
#include <kernel/printk.h>

struct ktest {
    const char *name;
    bool failed;
    bool skipped;
    const char *skip_reason;
};

struct ktest_case {
    const char *name;
    void (*fn)(struct ktest *t);
};

struct ktest_suite {
    const char *name;
    const struct ktest_case *cases;     /* ends with {0} */
    /* Optional: run before/after the whole suite (outside the leak check). */
    void (*setup)(void);
    void (*teardown)(void);
    /* Run only when test= names it, never as part of test=all (a suite
     * whose side effects would disturb the suites after it). */
    bool only_by_name;
};

#define KTEST_CASE(fn) { #fn, fn }

/* Every suite, gathered by the linker from the .ktest.* sections (linker.ld). */
extern const struct ktest_suite __ktest_start[], __ktest_end[];

#define KTEST_SUITE(sname, case_array, ...)                                    \
    static const struct ktest_suite __ktest_suite_##sname __used               \
        __section(".ktest." #sname) __aligned(8) = {                           \
            .name = #sname, .cases = (case_array), __VA_ARGS__ }

void ktest_fail_at(struct ktest *t, const char *file, int line, const char *fmt, ...) __printf(4, 5);

/* Print a diagnostic line inside the current test ("    # ..."). */
void ktest_log(const char *fmt, ...) __printf(1, 2);

#define __KTEST_CMP(t, a, b, op, on_fail)                                      \
    do {                                                                       \
        __typeof__(a) __a = (a);                                               \
        __typeof__(b) __b = (b);                                               \
        if (!(__a op __b)) {                                                   \
            ktest_fail_at((t), __FILE__, __LINE__,                             \
                          "%s %s %s: left = %lld (%#llx), right = %lld (%#llx)", \
                          #a, #op, #b, (long long)__a, (unsigned long long)__a, \
                          (long long)__b, (unsigned long long)__b);            \
            on_fail;                                                           \
        }                                                                      \
    } while (0)

#define EXPECT_EQ(t, a, b) __KTEST_CMP(t, a, b, ==, (void)0)
#define EXPECT_NE(t, a, b) __KTEST_CMP(t, a, b, !=, (void)0)
#define EXPECT_LT(t, a, b) __KTEST_CMP(t, a, b, <, (void)0)
#define EXPECT_LE(t, a, b) __KTEST_CMP(t, a, b, <=, (void)0)
#define EXPECT_GT(t, a, b) __KTEST_CMP(t, a, b, >, (void)0)
#define EXPECT_GE(t, a, b) __KTEST_CMP(t, a, b, >=, (void)0)
#define ASSERT_EQ(t, a, b) __KTEST_CMP(t, a, b, ==, return)
#define ASSERT_NE(t, a, b) __KTEST_CMP(t, a, b, !=, return)
#define ASSERT_LT(t, a, b) __KTEST_CMP(t, a, b, <, return)
#define ASSERT_LE(t, a, b) __KTEST_CMP(t, a, b, <=, return)
#define ASSERT_GT(t, a, b) __KTEST_CMP(t, a, b, >, return)
#define ASSERT_GE(t, a, b) __KTEST_CMP(t, a, b, >=, return)

#define EXPECT_TRUE(t, c)                                                      \
    do {                                                                       \
        if (!(c))                                                              \
            ktest_fail_at((t), __FILE__, __LINE__, "expected true: %s", #c);   \
    } while (0)
#define EXPECT_FALSE(t, c) EXPECT_TRUE(t, !(c))
#define ASSERT_TRUE(t, c)                                                      \
    do {                                                                       \
        if (!(c)) {                                                            \
            ktest_fail_at((t), __FILE__, __LINE__, "expected true: %s", #c);   \
            return;                                                            \
        }                                                                      \
    } while (0)
#define ASSERT_FALSE(t, c) ASSERT_TRUE(t, !(c))

#define EXPECT_STREQ(t, a, b)                                                  \
    do {                                                                       \
        const char *__sa = (a), *__sb = (b);                                   \
        if (!__sa || !__sb || strcmp(__sa, __sb))                              \
            ktest_fail_at((t), __FILE__, __LINE__, "%s == %s: left = \"%s\", right = \"%s\"", \
                          #a, #b, __sa ? __sa : "(null)", __sb ? __sb : "(null)"); \
    } while (0)

#define KTEST_SKIP(t, reason)                                                  \
    do {                                                                       \
        (t)->skipped = true;                                                   \
        (t)->skip_reason = (reason);                                           \
        return;                                                                \
    } while (0)

/* Run the suites named in `selection` ("all" or "a,b,c").  Returns the
 * number of failed tests.  Unknown suite names are reported and count as
 * failures, so a typo cannot make a run look green. */
int ktest_run(const char *selection);

/* The value of the test= command-line option ("" when absent). */
extern char ktest_selection[256];
