; arch/x86_64/isr.asm - entry stubs for all 256 interrupt vectors.
;
; The CPU pushes SS, RSP, RFLAGS, CS, RIP (and an error code for some
; exceptions).  Each stub makes the frame uniform by pushing a dummy error
; code where the CPU pushes none, then the vector number, and jumps to
; trap_common, which saves the general registers into a struct trap_frame
; (arch/trap.h) and calls trap_dispatch(frame).
;
; Entry from ring 3 (CS & 3 != 0) swaps GS so that %gs points at the per-CPU
; area again; the return to ring 3 swaps it back.
;
; The stack a handler runs on: the interrupted kernel stack, or for #DF, NMI
; and #MC their own IST stack of this CPU (see idt.c and gdt.c).
;
; Backtraces (arch/x86_64/backtrace.c) rely on two things here: the frame
; pointer chain is extended through the trap frame (below), and
; trap_dispatch_ret, the return address of the call to trap_dispatch, marks
; the frame that sits right above a struct trap_frame.

bits 64
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
extern smap_enabled
trap_common:
    test qword [rsp + 24], 3        ; CS of the interrupted code
    jz .from_kernel
    swapgs
.from_kernel:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
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
global trap_return
trap_return:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    test qword [rsp + 24], 3
    jz .to_kernel
    swapgs
.to_kernel:
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
