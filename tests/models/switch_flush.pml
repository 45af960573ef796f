/*
 * tests/models/switch_flush.pml - the switch/flush ordering of
 * arch/x86_64/mm/tlb_switch.c (S1-S3, lazy_catch_up, leave_mm,
 * enter_lazy_tlb) against flush_tlb_mm_range and its handler in
 * arch/x86_64/mm/tlb.c (F1, F2), under x86-TSO store buffers.
 * docs/models.md maps every statement to the code.
 *
 *   spin -a switch_flush.pml && cc -DSAFETY -o pan pan.c && ./pan
 *   spin -DNO_CATCHUP_FENCE -a switch_flush.pml ...   (a variant: see VARIANTS)
 *
 * THE MACHINE.  CPU 0 (SW) switches: it runs user tasks of M (the mm
 * being flushed), of X (another user mm) and of init_mm, and kernel
 * threads that borrow whatever it had loaded.  CPUs 1..FLUSHERS are
 * threads of M; flusher f changes the PTE of page f-1 (ROUNDS times) and
 * flushes it.  Only SW's TLB is modelled: per page of M, the version of
 * the PTE its PCID for M caches (0: nothing) - with PCID on, entries of M
 * survive a CR3 write to another PCID.  A page walker may fill an empty
 * entry from memory at any moment while CR3 holds M (speculation), also
 * while SW runs a kernel thread lazily.
 *
 * THE INVARIANTS (assertions)
 *   USER: when SW's user task of M touches memory (it runs in user mode,
 *         interrupts on), no entry it holds is older than a change whose
 *         flush returned: tlb[p] == 0 || tlb[p] >= done[p].
 *   TABLES: when a flush that freed page tables returns, no CPU that has M
 *         in CR3 (lazy or not) still holds a translation (or paging-
 *         structure entry) from before the change: the freed table could
 *         be walked.
 *
 * VARIANTS (each removes one ordering step the code relies on; each must
 * make spin find an assertion violation - tools/run-models.sh checks):
 *   NO_S2_RMW          S2 sets the cpumask bit with a plain store
 *   NO_S2_LAZY_FENCE   no fence in switch_mm when the bit was set and we were lazy
 *   NO_CATCHUP_FENCE   no fence between S1 and S3 in lazy_catch_up
 *   NO_LEAVE_FENCE     no fence after is_lazy = false in leave_mm
 *   NO_PARK_FENCE      no fence in switch_mm between parked = false and S3
 *                      when the bit was set (a parked CPU is skipped)
 *   CR3_NO_DRAIN       a CR3 write does not drain the store buffer (it is
 *                      serializing on x86; switch_mm(&init_mm) relies on it)
 *   F2_BEFORE_F1       the flusher's F2 loads pass its F1 (no full barrier)
 *   S3_AFTER_CR3       switch_mm records a tlb_gen read after the CR3 write
 *   CATCHUP_GEN_LATE   lazy_catch_up records a tlb_gen read after its flush
 *   HANDLER_GEN_LATE   the handler's full flush records a tlb_gen read after it
 *   PARTIAL_ANY_GEN    INVLPG advances the slot from any older generation
 *   SKIP_LAZY_FREED    lazy CPUs are skipped also when tables are freed
 *   NO_WAIT            the flusher returns without waiting for its IPIs
 */

#ifndef FLUSHERS
#define FLUSHERS 2              /* CPUs 1..FLUSHERS flush page f-1 */
#endif
#ifndef ROUNDS
#define ROUNDS 1                /* flushes per flusher */
#endif

#define SW      0               /* the switching CPU */
#define NCPU    (FLUSHERS + 1)
#define NPAGE   FLUSHERS
#define SBN     3

/* memory */
#define A_LAZY  0               /* tlbstate_shared(SW)->is_lazy */
#define A_BIT   1               /* SW's bit in M->cpumask */
#define A_GEN   2               /* M->tlb_gen */
#define A_PARK  3               /* tlbstate_shared(SW)->parked */
#define A_PTE   4               /* A_PTE + p: page p's PTE (a version, 1 = the first) */
#define NADDR   (A_PTE + NPAGE)
byte mem[NADDR];

#include "tso.h"

/* address spaces */
#define INIT    0               /* init_mm: PCID 0 */
#define M       1               /* the mm being flushed */
#define X       2               /* another user mm (never flushed here) */
#define SWITCHING 3             /* LOADED_MM_SWITCHING */

