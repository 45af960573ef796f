; arch/x86_64/switch.asm - the stack switch at the heart of a context switch.
;
; struct task *arch_switch_stack(struct arch_task *prev, struct arch_task *next,
;                                struct task *prev_task)        (arch/task.h)
;
; Saves the callee-saved registers on the current (prev's) kernel stack,
; stores the stack pointer in prev->ctx_rsp, loads next->ctx_rsp (both at
; offset 0 of struct arch_task, asserted in task_switch.c) and pops next's
; callee-saved registers, then returns - on next's stack, to wherever next
; called arch_switch_stack from (or to task_start_asm for a new task).  The
; caller-saved registers need no saving: to the C compiler this is an
; ordinary function call that clobbers them.
;
; It returns `prev_task` in RAX on the new stack, so the code that continues there
; knows which task it came from (finish_task_switch needs it: the local
; variables on next's stack describe next's own earlier switch).

bits 64
section .text

global arch_switch_stack
arch_switch_stack:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, [rsi]
    mov rax, rdx
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; First instructions of a new task: its initial stack (built by
; arch_task_init_stack in task_switch.c) "returns" here from
; arch_switch_stack.  RAX = the previous task.
extern task_start
global task_start_asm
task_start_asm:
    xor ebp, ebp                    ; backtraces end here
    and rsp, -16                    ; the ABI's alignment for the call
    mov rdi, rax
    call task_start                 ; never returns
    ud2
