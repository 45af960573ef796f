; user/lib/crt0.asm - where every user program starts.
;
; The kernel starts the main thread at _start with the System V initial
; stack: RSP points at argc, then argc argv pointers, then NULL, then the
; environment's pointers, then NULL (kernel/include/kernel/process.h).  (It
; may also put argc in RDI; we read the stack, which is always there.)  We
; set environ (user/lib/ulib.c), call main(argc, argv, envp) and pass its
; return value to SYS_exit, which never returns.

bits 64
default rel

section .text
global _start
extern main
extern environ

SYS_exit equ 0

_start:
    xor ebp, ebp                ; the outermost frame: backtraces stop here
    mov rdi, [rsp]              ; argc
    lea rsi, [rsp + 8]          ; argv
    lea rdx, [rsi + rdi * 8 + 8]    ; envp: past argv's NULL
    mov [environ], rdx
    and rsp, -16                ; the ABI wants RSP % 16 == 0 before a call
    call main
    mov edi, eax
    mov eax, SYS_exit
    syscall
.hang:                          ; SYS_exit does not return; if it ever did,
    ud2                         ; fault rather than run off into the void
    jmp .hang

; thread_trampoline: the entry of threads made by thread_create()
; (user/lib/thread.c).  The kernel starts it with RSP = the stack top given
; to SYS_thread_create and RDI = the argument: a struct thread_start
; { fn, arg } placed at the top of the new stack.  A C function must not be
; the entry itself: returning from it would pop a return address nobody
; pushed.
global thread_trampoline
SYS_thread_exit equ 5
thread_trampoline:
    xor ebp, ebp
    and rsp, -16
    mov rax, [rdi]              ; fn
    mov rdi, [rdi + 8]          ; arg
    call rax
    mov edi, eax
    mov eax, SYS_thread_exit
    syscall
.hang:
    ud2
    jmp .hang

section .note.GNU-stack noalloc noexec nowrite progbits