/* what SW runs */
#define T_UM    0               /* a user task of M */
#define T_UX    1               /* a user task of X */
#define T_UI    2               /* a task with task->mm == &init_mm (tests) */
#define T_K     3               /* a kernel thread, borrowing `amm` (its active_mm) */

/* SW's CR3 and its TLB for M: what the hardware and the flushers' TABLES
 * assertion look at.  SW's private state (struct cpu_tlbstate, the
 * scheduler's task and active_mm) is local to the Switcher process. */
byte cr3 = M;                   /* what CR3 really holds */
byte tlb[NPAGE];                /* M's PCID on SW: cached PTE version, 0: none */

/* one call slot per flusher for SW (kernel/smp/smp_call.c, slot[f][SW]) */
bool ipi[NCPU];                 /* busy: queued or running */
byte req_gen[NCPU];             /* flush_request.new_gen */
bool req_freed[NCPU];           /* .freed_tables */
bool req_full[NCPU];            /* the range is above the ceiling */

/* ghost: the PTE version of page p whose flush returned */
byte done[NPAGE];

/* USER: SW's entry for page p is not older than a flush that returned */
#define FRESH(p)        (tlb[p] == 0 || tlb[p] >= done[p])

/* A CR3 write: serializing, so it first drains the store buffer.  flush:
 * without NOFLUSH (M's PCID loses its entries). */
inline cr3_write(to, flush)
{
    atomic {
#ifndef CR3_NO_DRAIN
        rmw_begin(SW) ->
#endif
        cr3 = to;
        if
        :: flush -> tso_i = 0;
            do
            :: tso_i < NPAGE -> tlb[tso_i] = 0; tso_i++
            :: else -> tso_i = 0; break
            od
        :: else -> skip
        fi
    }
}

/* tlb_switch.c: leave_mm() (interrupts off) */
inline leave_mm()
{
    if
    :: loaded != INIT ->
        loaded = SWITCHING;
        cr3_write(INIT, 0);             /* tlb_write_cr3(&init_mm, 0, NOFLUSH) */
        store(SW, A_LAZY, 0);           /* publish_unlazy() */
#ifndef NO_LEAVE_FENCE
        fence(SW);                      /* atomic_thread_fence(seq_cst) */
#endif
        loaded = INIT
    :: else -> skip                     /* stays parked (tlb_switch.c) */
    fi
}

/* tlb_switch.c: lazy_catch_up() */
inline lazy_catch_up()
{
    store(SW, A_LAZY, 0);               /* S1 */
#ifndef NO_CATCHUP_FENCE
    fence(SW);                          /* S2: the fence */
#endif
    load(SW, A_GEN, gen);               /* S3 */
    if
    :: slot_gen < gen ->
#ifndef CATCHUP_GEN_LATE
        slot_gen = gen;
        cr3_write(M, 1)
#else
        cr3_write(M, 1);
        load(SW, A_GEN, gen);
        slot_gen = gen
#endif
    :: else -> skip
    fi
}

/* tlb_switch.c: switch_mm(prev, nxt) (interrupts off) */
inline switch_mm(nxt)
{
    if
    :: loaded == nxt ->
        load(SW, A_LAZY, lz);
        if
        :: lz && nxt == M -> lazy_catch_up()
        :: lz && nxt != M ->
            /* X is never flushed: its catch-up finds nothing to do */
            store(SW, A_LAZY, 0);
            fence(SW)
        :: else -> skip
        fi
    :: else ->
        load(SW, A_LAZY, was_lazy);
        load(SW, A_PARK, was_parked);
        loaded = SWITCHING;
        if
        :: was_lazy -> store(SW, A_LAZY, 0)     /* S1 */
        :: else -> skip
        fi;
        if
        :: was_parked && nxt != INIT -> store(SW, A_PARK, 0)     /* S1' (PARK) */
        :: else -> skip
        fi;
        if
        :: nxt == INIT ->
            cr3_write(INIT, 0);                 /* NOFLUSH to PCID 0 */
            loaded = INIT
        :: nxt == X ->
            /* X is never flushed here: its S2 and S3 do not matter, its
             * locked RMW or fence drains like the CR3 write does. */
            cr3_write(X, 0);
            loaded = X
        :: nxt == M ->
            load(SW, A_BIT, mbit);               /* S2: test before set */
            if
            :: !mbit ->
#ifndef NO_S2_RMW
                atomic { rmw_begin(SW) -> mem[A_BIT] = 1 }  /* cpumask_test_and_set_cpu_atomic */
#else
                store(SW, A_BIT, 1)
#endif
            :: mbit && was_lazy ->
#ifndef NO_S2_LAZY_FENCE
                fence(SW)                       /* "orders S1 before S3" */
#else
                skip
#endif
            :: mbit && !was_lazy && was_parked ->
#ifndef NO_PARK_FENCE
                fence(SW)                       /* "orders S1' before S3" */
#else
                skip
#endif
            :: else -> skip
            fi;
#ifndef S3_AFTER_CR3
            load(SW, A_GEN, gen);               /* S3 */
            flush = (!slot_valid || slot_gen < gen);    /* choose_asid */
            slot_valid = 1;
            slot_gen = gen;
            cr3_write(M, flush);
#else
            load(SW, A_GEN, gen);
            flush = (!slot_valid || slot_gen < gen);
            slot_valid = 1;
            cr3_write(M, flush);
            load(SW, A_GEN, gen);
            slot_gen = gen;
#endif
            loaded = M
        fi
    fi
}

