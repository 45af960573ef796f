/*
 * tests/models/kflush_defer.pml - kernel flushes deferred for CPUs in user
 * mode or idle, under x86-TSO store buffers (arch/x86_64/kctx.c and
 * arch/x86_64/mm/tlb_kernel.c; docs/tlb.md "Kernel flushes deferred for
 * user and idle CPUs"; docs/models.md says how to read a model).
 *
 * CPU 0 is the flusher: ROUNDS times it changes one kernel PTE (a plain
 * store of the next version into its store buffer), then D1: a locked
 * compare-exchange on CPU 1's context word that sets PENDING unless the
 * state is kernel; if the state was kernel it sends an IPI and waits for
 * it.  Then the flush has returned: the ghost variable `done` (not in
 * memory, nobody loads it) says which version every CPU must use from now
 * on.  CPU 1 goes round ROUNDS + 1 times: X1 (a plain store of "user" -
 * idle is the same to the protocol), E1 (a locked compare-exchange: state
 * kernel, PENDING kept), the entry flush if PENDING was set, E2 (a locked
 * clear of PENDING), then it uses the mapping.  The hardware drains store
 * buffers, delivers the IPI whenever it is pending (an interrupt in user
 * mode or in the kernel: the handler flushes), and fills CPU 1's TLB entry
 * from memory at any moment when it is empty - even in user mode, because
 * the kernel half is mapped there and the CPU may walk it speculatively.
 *
 * Safety: when CPU 1 uses the mapping, its TLB holds nothing or a version
 * at least `done` - never a translation older than a flush that returned.
 *
 * Variants (tools/run-models.sh), each rejected by spin:
 *   D1_SPLIT           D1 as a load and a later plain store: CPU 1's E1 can
 *                      come in between, and the PENDING it never sees is
 *                      lost;
 *   D1_SKIP_IF_PENDING no locked write when PENDING is set already: the new
 *                      PTE can still sit in the flusher's store buffer when
 *                      CPU 1 flushes at entry, and its next walk re-caches
 *                      the old one;
 *   E1_SPLIT           E1 as a plain load of the word and a plain store of
 *                      "kernel": a D1 in between is overwritten;
 *   NO_ENTRY_FLUSH     PENDING seen, no flush (tlb_inject=kdefer_skip_entry).
 */
#define NCPU    2
#define SBN     2
#define A_PTE   0
#define A_WORD  1       /* CPU 1's context word: state | PENDING */
#define NADDR   2

#define ST_KERNEL   0
#define ST_USER     1
#define PENDING     4
#define ST_MASK     3

#ifndef ROUNDS
#define ROUNDS  2
#endif

byte mem[NADDR];
#include "tso.h"

byte tlb;           /* CPU 1's cached version of the PTE; 0: nothing */
byte done;          /* ghost: the newest version whose flush returned */
bool ipi;           /* an IPI to CPU 1 is pending */

proctype Flusher()
{
    byte v, old;
    for (v : 1 .. ROUNDS) {
        store(0, A_PTE, v + 1);             /* the PTE change: versions 2, 3, ... */
#ifdef D1_SPLIT
        load(0, A_WORD, old);
        if
        :: (old & ST_MASK) != ST_KERNEL -> store(0, A_WORD, old | PENDING)
        :: else -> skip
        fi;
#elif defined(D1_SKIP_IF_PENDING)
        load(0, A_WORD, old);
        if
        :: old & PENDING -> skip            /* "already deferred": no locked write */
        :: else ->
            atomic { rmw_begin(0) ->
                old = mem[A_WORD];
                if
                :: (old & ST_MASK) != ST_KERNEL -> mem[A_WORD] = old | PENDING
                :: else -> skip
                fi
            }
        fi;
#else
        atomic { rmw_begin(0) ->            /* D1 */
            old = mem[A_WORD];
            if
            :: (old & ST_MASK) != ST_KERNEL -> mem[A_WORD] = old | PENDING
            :: else -> skip
            fi
        }
#endif
        if
        :: (old & ST_MASK) == ST_KERNEL ->
            fence(0);                       /* sending an IPI is serializing */
            ipi = true;
            !ipi                            /* wait for the handler */
        :: else -> skip
        fi;
        done = v + 1
    }
}

proctype Cpu1()
{
    byte i, old;
    for (i : 0 .. ROUNDS) {
        store(1, A_WORD, ST_USER);          /* X1: a plain release store */
        /* ... user mode (or idle) ... */
#ifdef E1_SPLIT
        load(1, A_WORD, old);
        store(1, A_WORD, ST_KERNEL | (old & PENDING));
#else
        atomic { rmw_begin(1) ->            /* E1 */
            old = mem[A_WORD];
            mem[A_WORD] = ST_KERNEL | (old & PENDING)
        }
#endif
        if
        :: old & PENDING ->
#ifndef NO_ENTRY_FLUSH
            tlb = 0;                        /* local_flush_tlb_all */
#endif
            atomic { rmw_begin(1) -> mem[A_WORD] = mem[A_WORD] & ~PENDING }   /* E2 */
        :: else -> skip
        fi;
        assert(tlb == 0 || tlb >= done)     /* the kernel uses the mapping */
    }
}

proctype Hw()
{
end_hw:
    do
    :: drain_one(0)
    :: drain_one(1)
    :: atomic { tlb == 0 -> tlb = mem[A_PTE] }     /* a page walk, speculative or not */
    :: atomic { ipi -> tlb = 0; ipi = false }      /* the flush IPI's handler */
    od
}

init {
    atomic {
        mem[A_PTE] = 1;
        mem[A_WORD] = ST_KERNEL;
        run Flusher();
        run Cpu1();
        run Hw()
    }
}
