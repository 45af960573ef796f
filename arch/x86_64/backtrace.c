/*
 * arch/x86_64/backtrace.c - walking the frame-pointer chain (see
 * arch/backtrace.h).
 *
 * The walk trusts nothing it reads.  A backtrace is printed when something
 * has already gone wrong - a stack may be overwritten, RBP may hold data -
 * and a fault inside the reporter would bury the report.  So each record
 * must
 *   - be 8-byte aligned and lie in the kernel half, in a region where
 *     stacks live (the kernel image for the boot stack and per-CPU IST
 *     stacks of CPU 0, the direct map for the stacks of other CPUs, the
 *     kernel virtual area for stacks with guard pages);
 *   - be above the record before it, by less than MAX_FRAME_BYTES: callers'
 *     frames are higher up the same stack.  The one exception is leaving
 *     an IST stack: a #DF/NMI/#MC handler runs on its own stack, and the
 *     interrupted code's records are on another (anywhere);
 *   - be readable: both words are read with probe_read_u64(), which turns a
 *     page fault into a failed read through the exception table;
 * and the walk stops after BACKTRACE_MAX_DEPTH records, so even a cycle in
 * a corrupted chain ends.
 *
 * Trap frames: isr.asm calls trap_dispatch from a record whose saved RBP is
 * the interrupted RBP and whose "return address" is the interrupted RIP,
 * placed right below the struct trap_frame.  The record before it (in
 * trap_dispatch) returns to trap_dispatch_ret.  So when a return address
 * equals trap_dispatch_ret, the next record is a trap record: its address is
 * the exact faulting instruction (not a return address), and the trap frame
 * itself is 16 bytes above it.
 *
 * Interrupted before the frame was built: a trap can hit a function before
 * its "mov rbp, rsp" has run (its first instructions), or a function that
 * has no frame at all - GCC drops the frame of a leaf function that uses no
 * stack, even with -fno-omit-frame-pointer.  RBP then still holds the
 * caller's record, and following it would skip the caller.  Its return
 * address is on top of the interrupted stack instead ([rsp], or [rsp + 8]
 * after "push rbp").  caller_of_frameless() recognizes these cases from the
 * function's first bytes and accepts the word on the stack only if it
 * points just after a call instruction.
 */
#include <arch/backtrace.h>
#include <arch/extable.h>
#include <arch/x86/gdt.h>
#include <arch/memlayout.h>
#include <arch/trap.h>
#include <kernel/compiler.h>
#include <kernel/debug/ksyms.h>
#include <kernel/printk.h>
#include <lib/format.h>
#include <lib/string.h>
#include <kernel/sections.h>

extern const char trap_dispatch_ret[];

/* No single frame is this big: stacks are 16 KiB (kernel/kstack.h). */
#define MAX_FRAME_BYTES (64 * 1024)

struct frame_walk {
    uintptr_t rbp;          /* the next record to read; 0 ends the chain */
    uintptr_t extra;        /* a caller found on the stack, to yield next (or 0) */
    uintptr_t prev;         /* the record read before it, 0 at the start */
    unsigned depth;
    bool trap_next;         /* the record at rbp sits right below a trap frame */
    const char *stop;       /* why the walk ended early, or NULL */
};

struct frame {
    uintptr_t pc;
    /* Non-NULL when pc is the interrupted RIP of this trap frame. */
    const struct trap_frame *tf;
};

static bool is_text(uintptr_t a)
{
    return a >= (uintptr_t)__text_start && a < (uintptr_t)__text_end;
}

/* Could a stack live here?  (Checked before reading, so that a wild RBP
 * never makes us read device memory through an MMIO mapping's neighbour.) */
static bool stack_region(uintptr_t a)
{
    if (a >= DIRECT_MAP_BASE && a < DIRECT_MAP_BASE + DIRECT_MAP_SIZE)
        return true;
    if (a >= KVA_BASE && a < KVA_BASE + KVA_SIZE)
        return true;
    return a >= KERNEL_VMA && a <= UINTPTR_MAX - 16;
}

/* Which of this CPU's IST stacks holds a (1..3), or 0. */
static unsigned ist_stack_of(uintptr_t a)
{
    for (unsigned ist = IST_DOUBLE_FAULT; ist <= IST_MACHINE_CHECK; ist++) {
        uintptr_t lo, hi;
        ist_stack_bounds(ist, &lo, &hi);
        if (a >= lo && a < hi)
            return ist;
    }
    return 0;
}

static bool goes_up_the_stack(uintptr_t prev, uintptr_t rbp)
{
    if (rbp > prev && rbp - prev <= MAX_FRAME_BYTES)
        return true;
    /* Leaving an IST stack for the interrupted one. */
    unsigned ist = ist_stack_of(prev);
    return ist && ist_stack_of(rbp) != ist;
}

/* Is there a call instruction that ends right before ret?  (The encodings
 * compilers emit here: call rel32, call *reg, call *disp8(reg),
 * call *disp32(reg) and call *table(,reg,8).) */
static bool follows_call(uintptr_t ret)
{
    const uint8_t *p = (const uint8_t *)ret;
    if (ret - 7 < (uintptr_t)__text_start || !is_text(ret))
        return false;
    if (p[-5] == 0xe8)
        return true;
    for (unsigned len = 2; len <= 7; len++) {
        uint8_t modrm = p[-(int)len + 1];
        if (p[-(int)len] == 0xff && (modrm & 0x38) == 0x10)
            return true;
    }
    return false;
}

/* If the instruction at rip runs before its function's frame exists, find
 * the caller's return address on the stack at rsp (see the top comment). */
