; arch/x86_64/panic_entry.asm - panic(): record the caller's registers, then
; continue in C (panic_continue in kernel/panic.c, which finds them with
; arch_panic_regs(), arch/x86_64/panic_regs.c).
;
; A C function cannot see its caller's registers: by the time its first
; statement runs, the prologue may have reused some of them.  So panic's
; entry point is this stub.  It stores every general register, RFLAGS, CS,
; SS, the caller's RSP and the return address (the "RIP" of the call site)
; into panic_regs[this CPU] - a struct trap_frame (arch/trap.h) - and then
; JUMPS to panic_continue with all registers and the stack exactly as the
; caller left them, so the variadic arguments arrive untouched.
;
; panic_regs is per CPU so that two CPUs panicking at once do not overwrite
; each other's registers (one of them wins, see kernel/panic.c); the table is
; defined in panic_regs.c.  The CPU id
; comes from %gs:8 (struct percpu_hdr); an id beyond the table (GS not set up
; yet) skips the capture and panic_continue prints no registers.

bits 64
%include "trap_frame.inc"
section .text

; Offsets in struct trap_frame (arch/trap.h; panic_regs.c checks them at compile time).

extern panic_regs               ; struct trap_frame panic_regs[panic_regs_cpus]
extern panic_regs_cpus          ; const unsigned int
extern panic_continue

global panic
panic:
    push rax                    ; [rsp] = rax, [rsp + 8] = return address
    push rcx                    ; [rsp] = rcx, [rsp + 8] = rax, [rsp + 16] = return address
    pushfq                      ; [rsp] = rflags, then rcx, rax, return address
    mov eax, [gs:8]             ; this CPU's id
    cmp eax, [rel panic_regs_cpus]
    jae .done
    imul rax, rax, TF_SIZE
    lea rcx, [rel panic_regs]
    add rax, rcx
    mov [rax + TF_R15], r15
    mov [rax + TF_R14], r14
    mov [rax + TF_R13], r13
    mov [rax + TF_R12], r12
    mov [rax + TF_R11], r11
    mov [rax + TF_R10], r10
    mov [rax + TF_R9], r9
    mov [rax + TF_R8], r8
    mov [rax + TF_RBP], rbp
    mov [rax + TF_RDI], rdi
    mov [rax + TF_RSI], rsi
    mov [rax + TF_RDX], rdx
    mov [rax + TF_RBX], rbx
    mov rcx, [rsp + 8]
    mov [rax + TF_RCX], rcx
    mov rcx, [rsp + 16]
    mov [rax + TF_RAX], rcx
    mov rcx, [rsp]
    mov [rax + TF_RFLAGS], rcx
    mov rcx, [rsp + 24]
    mov [rax + TF_RIP], rcx
    lea rcx, [rsp + 32]         ; the caller's RSP once the call has returned
    mov [rax + TF_RSP], rcx
    mov qword [rax + TF_VECTOR], 0
    mov qword [rax + TF_ERROR], 0
    mov rcx, cs
    mov [rax + TF_CS], rcx
    mov rcx, ss
    mov [rax + TF_SS], rcx
.done:
    popfq
    pop rcx
    pop rax
    jmp panic_continue
