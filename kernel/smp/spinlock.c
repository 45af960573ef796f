/* kernel/smp/spinlock.c - ticket spinlocks (see kernel/spinlock.h). */
#include <kernel/spinlock.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/time.h>
#include <kernel/preempt.h>
#include <arch/cpu.h>

uint64_t spin_timeout_ns = 10ull * 1000 * 1000 * 1000;

void spin_lock_init(struct spinlock *l, const char *name)
{
    atomic_store_explicit(&l->next, 0, memory_order_relaxed);
    atomic_store_explicit(&l->serving, 0, memory_order_relaxed);
    l->name = name;
    l->owner_cpu = -1;
    l->owner_pc = 0;
}

static __noinline void spin_timed_out(struct spinlock *l, uint32_t ticket)
{
    panic("spinlock '%s' held too long: cpu%u waits with ticket %u (serving %u), holder cpu%d from %p",
          l->name ? l->name : "?", this_cpu_id(), ticket,
          atomic_load_explicit(&l->serving, memory_order_relaxed),
          READ_ONCE(l->owner_cpu), (void *)READ_ONCE(l->owner_pc));
}

void raw_spin_lock(struct spinlock *l)
{
    uint32_t ticket = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);

    if (atomic_load_explicit(&l->serving, memory_order_acquire) != ticket) {
        uint64_t start = ktime_ns();
        unsigned spins = 0;
        /* Pairs with the release store in spin_unlock(). */
        while (atomic_load_explicit(&l->serving, memory_order_acquire) != ticket) {
            arch_cpu_relax();
            /* Check the clock now and then: reading it is not free. */
            if (++spins % 1024 == 0 && ktime_ns() - start > spin_timeout_ns && !panic_in_progress())
                spin_timed_out(l, ticket);
        }
    }
    l->owner_cpu = (int)this_cpu_id();
    l->owner_pc = (uintptr_t)__builtin_return_address(0);
}

void spin_lock(struct spinlock *l)
{
    preempt_disable();
    raw_spin_lock(l);
}

bool raw_spin_trylock(struct spinlock *l)
{
    uint32_t serving = atomic_load_explicit(&l->serving, memory_order_relaxed);
    uint32_t expected = serving;
    if (!atomic_compare_exchange_strong_explicit(&l->next, &expected, serving + 1,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    l->owner_cpu = (int)this_cpu_id();
    l->owner_pc = (uintptr_t)__builtin_return_address(0);
    return true;
}

bool spin_trylock(struct spinlock *l)
{
    uint32_t serving = atomic_load_explicit(&l->serving, memory_order_relaxed);
    uint32_t expected = serving;
    preempt_disable();
    /* Take a ticket only if it would be served at once. */
    if (!atomic_compare_exchange_strong_explicit(&l->next, &expected, serving + 1,
                                                 memory_order_acquire, memory_order_relaxed)) {
        preempt_enable();
        return false;
    }
    l->owner_cpu = (int)this_cpu_id();
    l->owner_pc = (uintptr_t)__builtin_return_address(0);
    return true;
}

void raw_spin_unlock(struct spinlock *l)
{
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