static bool caller_of_frameless(uintptr_t rip, uintptr_t rsp, uintptr_t *ret)
{
    static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
    uintptr_t off;
    const char *name = ksym_lookup(rip, &off);
    if (!name)
        return false;
    const uint8_t *start = (const uint8_t *)(rip - off), *p = start;
    size_t slot;                         /* where the return address is, in words above rsp */

    if (!memcmp(p, endbr64, sizeof(endbr64)))
        p += sizeof(endbr64);
    if (*p != 0x55) {
        slot = 0;                        /* no "push rbp": a frameless function */
    } else if (rip <= (uintptr_t)p) {
        slot = 0;                        /* before the push */
    } else {
        /* After the push: is "mov rbp, rsp" (48 89 e5) still to come?  The
         * compiler may schedule a few instructions in between. */
        const uint8_t *mov = NULL;
        for (const uint8_t *q = p + 1; q < p + 1 + 16; q++)
            if (q[0] == 0x48 && q[1] == 0x89 && q[2] == 0xe5) {
                mov = q;
                break;
            }
        if (!mov || rip > (uintptr_t)mov)
            return false;                /* the frame is built: RBP is right */
        slot = 1;
    }
    uint64_t word;
    if ((rsp & 7) || !stack_region(rsp) || !probe_read_u64((const void *)(rsp + slot * 8), &word))
        return false;
    if (!follows_call(word))
        return false;
    *ret = word;
    return true;
}

static bool walk_next(struct frame_walk *w, struct frame *f)
{
    uintptr_t rbp = w->rbp;
    uint64_t next, ret;

    if (w->extra) {
        f->pc = w->extra;
        f->tf = NULL;
        w->extra = 0;
        w->depth++;
        return true;
    }
    if (rbp == 0)
        return false;
    if (w->depth >= BACKTRACE_MAX_DEPTH) {
        w->stop = "depth limit reached";
        return false;
    }
    if ((rbp & 7) || !stack_region(rbp)) {
        w->stop = "frame pointer outside the kernel's stacks";
        return false;
    }
    if (w->prev && !goes_up_the_stack(w->prev, rbp)) {
        w->stop = "frame pointer does not lead up the stack";
        return false;
    }
    if (!probe_read_u64((const void *)rbp, &next) || !probe_read_u64((const void *)(rbp + 8), &ret)) {
        w->stop = "frame not readable";
        return false;
    }

    f->pc = ret;
    f->tf = NULL;
    if (w->trap_next) {
        /* Believe it is a trap record only if the frame agrees. */
        const struct trap_frame *tf = (const struct trap_frame *)(rbp + 16);
        uint64_t rip, cs, rsp;
        if (probe_read_u64(&tf->rip, &rip) && probe_read_u64(&tf->cs, &cs) &&
            probe_read_u64(&tf->rsp, &rsp) && rip == ret) {
            f->tf = tf;
            if (cs & 3)
                next = 0;       /* from user mode: the kernel chain ends here */
            else
                caller_of_frameless(rip, rsp, &w->extra);
        }
    }
    if (!f->tf && !is_text(ret)) {
        w->stop = "return address outside the kernel's code";
        return false;
    }
    w->trap_next = !f->tf && ret == (uintptr_t)trap_dispatch_ret;
    w->prev = rbp;
    w->rbp = next;
    w->depth++;
    return true;
}

unsigned backtrace_from(uintptr_t rbp, uintptr_t *pcs, unsigned max)
{
    struct frame_walk w = { .rbp = rbp };
    struct frame f;
    unsigned n = 0;

    while (n < max && walk_next(&w, &f))
        pcs[n++] = f.pc;
    return n;
}

__noinline unsigned backtrace_capture(uintptr_t *pcs, unsigned max)
{
    /* Our own record: its return address is the one into our caller. */
    return backtrace_from((uintptr_t)__builtin_frame_address(0), pcs, max);
}

void ksym_format(char *buf, size_t size, uintptr_t addr, bool is_return_address)
{
    uintptr_t where = is_return_address ? addr - 1 : addr;
    uintptr_t off;
    const char *name = ksym_lookup(where, &off);

    if (name)
        snprintf(buf, size, "%s+0x%lx", name, (unsigned long)(addr - (where - off)));
    else
        snprintf(buf, size, "?");
}

static void print_pc(uintptr_t pc, bool exact)
{
    char sym[96];
    ksym_format(sym, sizeof(sym), pc, !exact);
    printk("  [%016lx] %s\n", (unsigned long)pc, sym);
}

void backtrace_print(uintptr_t pc, bool pc_exact, uintptr_t rsp, uintptr_t rbp)
{
    struct frame_walk w = { .rbp = rbp };
    struct frame f;

    printk("Backtrace:\n");
    if (pc) {
        print_pc(pc, pc_exact);
        if (pc_exact)
            caller_of_frameless(pc, rsp, &w.extra);
    }
    while (walk_next(&w, &f)) {
        if (f.tf) {
            uint64_t vector = 0, cs = 0;
            probe_read_u64(&f.tf->vector, &vector);
            probe_read_u64(&f.tf->cs, &cs);
            if (vector < 32)
                printk("  -- %s (vector %lu) from %s mode --\n", exception_mnemonic((unsigned)vector),
                       (unsigned long)vector, (cs & 3) ? "user" : "kernel");
            else
                printk("  -- interrupt vector %#lx from %s mode --\n", (unsigned long)vector,
                       (cs & 3) ? "user" : "kernel");
        }
        print_pc(f.pc, f.tf != NULL);
    }
    if (w.stop)
        printk("  (backtrace ends: %s, rbp %016lx)\n", w.stop, (unsigned long)w.rbp);
}
