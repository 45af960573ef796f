/*
 * tests/models/lazy_mm.pml - the four lazy-mm exit protocols of
 * kernel/mm/lazy_mm.c (refcount, shootdown, hazard, mmput) under x86-TSO
 * store buffers.  docs/models.md maps every statement to the code.
 *
 *   spin -DMODE=HAZARD -a lazy_mm.pml && cc -DSAFETY -o pan pan.c && ./pan
 *
 * THE MACHINE.  Two CPUs.  T, the only thread of the user mm M, starts on
 * CPU 1.  Each CPU also has a kernel thread K (it borrows whatever is
 * loaded) and a user task U of another mm X (switching to it ends a
 * borrow).  In any order the CPUs: switch T out to K (the borrow of M
 * starts, T's on_cpu is released), pick T up on the other CPU (after
 * reading its on_cpu false), switch K <-> U, let T munmap once (MUNMAPS
 * times with -DMUNMAPS=N; each a flush
 * that frees page tables) and let T exit: exit_mm makes it a kernel thread
 * that borrows M, mmput tears the mappings down (a freed_tables flush),
 * the last mmdrop runs lazy_mm_before_free() and frees M.  In mmput mode
 * the teardown's flush also ends the borrow on every CPU it reaches
 * (lazy_mm_flush_end_borrow) and the last mmdrop calls nobody.  Calls (IPIs)
 * run on their target between its steps (interrupts on) or, for the
 * caller itself, inline.
 *
 * THE INVARIANT (assertions): when M is freed, no CPU borrows it or has it
 * in CR3; no borrow of M starts after it was freed; mm_count never drops
 * below zero.
 *
 * VARIANTS (each must make spin find a violation; tools/run-models.sh):
 *   RC_NO_GRAB          refcount: the borrow takes no reference (tlb_inject=early_lazy_drop)
 *   RC_DROP_BEFORE_CR3  refcount: the borrow's mmdrop before switch_mm's CR3 write
 *   SD_SKIP             shootdown: no IPIs at the last mmdrop (tlb_inject=skip_exit_shootdown)
 *   SD_CLEAR_BORROWED   shootdown: a flush clears the cpumask bit of a CPU
 *                       that still borrows M (no active_mm check)
 *   HZ_SKIP             hazard: no scan (tlb_inject=skip_hazard_scan)
 *   HZ_PUBLISH_LATE     hazard: the slot store after the release of T's on_cpu
 *   HZ_EXIT_PUBLISH_LATE hazard: exit_mm publishes after its mmput
 *   HZ_CLEAR_EARLY      hazard: the slot cleared before the CR3 write that leaves M
 *   DROP_NO_LEAVE       a drop lets go of the borrow without leave_mm (CR3 stays on M)
 *   NO_WAIT             the drop IPIs are not waited for before the free
 *                       (mmput: the teardown flush's calls)
 *   MP_SKIP_DROP        mmput: the teardown flush's handler on the CPU that
 *                       did not send it keeps its borrow (tlb_inject=skip_mmput_drop)
 *   (SD_CLEAR_BORROWED with MODE=MMPUT and MUNMAPS=2: the second munmap's
 *   flush clears the bit of a borrower that the first one moved to
 *   init_mm, so the teardown flush misses it - (I2) is what mmput relies on
 *   too)
 */

#define REFCOUNT  0
#define SHOOTDOWN 1
#define HAZARD    2
#define MMPUT     3
#ifndef MODE
#define MODE HAZARD
#endif

#define NCPU    2
#define SBN     2

/* memory */
#define A_ONCPU 0               /* T->on_cpu */
#define A_USERS 1               /* M->mm_users */
#define A_COUNT 2               /* M->mm_count */
#define A_BIT   3               /* A_BIT + c: CPU c's bit in M->cpumask */
#define A_SLOT  5               /* A_SLOT + c: lazy_hazard_slot of CPU c (1: M) */
#define NADDR   7
byte mem[NADDR];

#include "tso.h"

#define INIT    0
#define M       1
#define X       2

/* what runs on a CPU */
#define R_T     0               /* T, a user thread of M */
#define R_K     1               /* a kernel thread (also T after exit_mm) */
#define R_U     2               /* a user task of X */

byte cr3[NCPU];                 /* what CR3 holds (loaded_mm between steps) */
bool lazy[NCPU];                /* is_lazy (only its CPU reads it here) */
byte runs[NCPU];
byte kmm[NCPU];                 /* the kernel thread's active_mm */
bool borrows[NCPU];             /* ghost: a borrow of M is going on */

/* T */
bool t_alive = 1;               /* T has not run exit_mm */
bool t_running = 1;             /* T is some CPU's current task */
/* T's munmaps (each a flush that frees page tables): one, or MUNMAPS */
#ifndef MUNMAPS
#define MUNMAPS 1
#endif
byte t_munmaps;

/* calls (kernel/smp/smp_call.c): one slot per target, T's CPU is the only caller */
#define C_FLUSH 1               /* flush_handler, freed_tables */
#define C_DROP  2               /* drop_borrow_here */
#define C_TEARDOWN 3            /* flush_handler of the last mmput's flush (freed_tables) */
byte call[NCPU];

