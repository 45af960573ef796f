/*
 * arch/backtrace.h - walking and printing the kernel's call chain.
 *
 * The kernel is built with frame pointers: every function starts with
 * "push rbp; mov rbp, rsp", so RBP points at a two-word record
 *
 *     [rbp]     the caller's RBP   (the next record up the chain)
 *     [rbp + 8] the return address into the caller
 *
 * and following [rbp] from record to record visits every active call.  The
 * chain ends at RBP = 0 (the boot code and each CPU's entry zero it).
 * isr.asm links a trap frame into the chain, so a backtrace taken inside a
 * handler continues into the interrupted code (see arch/x86_64/backtrace.c).
 *
 * The walk never faults: every frame pointer is checked against the stack
 * it should be on and read with probe_read_u64(), and the depth is limited.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BACKTRACE_MAX_DEPTH 32

/*
 * Fill pcs[] with the return addresses of the current call chain, innermost
 * first: pcs[0] is in the function that called backtrace_capture(), just
 * after that call; pcs[1] is in its caller, and so on.  A trap frame on the
 * way contributes the interrupted RIP.  Returns how many were stored.
 */
unsigned backtrace_capture(uintptr_t *pcs, unsigned max);
/* The same, starting from the record at rbp. */
unsigned backtrace_from(uintptr_t rbp, uintptr_t *pcs, unsigned max);

/*
 * Print "Backtrace:" and one symbolized line per frame.  `pc` (if not 0) is
 * printed first: the faulting instruction when `pc_exact` (an exception's
 * RIP; rsp is then the interrupted RSP, used to find the caller of a
 * function interrupted before it built its frame), otherwise a return
 * address.  Then the frames from the record at rbp.
 */
void backtrace_print(uintptr_t pc, bool pc_exact, uintptr_t rsp, uintptr_t rbp);

/*
 * "name+0xoff" for a code address, or "?" when it is not in the kernel's
 * text.  A return address is looked up one byte back: a call that never
 * returns may be the last instruction of its function, and its return
 * address then already belongs to the next one.
 */
void ksym_format(char *buf, size_t size, uintptr_t addr, bool is_return_address);
