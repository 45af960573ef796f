/* kernel/smp/spinlock.c - ticket and test-and-set spinlocks (see
 * kernel/spinlock.h for why there are two). */
#include <kernel/spinlock.h>
#include <kernel/boot_options.h>
#include <kernel/printk.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/time.h>
#include <kernel/preempt.h>
#include <arch/cpu.h>

uint64_t spin_timeout_ns = 10ull * 1000 * 1000 * 1000;

enum spin_kind spin_kind = SPIN_AUTO;
static const char *const spin_kind_choices[] = { "auto", "ticket", "tas", NULL };
CMDLINE_ENUM(spinlock, spin_kind, spin_kind_choices,
             "lock kind: auto (tas on a virtual CPU, else ticket), ticket (FIFO), tas (test-and-set)");

void spinlock_choose(bool virtual_cpus)
{
    if (spin_kind == SPIN_AUTO)
        spin_kind = virtual_cpus ? SPIN_TAS : SPIN_TICKET;
    printk("spinlock: %s%s\n", spin_kind == SPIN_TAS ? "test-and-set" : "ticket (FIFO)",
           virtual_cpus ? " (virtual CPUs)" : "");
}

void spin_lock_init(struct spinlock *l, const char *name, enum lock_rank rank)
{
    l->rank = rank;
    atomic_store_explicit(&l->next, 0, memory_order_relaxed);
    atomic_store_explicit(&l->serving, 0, memory_order_relaxed);
    l->name = name;
    l->owner_cpu = -1;
    l->owner_pc = 0;
}

static __noinline void spin_timed_out(struct spinlock *l, uint32_t ticket)
{
    panic("spinlock '%s' held too long: cpu%u waits with ticket %u (serving %u, no hand-off for %llu ms), holder cpu%d from %p",
          l->name ? l->name : "?", this_cpu_id(), ticket,
          atomic_load_explicit(&l->serving, memory_order_relaxed),
          (unsigned long long)(spin_timeout_ns / 1000000), READ_ONCE(l->owner_cpu), (void *)READ_ONCE(l->owner_pc));
}

/* The deadlock detector of one wait: it fires only after spin_timeout_ns in
 * which `serving` never moved (see kernel/spinlock.h). */
struct spin_wait {
    uint64_t start;
    uint32_t serving_seen;
    unsigned spins;
};

static void spin_wait_start(struct spin_wait *w, struct spinlock *l)
{
    w->start = 0;
    w->serving_seen = atomic_load_explicit(&l->serving, memory_order_relaxed);
    w->spins = 0;
}

static void spin_wait_step(struct spin_wait *w, struct spinlock *l, uint32_t ticket)
{
    arch_cpu_relax();
    /* Check the clock now and then: reading it is not free. */
    if (++w->spins % 1024)
        return;
    uint32_t serving = atomic_load_explicit(&l->serving, memory_order_relaxed);
    uint64_t now = ktime_ns();
    if (serving != w->serving_seen || !w->start) {
        w->serving_seen = serving;
        w->start = now;
    } else if (now - w->start > spin_timeout_ns && !panic_in_progress()) {
        spin_timed_out(l, ticket);
    }
}

/* Take the lock if it is free (next == serving) by moving next past
 * serving: the ticket that would be served at once, or nothing.  The CAS's
 * acquire pairs with the release store in raw_spin_unlock(). */
static bool take_if_free(struct spinlock *l)
{
    uint32_t serving = atomic_load_explicit(&l->serving, memory_order_relaxed);
    uint32_t expected = serving;
    return atomic_compare_exchange_strong_explicit(&l->next, &expected, serving + 1,
                                                   memory_order_acquire, memory_order_relaxed);
}

void (*spin_lock_taken_test_hook)(struct spinlock *l);

static void set_owner(struct spinlock *l, uintptr_t pc)
{
    l->owner_cpu = (int)this_cpu_id();
    l->owner_pc = pc;
    lock_order_acquired(l);
    void (*hook)(struct spinlock *) = READ_ONCE(spin_lock_taken_test_hook);
    if (__builtin_expect(hook != NULL, 0))
        hook(l);
}

/* Test-and-set: take_if_free until it works; no ticket is drawn, so a
 * preempted waiter holds no place that others must wait for. */
static void tas_lock(struct spinlock *l)
{
    struct spin_wait w;
    spin_wait_start(&w, l);
    /* Plain reads first, so waiters spin on a shared cache line instead of
     * bouncing it with failed CAS attempts. */
    while (!(atomic_load_explicit(&l->next, memory_order_relaxed) ==
                 atomic_load_explicit(&l->serving, memory_order_relaxed) &&
             take_if_free(l)))
        spin_wait_step(&w, l, atomic_load_explicit(&l->serving, memory_order_relaxed));
}

void raw_spin_lock(struct spinlock *l)
{
    lock_order_check(l);
    if (spin_kind == SPIN_TAS) {
        tas_lock(l);
    } else {
        uint32_t ticket = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
        if (atomic_load_explicit(&l->serving, memory_order_acquire) != ticket) {
            struct spin_wait w;
            spin_wait_start(&w, l);
            /* Pairs with the release store in raw_spin_unlock(). */
            while (atomic_load_explicit(&l->serving, memory_order_acquire) != ticket)
                spin_wait_step(&w, l, ticket);
        }
    }
    set_owner(l, (uintptr_t)__builtin_return_address(0));
}

void spin_lock(struct spinlock *l)
{
    preempt_disable();
    raw_spin_lock(l);
}

/* No order check in the trylocks: a trylock does not wait. */
bool raw_spin_trylock(struct spinlock *l)
{
    if (!take_if_free(l))
        return false;
    set_owner(l, (uintptr_t)__builtin_return_address(0));
    return true;
}

bool spin_trylock(struct spinlock *l)
{
    preempt_disable();
    if (!take_if_free(l)) {
        preempt_enable();
        return false;
    }
    set_owner(l, (uintptr_t)__builtin_return_address(0));
    return true;
}

void raw_spin_unlock(struct spinlock *l)
{
    lock_order_released(l);
    l->owner_cpu = -1;
    l->owner_pc = 0;
    uint32_t s = atomic_load_explicit(&l->serving, memory_order_relaxed);
    /* Pairs with the acquire load in spin_lock(). */
    atomic_store_explicit(&l->serving, s + 1, memory_order_release);
}

void spin_unlock(struct spinlock *l)
{
    raw_spin_unlock(l);
    preempt_enable();
}

bool spin_is_locked(struct spinlock *l)
{
    return atomic_load_explicit(&l->next, memory_order_relaxed) !=
           atomic_load_explicit(&l->serving, memory_order_relaxed);
}

bool spin_held_by_me(struct spinlock *l)
{
    return spin_is_locked(l) && READ_ONCE(l->owner_cpu) == (int)this_cpu_id();
}

uint64_t spin_lock_irqsave(struct spinlock *l)
{
    uint64_t flags = arch_irq_save();
    preempt_disable();
    raw_spin_lock(l);
    return flags;
}

void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
    raw_spin_unlock(l);
    arch_irq_restore(flags);
    /* After the restore, so a reschedule requested meanwhile can happen now. */
    preempt_enable();
}