/* tlb_switch.c: enter_lazy_tlb() */
inline enter_lazy_tlb()
{
    if
    :: loaded != INIT ->
        load(SW, A_LAZY, lz);
        if
        :: !lz -> store(SW, A_LAZY, 1)          /* publish_lazy() */
        :: else -> skip
        fi
    :: else -> skip
    fi
}

/* tlb.c: flush_handler -> flush_on_this_cpu(), for flusher f's request
 * (interrupts off) */
inline handler(f)
{
    cur_active = (task == T_UM -> M : (task == T_UX -> X : (task == T_UI -> INIT : amm)));
    if
    :: loaded != M ->
        load(SW, A_BIT, mbit);
        if
        :: cur_active != M && mbit ->
            atomic { rmw_begin(SW) -> mem[A_BIT] = 0 };   /* cpumask_test_and_clear_cpu_atomic */
            /* drop_cached_asid (INVPCID): read the generation, then
             * drop the PCID's entries; the slot stays valid. */
            if
            :: slot_valid ->
                load(SW, A_GEN, gen);
                d_step {
                    tso_i = 0;
                    do
                    :: tso_i < NPAGE -> tlb[tso_i] = 0; tso_i++
                    :: else -> tso_i = 0; break
                    od
                };
                slot_gen = gen
            :: else -> skip
            fi
        :: cur_active == M -> store(SW, A_PARK, 1)  /* borrowed, on init_mm: tlb_park_this_cpu */
        :: else -> skip
        fi
    :: else ->
        load(SW, A_LAZY, lz);
        if
        :: lz ->
            if
            :: req_freed[f] -> leave_mm(); store(SW, A_PARK, 1)
            :: else -> skip
            fi
        :: else ->
            lgen = slot_gen;
            if
            :: lgen >= req_gen[f] -> skip                      /* caught up */
#ifndef PARTIAL_ANY_GEN
            :: lgen < req_gen[f] && req_gen[f] == lgen + 1 && !req_full[f] ->
#else
            :: lgen < req_gen[f] && !req_full[f] ->
#endif
                tlb[f - 1] = 0;                                 /* INVLPG */
                slot_gen = req_gen[f]
            :: else ->
#ifndef HANDLER_GEN_LATE
                load(SW, A_GEN, gen);                           /* full flush */
                slot_gen = gen;
                cr3_write(M, 1)
#else
                cr3_write(M, 1);
                load(SW, A_GEN, gen);
                slot_gen = gen
#endif
            fi
        fi
    fi
}

/* The Switcher's temporaries are dead between its steps: zero them, so
 * that states differing only in them are one state. */
inline forget()
{
    lz = 0; was_lazy = 0; was_parked = 0; mbit = 0; gen = 0; lgen = 0; cur_active = 0; flush = 0
}

