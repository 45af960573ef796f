; arch/x86_64/fault_jump.asm - a minimal setjmp/longjmp pair for
; run_expecting_fault() (arch/x86_64/extable.c).
;
; struct fault_jmpbuf { rbx, rbp, r12, r13, r14, r15, rsp, rip }  (8 words)
; Only the callee-saved registers, the stack pointer and the return address
; need saving: fault_setjmp is an ordinary call, so the compiler assumes every
; other register is clobbered anyway.

bits 64
section .text

; int fault_setjmp(struct fault_jmpbuf *jb)  -- returns 0, or 1 via fault_longjmp
global fault_setjmp
fault_setjmp:
    mov [rdi + 0], rbx
    mov [rdi + 8], rbp
    mov [rdi + 16], r12
    mov [rdi + 24], r13
    mov [rdi + 32], r14
    mov [rdi + 40], r15
    lea rdx, [rsp + 8]              ; the caller's RSP after we return
    mov [rdi + 48], rdx
    mov rdx, [rsp]                  ; our return address
    mov [rdi + 56], rdx
    xor eax, eax
    ret

; noreturn void fault_longjmp(struct fault_jmpbuf *jb)  -- fault_setjmp returns 1
global fault_longjmp
fault_longjmp:
    mov rbx, [rdi + 0]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    mov eax, 1
    jmp [rdi + 56]