bool freed;                     /* ghost: M was freed */

inline assert_not_freed_anywhere()
{
    assert(cr3[0] != M && cr3[1] != M && !borrows[0] && !borrows[1])
}

/* tlb_switch.c: leave_mm() (CR3 -> init_mm; serializing) */
inline leave_mm(c)
{
    atomic { rmw_begin(c) -> cr3[c] = INIT; lazy[c] = 0 }
}

/* lazy_mm.c: lazy_mm_borrow_start(M); the hazard slot store is publish() */
inline borrow_start(c)
{
    assert(!freed);
    borrows[c] = 1;
#if MODE == REFCOUNT && !defined(RC_NO_GRAB)
    atomic { rmw_begin(c) -> mem[A_COUNT]++ }                  /* mmgrab */
#endif
}

inline publish(c)
{
#if MODE == HAZARD
    store(c, A_SLOT + c, M)                                     /* hazard_publish(mm) */
#else
    skip
#endif
}

/* The last mmdrop: lazy_mm_before_free(), then free (mm.c: mmdrop). */
inline mmdrop(c)
{
    atomic {
        rmw_begin(c) ->
        assert(mem[A_COUNT] > 0);
        mem[A_COUNT]--;
        last = (mem[A_COUNT] == 0)
    };
    if
    :: last ->
#if MODE == SHOOTDOWN && !defined(SD_SKIP)
        /* exit_shootdown: call every CPU in M->cpumask */
        load(c, A_BIT + 0, v0);
        load(c, A_BIT + 1, v1);
        call_and_wait(c, v0, v1, C_DROP);
#elif MODE == HAZARD && !defined(HZ_SKIP)
        /* hazard_scan: call the CPUs whose slot holds M */
        load(c, A_SLOT + 0, v0);
        load(c, A_SLOT + 1, v1);
        call_and_wait(c, v0 == M, v1 == M, C_DROP);
#endif
        d_step {
            assert_not_freed_anywhere();
            freed = 1
        }
    :: else -> skip
    fi;
    last = 0; v0 = 0; v1 = 0
}

/* The borrow of M on c ends (finish_task_switch after the CR3 write, or a drop). */
inline borrow_release(c)
{
    borrows[c] = 0;
#if MODE == HAZARD
    store(c, A_SLOT + c, 0)                                     /* hazard_publish(NULL) */
#endif
}

/* lazy_mm.c: drop_borrow_here() (in a call IPI, or inline on the caller) */
inline drop_here(c)
{
    if
    :: runs[c] == R_K && kmm[c] == M ->
#ifndef DROP_NO_LEAVE
        if
        :: cr3[c] == M -> leave_mm(c)
        :: else -> skip
        fi;
#endif
        kmm[c] = INIT;
        borrow_release(c)
    :: else -> skip
    fi
}

/* lazy_mm.c: lazy_mm_flush_end_borrow() - mmput mode, after the TLB work
 * of the teardown flush's handler on c (remote: c did not send the flush) */
inline end_borrow_in_flush(c, remote)
{
#if MODE == MMPUT
#ifdef MP_SKIP_DROP
    if
    :: remote -> skip                   /* tlb_inject=skip_mmput_drop */
    :: else -> drop_here(c)
    fi
#else
    drop_here(c)
#endif
#else
    skip
#endif
}

/* tlb.c: flush_on_this_cpu() for M with freed_tables */
inline flush_here(c)
{
    if
    :: cr3[c] != M ->
        load(c, A_BIT + c, v0);
        if
#ifndef SD_CLEAR_BORROWED
        :: v0 && !(runs[c] == R_K && kmm[c] == M) ->
#else
        :: v0 ->
#endif
            atomic { rmw_begin(c) -> mem[A_BIT + c] = 0 }
        :: else -> skip
        fi;
        v0 = 0
    :: cr3[c] == M && lazy[c] -> leave_mm(c)
    :: else -> skip                     /* T runs here: its own flush */
    fi
}

inline serve(c)
{
    if
    :: call[c] == C_FLUSH -> flush_here(c)
    :: call[c] == C_TEARDOWN -> flush_here(c); end_borrow_in_flush(c, 1)
    :: call[c] == C_DROP -> drop_here(c)
    fi;
    call[c] = 0                         /* R2 */
}

/* smp_call_mask(targets, fn, wait) from c: remote calls queued (R1: a
 * locked CAS), our own run inline, then wait (A2). */
inline call_and_wait(c, to0, to1, kind)
{
    atomic {
        rmw_begin(c) ->
        if
        :: c != 0 && to0 -> call[0] = kind
        :: else -> skip
        fi;
        if
        :: c != 1 && to1 -> call[1] = kind
        :: else -> skip
        fi
    };
    if
    :: (c == 0 && to0) || (c == 1 && to1) ->
        if
        :: kind == C_FLUSH -> flush_here(c)
        :: kind == C_TEARDOWN -> flush_here(c); end_borrow_in_flush(c, 0)
        :: else -> drop_here(c)
        fi
    :: else -> skip
    fi;
#ifndef NO_WAIT
    call[1 - c] == 0
#else
    skip
#endif
}

