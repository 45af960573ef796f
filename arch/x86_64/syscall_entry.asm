; arch/x86_64/syscall_entry.asm - the SYSCALL entry and the ways back to
; ring 3 (see docs/syscalls.md, "Entering and leaving the kernel").
;
; SYSCALL (set up by arch_user_init_this_cpu in user.c) arrives here in ring
; 0 with RCX = the user RIP to return to, R11 = the user RFLAGS, and RFLAGS
; masked by MSR_FMASK (IF, DF, TF, AC clear: no interrupt can come in until we
; are on a kernel stack, and string instructions and SMAP are in their kernel
; state).  It switches neither the stack nor GS: RSP is still the user's and
; GS still points at the user's (zero) base.
;
; We build a struct trap_frame (arch/trap.h) at the top of the task's kernel
; stack exactly as the CPU plus trap_common (isr.asm) would for an interrupt
; from ring 3, so that exceptions, system calls and fork all share one frame
; at one place: current_user_frame() in user.c.  Its vector is
; TRAP_VECTOR_SYSCALL, which no interrupt uses.
;
; The two per-CPU slots used here sit at fixed offsets in struct percpu_hdr
; (kernel/percpu.h; its x86 part, struct arch_percpu, is in arch/percpu.h and
; the offsets are asserted in arch/x86_64/gs_base.c): there is no free register to compute the address of an
; ordinary per-CPU variable with.
;
; NMIs: an NMI (or #MC) can arrive between SYSCALL and swapgs, or between the
; exit swapgs and SYSRET, with CS already or still the kernel's but GS the
; user's.  isr.asm therefore decides swapgs for the IST vectors from the GS
; base MSR, not from the interrupted CS (see paranoid_common there).  The
; window has nothing else to fear: interrupts are masked by FMASK, and no
; instruction in it can fault.

bits 64
%include "trap_frame.inc"
section .text

PERCPU_KERNEL_STACK_TOP equ 16          ; struct percpu_hdr.arch.kernel_stack_top
PERCPU_USER_RSP_SCRATCH equ 24          ; struct percpu_hdr.arch.user_rsp_scratch
TRAP_VECTOR_SYSCALL     equ 256         ; arch/user.h
USER_CS                 equ 0x23        ; GDT_USER_CODE | 3
USER_SS                 equ 0x1b        ; GDT_USER_DATA | 3
RFLAGS_TF               equ 1 << 8
RFLAGS_RF               equ 1 << 16


extern syscall_from_user
extern trap_return_to_user
extern kctx_exit_to_user

global syscall_entry
syscall_entry:
    swapgs
    mov [gs:PERCPU_USER_RSP_SCRATCH], rsp
    mov rsp, [gs:PERCPU_KERNEL_STACK_TOP]
    ; What the CPU pushes for an interrupt from ring 3...
    push USER_SS
    push qword [gs:PERCPU_USER_RSP_SCRATCH]
    push r11                        ; RFLAGS
    push USER_CS
    push rcx                        ; RIP
    ; ...what the stub pushes...
    push 0                          ; error code
    push TRAP_VECTOR_SYSCALL
    ; ...and what trap_common saves, in its order.  RCX and R11 are saved as
    ; they are (the user RIP and RFLAGS): the return path compares them with
    ; the frame's RIP and RFLAGS to see whether SYSRET can restore the frame.
    PUSH_TRAP_REGS
    ; The frame is complete and GS is the kernel's: interrupts may come in.
    sti
    mov rdi, rsp
    ; The same fake frame-pointer link as trap_common, so that backtraces
    ; walk from the handler into the user RIP and stop there.
    push qword [rsp + TF_RIP]
    push rbp
    mov rbp, rsp
    call syscall_from_user
    add rsp, 16
    ; Nothing may interrupt us between here and the return to ring 3: an
    ; interrupt after the swapgs below would find a kernel CS and not swap GS.
    cli
    call kctx_exit_to_user          ; kctx.c: "user" from here (X1); RCX, R11 are reloaded below

    ; SYSRET restores RIP from RCX and RFLAGS from R11, and loads fixed
    ; selectors.  Use it only when that is exactly the frame: RCX and R11
    ; unchanged copies of RIP and RFLAGS, the user selectors, no TF or RF to
    ; honour, and RIP in the user half.  The last check matters: on Intel
    ; CPUs SYSRET to a non-canonical RIP raises #GP in ring 0 with the user's
    ; RSP already loaded.  Anything else returns through IRETQ.
    mov rcx, [rsp + TF_RIP]
    cmp rcx, [rsp + TF_RCX]
    jne .iret
    mov r11, [rsp + TF_RFLAGS]
    cmp r11, [rsp + TF_R11]
    jne .iret
    test r11, RFLAGS_TF | RFLAGS_RF
    jnz .iret
    cmp qword [rsp + TF_CS], USER_CS
    jne .iret
    cmp qword [rsp + TF_SS], USER_SS
    jne .iret
    shr rcx, 47                     ; RIP < SD_USER_TOP (0x800000000000)?
    jnz .iret

    POP_TRAP_REGS
    ; RSP now points at the vector; the user RSP is 5 slots up.
    mov rsp, [rsp + 5 * 8]
    swapgs
    o64 sysret

.iret:
    jmp trap_return_to_user         ; isr.asm: pops the frame, swapgs, iretq

; void user_frame_return(const struct trap_frame *src /* rdi */,
;                        struct trap_frame *dst /* rsi */)
;
; Copy *src to dst, the frame slot at the top of the current kernel stack,
; and return to user mode through it (user.c checked and cleaned the frame).
; The caller runs on that same stack, and src may live on it too, perhaps
; overlapping dst: so interrupts go off first (nothing may push onto the
; stack while it is rewritten), the copy is a memmove, and nothing here uses
; the stack until RSP is dst.  Never returns.
global user_frame_return
user_frame_return:
    cli
    mov rcx, TF_SIZE / 8
    cmp rdi, rsi
    je .copied
    ja .forward
    ; src below dst: copy from the top down so no source qword is overwritten
    ; before it is read.
    lea rsi, [rsi + TF_SIZE - 8]
    lea rdi, [rdi + TF_SIZE - 8]
    xchg rsi, rdi
    std
    rep movsq
    cld
    lea rsp, [rdi + 8]
    jmp trap_return_to_user         ; isr.asm: pops the frame, swapgs, iretq
.forward:
    xchg rsi, rdi
    mov rax, rdi                    ; dst
    rep movsq
    mov rsp, rax
    jmp trap_return_to_user         ; isr.asm: pops the frame, swapgs, iretq
.copied:
    mov rsp, rsi
    jmp trap_return_to_user         ; isr.asm: pops the frame, swapgs, iretq
