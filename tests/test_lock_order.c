/*
 * tests/test_lock_order.c - the spinlock rank check (kernel/lock_order.h)
 * fires when two locks nest against their ranks, and only then; and so does
 * the check that no spinlock is held across a cross-CPU call that waits.
 *
 * The check panics in normal use; here each case runs with a catch set on
 * this CPU (interrupts off, so the CPU cannot change), which records the
 * violation instead.  The locks are the test's own, given the ranks of real
 * ones, so no other CPU ever contends for them.
 */
#include "ktest_suite.h"
#include <kernel/lock_order.h>
#include <kernel/spinlock.h>
#include <kernel/smp.h>
#include <kernel/preempt.h>
#include <kernel/percpu.h>
#include <arch/cpu.h>
#include <lib/string.h>

static DEFINE_SPINLOCK(outer_lock, LOCK_RANK_PROCESS);   /* ranked like process_lock */
static DEFINE_SPINLOCK(inner_lock, LOCK_RANK_BUDDY);     /* ranked like buddy_lock */
static DEFINE_SPINLOCK(sleep_a, LOCK_RANK_SLEEP);        /* two of one rank, like two wait queues */
static DEFINE_SPINLOCK(sleep_b, LOCK_RANK_SLEEP);

struct caught {
    struct lock_order_catch c;
    uint64_t flags;
    unsigned depth;
};

static void catch_begin(struct caught *k)
{
    k->flags = arch_irq_save();
    k->depth = lock_order_depth();
    lock_order_catch_begin(&k->c);
}

static void catch_end(struct ktest *t, struct caught *k)
{
    lock_order_catch_end();
    /* Every lock the case took was released: the list is back where it was. */
    EXPECT_EQ(t, lock_order_depth(), k->depth);
    arch_irq_restore(k->flags);
}

static void test_rising_order_passes(struct ktest *t)
{
    struct caught k;
    catch_begin(&k);
    spin_lock(&outer_lock);
    spin_lock(&inner_lock);
    unsigned depth = lock_order_depth();
    spin_unlock(&inner_lock);
    spin_unlock(&outer_lock);
    catch_end(t, &k);
    EXPECT_EQ(t, depth, k.depth + 2);
    EXPECT_EQ(t, k.c.violations, 0u);
}

/* first, then second: the check must name second as taken, first as held. */
static void expect_caught(struct ktest *t, struct spinlock *first, struct spinlock *second)
{
    struct caught k;
    catch_begin(&k);
    spin_lock(first);
    spin_lock(second);
    spin_unlock(second);
    spin_unlock(first);
    catch_end(t, &k);
    EXPECT_EQ(t, k.c.violations, 1u);
    ASSERT_TRUE(t, k.c.taken && k.c.held);
    EXPECT_STREQ(t, k.c.taken, second->name);
    EXPECT_STREQ(t, k.c.held, first->name);
}

/* process_lock's rank under buddy_lock's: wrong. */
static void test_falling_order_caught(struct ktest *t) { expect_caught(t, &inner_lock, &outer_lock); }

/* Two of one rank: two CPUs could take them crosswise. */
static void test_same_rank_caught(struct ktest *t) { expect_caught(t, &sleep_a, &sleep_b); }

/* A trylock does not wait, so it cannot close a cycle: no violation, but
 * the lock counts as held, and a lock taken under it is checked against it. */
static void test_trylock_exempt_but_held(struct ktest *t)
{
    struct caught k;
    catch_begin(&k);
    spin_lock(&inner_lock);
    bool got = spin_trylock(&outer_lock);
    unsigned depth = lock_order_depth();
    spin_lock(&sleep_a);            /* under outer_lock and inner_lock: wrong */
    spin_unlock(&sleep_a);
    if (got)
        spin_unlock(&outer_lock);
    spin_unlock(&inner_lock);
    catch_end(t, &k);
    EXPECT_TRUE(t, got);
    EXPECT_EQ(t, depth, k.depth + 2);
    EXPECT_EQ(t, k.c.violations, 1u);
    ASSERT_TRUE(t, k.c.taken != NULL);
    EXPECT_STREQ(t, k.c.taken, "sleep_a");
}

