; arch/x86_64/isr.asm - entry stubs for all 256 interrupt vectors.
;
; The CPU pushes SS, RSP, RFLAGS, CS, RIP (and an error code for some
; exceptions).  Each stub makes the frame uniform by pushing a dummy error
; code where the CPU pushes none, then the vector number, and jumps to
; trap_common, which saves the general registers into a struct trap_frame
; (arch/trap.h) and calls trap_dispatch(frame).
;
; Entry from ring 3 swaps GS so that %gs points at the per-CPU area again;
; the return swaps it back.  For most vectors "from ring 3" is read from the
; interrupted CS.  Not for the IST vectors (NMI, #DF, #MC): they can arrive
; in the few instructions of the system-call path (syscall_entry.asm) that
; run in ring 0 with the user's GS - before the entry swapgs or after the
; exit one - where CS says kernel but GS is the user's.  For them the GS base
; MSR decides: the kernel's per-CPU bases are kernel-half addresses (bit 63
; set), and a user GS base never is (user mode cannot write the MSR: no
; CR4.FSGSBASE, and a selector load gives a 32-bit base).  Every other
; vector is masked (IF clear) or impossible in those windows.  Whether the
; entry swapped is kept in RBX, which trap_dispatch preserves (callee-saved,
; and kept across a context switch), and the return swaps back exactly then.
;
; The stack a handler runs on: the interrupted kernel stack, or for #DF, NMI
; and #MC their own IST stack of this CPU (see idt.c and gdt.c).
;
; Backtraces (arch/x86_64/backtrace.c) rely on two things here: the frame
; pointer chain is extended through the trap frame (below), and
; trap_dispatch_ret, the return address of the call to trap_dispatch, marks
; the frame that sits right above a struct trap_frame.

bits 64
%include "trap_frame.inc"
section .text

; Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30.
%macro ISR_STUB 1
isr_%1:
%if (%1 = 8) || (%1 >= 10 && %1 <= 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
%else
    push 0
%endif
    push %1
    jmp trap_common
    align 16
%endmacro

    align 16
global isr_stubs_start
isr_stubs_start:
%assign i 0
%rep 256
    ISR_STUB i
%assign i i + 1
%endrep

extern trap_dispatch
extern kctx_exit_to_user
extern smap_enabled
MSR_GS_BASE equ 0xC0000101

trap_common:
    PUSH_TRAP_REGS
    cld
    ; GS: RBX = 1 if we swap to the kernel's (see the top of this file).
    xor ebx, ebx
    mov rax, [rsp + 15 * 8]         ; vector
    cmp rax, 2                      ; NMI
    je .gs_from_msr
    cmp rax, 8                      ; #DF
    je .gs_from_msr
    cmp rax, 18                     ; #MC
    je .gs_from_msr
    test qword [rsp + 18 * 8], 3    ; CS of the interrupted code
    jz .gs_done
.swap_gs:
    swapgs
    mov ebx, 1
    jmp .gs_done
.gs_from_msr:
    mov ecx, MSR_GS_BASE
    rdmsr                           ; EDX = the high half of the base
    test edx, edx
    jns .swap_gs                    ; a user-half base: the user's GS
.gs_done:
    ; SMAP: an interrupt taken inside a stac/clac bracket (a user-memory
    ; copy) arrives with RFLAGS.AC set, which would let the handler touch
    ; user memory unchecked.  Clear it; iretq restores the interrupted
    ; RFLAGS, AC included.  clac is #UD on CPUs without SMAP, hence the flag
    ; (set by cpufeatures.c when it turns SMAP on).
    test byte [rel smap_enabled], 1
    jz .no_smap
    clac
.no_smap:
    mov rdi, rsp
    ; A frame pointer chain that ends here lets backtraces walk from the
    ; handler into the interrupted code: rbp of the interrupted code is in
    ; the frame, and the return address we fake is the interrupted RIP.
    push qword [rsp + 17 * 8]       ; interrupted RIP
    push rbp
    mov rbp, rsp
    call trap_dispatch
global trap_dispatch_ret
trap_dispatch_ret:
    add rsp, 16
    test ebx, ebx
    jnz trap_return_to_user
    POP_TRAP_REGS
    add rsp, 16                     ; vector and error code
    iretq

; Return through the struct trap_frame at RSP to the user GS: the exit of an
; entry that swapped GS, and of the system-call paths that cannot use SYSRET
; (syscall_entry.asm).  Interrupts must be off.
global trap_return_to_user
trap_return_to_user:
    call kctx_exit_to_user          ; kctx.c: "user" from here (X1); the frame holds every register
    POP_TRAP_REGS
    swapgs
    add rsp, 16                     ; vector and error code
    iretq

section .rodata
; Table of stub addresses, one per vector, for idt_init().
global isr_stub_table
isr_stub_table:
%assign i 0
%rep 256
    dq isr_%+i
%assign i i + 1
%endrep
