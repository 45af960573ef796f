/*
 * uapi/tlbscene.h - the messages between the TLB scene's user program
 * (user/tlbscene.c) and its kernel side (kernel/demo/tlb_scene.c), over two
 * IPC endpoints the kernel side makes before it starts the program
 * (docs/demo.md tells the whole story).
 *
 *   "tlbscene"         the director (a kernel thread on cpu0):
 *     TLBSCENE_NARRATE   call, words[0] = act: print what the TLB did since
 *                        the last call (from the trace), then reply
 *     TLBSCENE_WAIT_LAZY call: reply once the borrower runs on its CPU
 *     TLBSCENE_RELEASE   send: let the borrower go
 *   "tlbscene-borrow"  the borrower (a kernel thread on the last CPU):
 *     TLBSCENE_BORROW    call, from the program's thread on that CPU: the
 *                        caller blocks, so the borrower runs there on the
 *                        program's page tables (lazy TLB) until released
 */
#pragma once

#define TLBSCENE_EP_DIRECTOR    "tlbscene"
#define TLBSCENE_EP_BORROWER    "tlbscene-borrow"

enum tlbscene_label {
    TLBSCENE_NARRATE = 1,
    TLBSCENE_WAIT_LAZY,
    TLBSCENE_RELEASE,
    TLBSCENE_BORROW,
    TLBSCENE_QUIT,          /* kernel side only: the borrower's end */
};

/* The acts (words[0] of TLBSCENE_NARRATE). */
enum tlbscene_act {
    TLBSCENE_ACT_SETUP,     /* threads started and pages touched: nothing told */
    TLBSCENE_ACT_ALL_RUN,   /* an unmap while every thread runs */
    TLBSCENE_ACT_LAZY,      /* unmap and remap while one CPU is lazy */
    TLBSCENE_ACT_TABLES,    /* a page table freed while one CPU is lazy */
    TLBSCENE_ACT_EXIT,      /* the program exits (told by the kernel side) */
    TLBSCENE_NR_ACTS
};
