/*
 * user/lib/mutex.c - a mutex on futexes (the three-state lock of Drepper's
 * "Futexes Are Tricky"): 0 unlocked, 1 locked, 2 locked and maybe waited
 * for.  Lock and unlock are one atomic each while nobody waits; a waiter
 * sets 2 and sleeps in futex_wait while the word still reads 2, and the
 * unlock of a 2 wakes one waiter.  The kernel's futex_wait rechecks the
 * word after queueing the waiter (kernel/proc/futex.c), so an unlock
 * between our store of 2 and the call is not lost: the call returns at
 * once.
 */
#include <ulib.h>

void umutex_lock(struct umutex *m)
{
    uint32_t c = 0;
    if (atomic_compare_exchange_strong(&m->state, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(&m->state, 2);
    while (c != 0) {
        sys_futex_wait((volatile uint32_t *)&m->state, 2, 0);
        c = atomic_exchange(&m->state, 2);
    }
}

void umutex_unlock(struct umutex *m)
{
    if (atomic_exchange(&m->state, 0) == 2)
        sys_futex_wake((volatile uint32_t *)&m->state, 1);
}