/* tlb_switch.c: switch_mm(prev, next) for next = M or X */
inline switch_mm(c, next)
{
    if
    :: cr3[c] == next -> lazy[c] = 0                /* lazy_catch_up */
    :: else ->
        lazy[c] = 0;
        if
        :: next == M -> atomic { rmw_begin(c) -> mem[A_BIT + c] = 1 }  /* S2 */
        :: else -> skip
        fi;
        atomic { rmw_begin(c) -> cr3[c] = next }    /* CR3 write */
    fi
}

/* context_switch from a kernel thread to a user task of next: the borrow
 * ends after the switch (finish_task_switch -> lazy_mm_borrow_end). */
inline kernel_to_user(c, next)
{
#if MODE == REFCOUNT && defined(RC_DROP_BEFORE_CR3)
    if
    :: kmm[c] == M -> borrows[c] = 0; mmdrop(c)
    :: else -> skip
    fi;
#endif
#if MODE == HAZARD && defined(HZ_CLEAR_EARLY)
    if
    :: kmm[c] == M -> borrow_release(c)
    :: else -> skip
    fi;
#endif
    switch_mm(c, next);
    if
    :: kmm[c] == M && borrows[c] ->
        borrow_release(c);
#if MODE == REFCOUNT
        mmdrop(c)                       /* may be the last: no IPIs in refcount */
#endif
    :: else -> skip
    fi;
    kmm[c] = INIT
}

proctype Cpu(byte c)
{
    byte v0, v1;
    bool last;
end_cpu:
    do
    /* interrupts on: a call queued for us runs */
    :: call[c] != 0 -> serve(c)
    /* T -> K: the borrow of M starts; finish_task_switch releases on_cpu */
    :: runs[c] == R_T && t_alive ->
        borrow_start(c);
#ifndef HZ_PUBLISH_LATE
        publish(c);
#endif
        kmm[c] = M;
        runs[c] = R_K;
        atomic { lazy[c] = (cr3[c] != INIT) };      /* enter_lazy_tlb */
        store(c, A_ONCPU, 0);                       /* prev->on_cpu = false (release) */
        t_running = 0
#ifdef HZ_PUBLISH_LATE
        ; publish(c)
#endif
    /* K -> T: T is taken off the run queue (under rq->lock: one CPU
     * wins), then runs once its on_cpu reads false (acquire) */
    :: atomic { runs[c] == R_K && t_alive && !t_running -> t_running = 1 };
        do
        :: load(c, A_ONCPU, v0);
            if
            :: v0 == 0 -> break
            :: else -> skip
            fi
        od;
        v0 = 0;
        store(c, A_ONCPU, 1);
        runs[c] = R_T;
        kernel_to_user(c, M)
    /* K -> U and back */
    :: runs[c] == R_K -> runs[c] = R_U; kernel_to_user(c, X)
    :: runs[c] == R_U -> runs[c] = R_K; kmm[c] = INIT; atomic { lazy[c] = (cr3[c] != INIT) }
    /* T munmaps and frees a page table: flush to M->cpumask */
    :: runs[c] == R_T && t_alive && t_munmaps < MUNMAPS ->
        t_munmaps++;
        load(c, A_BIT + 0, v0);
        load(c, A_BIT + 1, v1);
        call_and_wait(c, v0, v1, C_FLUSH);
        v0 = 0; v1 = 0
    /* T exits: exit_mm, then mmput */
    :: runs[c] == R_T && t_alive ->
        borrow_start(c);
#ifndef HZ_EXIT_PUBLISH_LATE
        publish(c);                                 /* "the slot store precedes our mmput" */
#endif
        lazy[c] = 1;                                /* enter_lazy_tlb */
        kmm[c] = M;
        runs[c] = R_K;                              /* me->mm = NULL */
        t_alive = 0;
        t_running = 0;
        /* mmput: the last user tears down (a freed_tables flush), then
         * drops the users' mm_count reference */
        atomic { rmw_begin(c) -> mem[A_USERS]-- };
#ifndef NO_TEARDOWN_FLUSH
        load(c, A_BIT + 0, v0);
        load(c, A_BIT + 1, v1);
        call_and_wait(c, v0, v1, C_TEARDOWN);
        v0 = 0; v1 = 0;
#endif
        mmdrop(c)
#ifdef HZ_EXIT_PUBLISH_LATE
        ; publish(c)
#endif
    od
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
        /* T runs on CPU 1 (M loaded, bit set); CPU 0 runs K on init_mm */
        mem[A_ONCPU] = 1;
        mem[A_USERS] = 1;
        mem[A_COUNT] = 1;
        mem[A_BIT + 1] = 1;
        cr3[1] = M;
        runs[0] = R_K;
        runs[1] = R_T;
        run Hw();
        run Cpu(0);
        run Cpu(1)
    }
}
