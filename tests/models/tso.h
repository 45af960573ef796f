/*
 * tests/models/tso.h - x86-TSO store buffers for the Promela models
 * (docs/models.md).  Included by the .pml files; spin runs them through
 * the C preprocessor.
 *
 * x86-TSO (Sewell, Owens et al., CACM 2010): every CPU has a FIFO store
 * buffer.  A store goes into the buffer; a load returns this CPU's newest
 * buffered store to the address, else memory; the hardware drains the
 * oldest entry to memory at any moment (the process Hw below does it);
 * MFENCE and every LOCK-prefixed read-modify-write first wait for the
 * buffer to be empty, and the RMW then acts on memory in one step.  Only
 * one reordering is visible: a load can be satisfied before an older
 * store of the same CPU reaches memory.
 *
 * The including file defines NCPU (CPUs with a buffer), NADDR (memory
 * words) and SBN (buffer depth), and declares `byte mem[NADDR]`.
 */

byte sb_a[NCPU * SBN];      /* buffered stores: address ... */
byte sb_v[NCPU * SBN];      /* ... and value, oldest first */
byte sb_n[NCPU];            /* how many are buffered */
hidden byte tso_i;          /* scratch (not part of the state) */

/* A plain store (MOV): appended to the buffer; waits while it is full
 * (the drain then runs first - an ordinary interleaving). */
inline store(c, a, v)
{
    atomic {
        sb_n[c] < SBN ->
        sb_a[c * SBN + sb_n[c]] = a;
        sb_v[c * SBN + sb_n[c]] = v;
        sb_n[c]++
    }
}

/* A plain load (MOV): this CPU's newest buffered store to a, else memory. */
inline load(c, a, r)
{
    d_step {
        r = mem[a];
        tso_i = 0;
        do
        :: tso_i < sb_n[c] ->
            if
            :: sb_a[c * SBN + tso_i] == a -> r = sb_v[c * SBN + tso_i]
            :: else -> skip
            fi;
            tso_i++
        :: else -> break
        od;
        tso_i = 0
    }
}

/* The hardware writes CPU c's oldest buffered store to memory. */
inline drain_one(c)
{
    d_step {
        sb_n[c] > 0 ->
        mem[sb_a[c * SBN]] = sb_v[c * SBN];
        tso_i = 1;
        do
        :: tso_i < sb_n[c] ->
            sb_a[c * SBN + tso_i - 1] = sb_a[c * SBN + tso_i];
            sb_v[c * SBN + tso_i - 1] = sb_v[c * SBN + tso_i];
            tso_i++
        :: else -> break
        od;
        sb_n[c]--;
        sb_a[c * SBN + sb_n[c]] = 0;
        sb_v[c * SBN + sb_n[c]] = 0;
        tso_i = 0
    }
}

/* MFENCE (atomic_thread_fence(seq_cst)): wait until the buffer is empty. */
#define fence(c)        (sb_n[c] == 0)

/* A locked RMW on memory: `atomic { rmw_begin(c) -> ...memory ops... }`. */
#define rmw_begin(c)    (sb_n[c] == 0)
