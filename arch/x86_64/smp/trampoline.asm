; arch/x86_64/smp/trampoline.asm - how an application processor (AP) gets
; from its reset state to the kernel's C code.
;
; Two parts:
;
; 1. smp_trampoline_start .. smp_trampoline_end: position-independent code
;    and data that arch/x86_64/smp/smpboot.c copies to a free page below
;    1 MiB.  The STARTUP IPI's vector names that page: the AP begins in real
;    mode at CS = page << 8, IP = 0.  The BSP patches the marked fields
;    (tr_*) in the copy before sending INIT-SIPI-SIPI:
;      tr_gdt_ptr+2  physical address of tr_gdt in the copy
;      tr_pm_jump    physical address of tr_pm32 (32-bit far jump target)
;      tr_lm_jump    physical address of tr_lm64 (64-bit far jump target)
;      tr_cr3        the trampoline page tables (below 1 MiB, so 32 bits
;                    suffice): an identity map of the first 2 MiB, where
;                    this code runs, plus the kernel's upper half
;      tr_efer       EFER bits to set: LME, and NXE when the CPU has NX
;                    (the kernel's page tables use the NX bit)
;      tr_entry      the kernel virtual address of smp_ap_entry64
;    The AP sets tr_started as soon as it runs, which tells the BSP that a
;    second STARTUP IPI is not needed.
;
;    real mode -> lgdt, CR0.PE -> 32-bit protected mode (flat segments)
;    -> CR4.PAE, CR3, EFER.LME(+NXE), CR0.PG -> compatibility mode
;    -> far jump to a 64-bit code segment -> 64-bit mode, still at the
;    identity address -> jump to the kernel's high address.
;
; 2. smp_ap_entry64 (kernel .text): switch to the kernel's own page tables,
;    find this CPU's dense id from its APIC id (CPUID), take its stack and
;    call smp_ap_main(cpu) in smpboot.c.  Looking the id up by APIC id,
;    instead of reading "the CPU being started" from a shared variable,
;    means an AP that arrives after the BSP gave up on it still picks its
;    own stack and cannot trample the next AP's.

TR_CODE32       equ 0x08
TR_DATA         equ 0x10
TR_CODE64       equ 0x18

CR0_PE          equ 1 << 0
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080

%define OFF(label) ((label) - smp_trampoline_start)

; Copied, never executed in place: read-only data in the kernel image.
section .rodata.trampoline progbits alloc noexec nowrite align=16

global smp_trampoline_start, smp_trampoline_end
global tr_gdt, tr_gdt_ptr, tr_pm32, tr_pm_jump, tr_lm64, tr_lm_jump
global tr_cr3, tr_efer, tr_entry, tr_started

bits 16
smp_trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    movzx ebx, ax
    shl ebx, 4                          ; EBX = physical address of this page
    mov dword [OFF(tr_started)], 1
    o32 lgdt [OFF(tr_gdt_ptr)]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword far [OFF(tr_pm_jump)]     ; loads CS = TR_CODE32

bits 32
tr_pm32:
    mov ax, TR_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [ebx + OFF(tr_cr3)]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, [ebx + OFF(tr_efer)]
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_WP | CR0_PE
    mov cr0, eax                        ; long mode active (compatibility mode)
    jmp far [ebx + OFF(tr_lm_jump)]     ; loads CS = TR_CODE64

bits 64
tr_lm64:
    mov rax, [rel tr_entry]             ; RIP-relative: works in the copy
    jmp rax

align 8
tr_gdt:
    dq 0
    dq 0x00CF9A000000FFFF               ; 0x08: 32-bit code, base 0, 4 GiB
    dq 0x00CF92000000FFFF               ; 0x10: data, base 0, 4 GiB
    dq 0x00209A0000000000               ; 0x18: 64-bit code
tr_gdt_end:
tr_gdt_ptr:
    dw tr_gdt_end - tr_gdt - 1
    dd 0                                ; patched: physical address of tr_gdt
tr_pm_jump:
    dd 0                                ; patched: physical address of tr_pm32
    dw TR_CODE32
tr_lm_jump:
    dd 0                                ; patched: physical address of tr_lm64
    dw TR_CODE64
align 4
tr_cr3:     dd 0                        ; patched
tr_efer:    dd 0                        ; patched
tr_started: dd 0                        ; set by the AP
align 8
tr_entry:   dq 0                        ; patched
smp_trampoline_end:

section .text
global smp_ap_entry64
extern smp_ap_main, smp_ap_kernel_cr3, smp_ap_stack, smp_apic_ids, smp_nr_cpus_listed

; Runs at the kernel's address on the trampoline page tables, with no stack.
smp_ap_entry64:
    mov rax, [rel smp_ap_kernel_cr3]
    mov cr3, rax

    ; This CPU's APIC id: CPUID leaf 0xB gives the full x2APIC id (valid
    ; when it reports a non-zero EBX), leaf 1 the 8-bit initial APIC id.
    xor eax, eax
    cpuid
    cmp eax, 0xB
    jb .leaf1
    mov eax, 0xB
    xor ecx, ecx
    cpuid
    test ebx, ebx
    jz .leaf1
    mov r8d, edx
    jmp .lookup
.leaf1:
    mov eax, 1
    cpuid
    shr ebx, 24
    mov r8d, ebx

    ; cpu = the index of our APIC id in smp_apic_ids[1 .. smp_nr_cpus_listed)
.lookup:
    mov ecx, [rel smp_nr_cpus_listed]
    lea rsi, [rel smp_apic_ids]
    mov edx, 1
.next:
    cmp edx, ecx
    jae .park
    cmp [rsi + rdx * 4], r8d
    je .found
    inc edx
    jmp .next
.found:
    lea rsi, [rel smp_ap_stack]
    mov rsp, [rsi + rdx * 8]
    test rsp, rsp
    jz .park
    xor ebp, ebp                        ; ends backtraces
    mov edi, edx
    call smp_ap_main                    ; does not return
.park:
    ; Not a CPU we were asked to start: stay out of the way.
    cli
    hlt
    jmp .park