proctype Switcher()
{
    byte loaded = M;            /* ts->loaded_mm */
    byte task = T_UM;           /* what runs */
    byte amm = INIT;            /* the kernel thread's active_mm (task == T_K) */
    bool slot_valid = 1;        /* SW's ASID slot for M: ctx_id matches ... */
    byte slot_gen = 0;          /* ... and its tlb_gen */
    byte lz, was_lazy, was_parked, mbit, gen, lgen, cur_active;     /* temporaries */
    bool flush;
end_sw:
    do
    /* interrupts are on between the steps below: serve a queued call */
    :: ipi[1] -> handler(1); d_step { ipi[1] = 0; forget() }   /* R2: the slot's release */
#if FLUSHERS >= 2
    :: ipi[2] -> handler(2); d_step { ipi[2] = 0; forget() }
#endif
    /* context_switch to a user task (switch_mm; a borrow ends after it) */
    :: task != T_UM -> switch_mm(M); d_step { task = T_UM; amm = INIT; forget() }
#ifndef ONLY_M
    :: task != T_UX -> switch_mm(X); d_step { task = T_UX; amm = INIT; forget() }
    :: task != T_UI -> switch_mm(INIT); d_step { task = T_UI; amm = INIT; forget() }
#endif
    /* context_switch to a kernel thread: it borrows what is loaded */
    :: task != T_K ->
        d_step {
            amm = (task == T_UM -> M : (task == T_UX -> X : INIT));
            task = T_K
        };
        enter_lazy_tlb();
        d_step { forget() }
    /* lazy_mm's drop_borrow_here (an IPI): leave_mm, let go of the borrow */
    :: task == T_K && amm != INIT -> leave_mm(); d_step { amm = INIT; forget() }
    /* the user task of M touches memory (user mode, interrupts on) */
    :: task == T_UM ->
#if FLUSHERS >= 2
        assert(FRESH(0) && FRESH(1))
#else
        assert(FRESH(0))
#endif
    od
}

/* flush_tlb_mm_range(M, page f-1, freed_tables) on CPU f, ROUNDS times */
proctype Flusher(byte f)
{
    byte round = 0, v, new_gen, mbit, lz, pk;
    bool freed, wide, target;
    do
    :: round < ROUNDS ->
        if
        :: freed = 1
        :: freed = 0
        fi;
        if
        :: wide = 1
        :: wide = 0
        fi;
        v = round + 2;
        store(f, A_PTE + f - 1, v);             /* the page-table change */
#ifndef F2_BEFORE_F1
        atomic { rmw_begin(f) -> mem[A_GEN]++; new_gen = mem[A_GEN] }   /* F1 */
#endif
        load(f, A_BIT, mbit);                    /* F2 */
        target = 0;
        if
        :: mbit ->
            load(f, A_LAZY, lz);
            load(f, A_PARK, pk);                /* parked: skipped, tables or not */
#ifndef SKIP_LAZY_FREED
            target = !pk && (!lz || freed)
#else
            target = !pk && !lz
#endif
        :: else -> skip
        fi;
#ifdef F2_BEFORE_F1
        atomic { rmw_begin(f) -> mem[A_GEN]++; new_gen = mem[A_GEN] }
#endif
        if
        :: target ->
            ipi[f] == 0;                        /* A1: our slot is free */
            atomic {                            /* R1: queue_call's CAS */
                rmw_begin(f) ->
                req_gen[f] = new_gen;
                req_freed[f] = freed;
                req_full[f] = wide;
                ipi[f] = 1
            }
        :: else -> skip
        fi;
#ifndef NO_WAIT
        ipi[f] == 0;                            /* A2: the call returned */
#endif
        d_step {
            done[f - 1] = v;                    /* the flush returned */
            assert(!freed || cr3 != M || tlb[f - 1] == 0 || tlb[f - 1] >= v)
        };
        d_step { round++; v = 0; new_gen = 0; mbit = 0; lz = 0; pk = 0; freed = 0; wide = 0; target = 0 }
    :: else -> break
    od
}

/* The hardware: store buffers drain, the page walker fills SW's TLB. */
proctype Hw()
{
end_hw:
    do
    :: drain_one(0)
    :: drain_one(1)
#if FLUSHERS >= 2
    :: drain_one(2)
#endif
    :: atomic { cr3 == M && tlb[0] == 0 -> tlb[0] = mem[A_PTE] }
#if FLUSHERS >= 2
    :: atomic { cr3 == M && tlb[1] == 0 -> tlb[1] = mem[A_PTE + 1] }
#endif
    od
}

init {
    atomic {
        mem[A_BIT] = 1;                         /* SW runs M: its bit is set */
        mem[A_PTE] = 1;
#if FLUSHERS >= 2
        mem[A_PTE + 1] = 1;
#endif
        run Hw();
        run Switcher();
        run Flusher(1);
#if FLUSHERS >= 2
        run Flusher(2);
#endif
    }
}
