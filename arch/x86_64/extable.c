/*
 * arch/x86_64/extable.c - the exception table and run_expecting_fault()
 * (see arch/extable.h).
 */
#include <arch/extable.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>

uintptr_t extable_find_fixup(uintptr_t rip)
{
    /* The table is small (one entry per probing instruction): scan it. */
    for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
        uintptr_t insn = (uintptr_t)&e->insn + (intptr_t)e->insn;
        if (insn == rip)
            return (uintptr_t)&e->fixup + (intptr_t)e->fixup;
    }
    return 0;
}

struct fault_jmpbuf {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
int fault_setjmp(struct fault_jmpbuf *jb) __attribute__((returns_twice));
__noreturn void fault_longjmp(struct fault_jmpbuf *jb);

/* Per CPU: is a run_expecting_fault() active here, and where to go back to. */
struct fault_catcher {
    bool armed;
    struct fault_report *report;
    struct fault_jmpbuf jb;
};
static DEFINE_PER_CPU(struct fault_catcher, fault_catcher);

bool run_expecting_fault(void (*fn)(void *), void *arg, struct fault_report *report)
{
    struct fault_catcher *c = this_cpu_ptr(&fault_catcher);

    BUG_ON(c->armed);           /* not nestable */
    c->report = report;
    if (fault_setjmp(&c->jb) == 0) {
        WRITE_ONCE(c->armed, true);
        fn(arg);
        WRITE_ONCE(c->armed, false);
        return false;
    }
    /* Back from fault_longjmp: exception_try_fixup() disarmed us. */
    return true;
}

bool exception_try_fixup(struct trap_frame *tf)
{
    /* 1. An instruction listed in the exception table: resume at its fixup. */
    uintptr_t fixup = extable_find_fixup(tf->rip);
    if (fixup) {
        tf->rip = fixup;
        return true;
    }
    /* 2. A test expecting a fault on this CPU: return into fault_longjmp
     *    (through iret, so RFLAGS - the interrupt flag - is restored too). */
    struct fault_catcher *c = this_cpu_ptr(&fault_catcher);
    if (READ_ONCE(c->armed) && tf->vector != EXC_NMI && tf->vector != EXC_DF && tf->vector != EXC_MC) {
        c->armed = false;
        c->report->vector = (unsigned)tf->vector;
        c->report->error_code = tf->error_code;
        c->report->rip = tf->rip;
        c->report->cr2 = tf->vector == EXC_PF ? read_cr2() : 0;
        tf->rip = (uintptr_t)fault_longjmp;
        tf->rdi = (uintptr_t)&c->jb;
        /* fault_longjmp replaces RSP itself; the iret just needs a sane,
         * aligned stack to land on: the one the fault interrupted. */
        tf->rsp &= ~0xful;
        return true;
    }
    return false;
}

bool probe_read_u64(const void *addr, uint64_t *out)
{
    uint64_t v;
    int failed = 0;
    __asm__ volatile(EXTABLE_TRY_LOAD("movq (%[a]), %[val]")
                     : [val] "=r"(v), [failed] "+r"(failed)
                     : [a] "r"(addr)
                     : "memory");
    *out = v;
    return !failed;
}

bool probe_write_u64(void *addr, uint64_t v)
{
    int failed = 0;
    __asm__ volatile(EXTABLE_TRY("movq %[v], (%[a])")
                     : [failed] "+r"(failed)
                     : [a] "r"(addr), [v] "r"(v)
                     : "memory");
    return !failed;
}
