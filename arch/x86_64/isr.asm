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
    mov rdi, rsp
    ; A frame pointer chain that ends here lets backtraces walk from the
    ; handler into the interrupted code: rbp of the interrupted code is in
    ; the frame, and the return address we fake is the interrupted RIP.
    push qword [rsp + 17 * 8]       ; interrupted RIP
    push rbp
    mov rbp, rsp
    call trap_dispatch
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