/* Released out of order (as double_rq_unlock does): the list closes the gap. */
static void test_out_of_order_release(struct ktest *t)
{
    struct caught k;
    catch_begin(&k);
    spin_lock(&outer_lock);
    spin_lock(&inner_lock);
    spin_unlock(&outer_lock);
    spin_lock(&sleep_a);            /* under inner_lock, still held: wrong */
    spin_unlock(&sleep_a);
    spin_unlock(&inner_lock);
    spin_lock(&sleep_a);            /* nothing held: fine */
    spin_unlock(&sleep_a);
    catch_end(t, &k);
    EXPECT_EQ(t, k.c.violations, 1u);
    ASSERT_TRUE(t, k.c.held != NULL);
    EXPECT_STREQ(t, k.c.held, "inner_lock");
}

static void test_unranked_lock_caught(struct ktest *t)
{
    struct spinlock nameless = SPINLOCK_INIT("nameless", LOCK_RANK_NONE);
    struct caught k;
    catch_begin(&k);
    spin_lock(&nameless);
    spin_unlock(&nameless);
    catch_end(t, &k);
    EXPECT_EQ(t, k.c.violations, 1u);
    EXPECT_TRUE(t, k.c.held == NULL);
}

/* printk takes console_lock, the innermost rank: allowed under any lock. */
static void test_printk_under_a_lock(struct ktest *t)
{
    struct caught k;
    catch_begin(&k);
    spin_lock(&inner_lock);
    ktest_log("a printk under a lock of buddy_lock's rank");
    spin_unlock(&inner_lock);
    catch_end(t, &k);
    EXPECT_EQ(t, k.c.violations, 0u);
}

/* Rule 2, checked at the acquisition: a lock ranked at or above the tick's
 * (inner_lock, buddy_lock's rank) taken with interrupts on is caught at once,
 * whether or not an interrupt lands while it is held; one ranked below
 * (outer_lock, process_lock's rank) is fine.  Preemption off keeps the catch
 * on this CPU; an interrupt landing inside would be caught too and only add
 * to the count. */
static void test_irqs_on_above_the_tick_caught(struct ktest *t)
{
    struct lock_order_catch c;
    preempt_disable();
    unsigned depth = lock_order_depth();
    lock_order_catch_begin(&c);
    spin_lock(&outer_lock);
    spin_unlock(&outer_lock);
    unsigned below = c.violations;
    spin_lock(&inner_lock);
    spin_unlock(&inner_lock);
    lock_order_catch_end();
    preempt_enable();
    EXPECT_EQ(t, lock_order_depth(), depth);
    EXPECT_EQ(t, below, 0u);
    EXPECT_GE(t, c.violations, 1u);
    ASSERT_TRUE(t, c.taken != NULL);
    EXPECT_STREQ(t, c.taken, "inner_lock");
}

static void nothing(void *arg) { (void)arg; }

/* Rule 3: no spinlock held while waiting for other CPUs.  The call goes to
 * this CPU itself (run at once, nothing to wait for): the check is on entry,
 * so it fires whether or not the wait would have been long. */
static void test_waiting_call_under_a_lock_caught(struct ktest *t)
{
    struct caught k;
    catch_begin(&k);
    smp_call_cpu(this_cpu_id(), nothing, NULL, true);      /* no lock: fine */
    spin_lock(&inner_lock);
    smp_call_cpu(this_cpu_id(), nothing, NULL, true);
    smp_call_cpu(this_cpu_id(), nothing, NULL, false);     /* no wait: fine */
    spin_unlock(&inner_lock);
    catch_end(t, &k);
    EXPECT_EQ(t, k.c.violations, 1u);
    ASSERT_TRUE(t, k.c.held != NULL);
    EXPECT_STREQ(t, k.c.held, "inner_lock");
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_rising_order_passes),
    KTEST_CASE(test_falling_order_caught),
    KTEST_CASE(test_same_rank_caught),
    KTEST_CASE(test_trylock_exempt_but_held),
    KTEST_CASE(test_out_of_order_release),
    KTEST_CASE(test_unranked_lock_caught),
    KTEST_CASE(test_printk_under_a_lock),
    KTEST_CASE(test_irqs_on_above_the_tick_caught),
    KTEST_CASE(test_waiting_call_under_a_lock_caught),
    {0},
};
KTEST_SUITE(lock_order, cases);
