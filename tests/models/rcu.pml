/*
 * tests/models/rcu.pml - RCU's grace period under x86-TSO store buffers
 * (kernel/rcu/rcu.c, docs/rcu.md; docs/models.md says how to read a model).
 *
 * CPU 0 is the writer and the grace-period thread in one: it publishes the
 * new object (P = 1), takes the snapshot of CPU 1's quiescent-state count
 * (G1: a full fence first; G2), waits until the count moved (G3), and then
 * frees the old object (G4: a fence, then ALIVE[0] = 0, the poison).  CPU 1
 * runs ROUNDS times: a quiescent state (Q1, a locked increment of its
 * count), then a reader (load P, then load the object's ALIVE word).
 * Safety: a reader never finds the object it loaded freed.
 *
 * Variants (tools/run-models.sh):
 *   NO_QS_FENCE  the count is bumped with a plain store: the reader's load
 *                of P can overtake it (store buffering) - rejected;
 *   NO_G1_FENCE  no fence between the publish and the snapshot - rejected;
 *   NO_WAIT      the writer frees without waiting for the count - rejected;
 *   NO_G4_FENCE  no fence between the count's load and the free: passes,
 *                x86 never lets a store overtake an older load (the fence
 *                is kept for the compiler and for weaker CPUs).
 */
#define NCPU    2
#define SBN     3
#define A_P         0
#define A_QS        1
#define A_ALIVE     2       /* ALIVE[0], ALIVE[1]: the old and the new object */
#define NADDR   4

#ifndef ROUNDS
#define ROUNDS  2
#endif

byte mem[NADDR];
#include "tso.h"

proctype Writer()
{
    byte snap, now;
    store(0, A_P, 1);                           /* publish the new object */
#ifndef NO_G1_FENCE
    fence(0);                                   /* G1 */
#endif
    load(0, A_QS, snap);                        /* G2 */
#ifndef NO_WAIT
    do                                          /* G3 */
    :: load(0, A_QS, now);
       if
       :: now != snap -> break
       :: else -> skip
       fi
    od;
#endif
#ifndef NO_G4_FENCE
    fence(0);                                   /* G4 */
#endif
    store(0, A_ALIVE, 0)                        /* free (poison) the old one */
}

proctype Reader()
{
    byte i, got, alive;    /* not r or a: tso.h's inlines name their parameters so */
    for (i : 1 .. ROUNDS) {
#ifdef NO_QS_FENCE
        load(1, A_QS, got);
        store(1, A_QS, got + 1);
#else
        atomic { rmw_begin(1) -> mem[A_QS] = mem[A_QS] + 1 }   /* Q1 */
#endif
        load(1, A_P, got);                      /* rcu_dereference */
        load(1, A_ALIVE + got, alive);
        assert(alive == 1)
    }
}

proctype Hw()
{
end_hw:
    do
    :: drain_one(0)
    :: drain_one(1)
    od
}

init {
    atomic {
        mem[A_ALIVE] = 1;
        mem[A_ALIVE + 1] = 1;
        run Writer();
        run Reader();
        run Hw()
    }
}
