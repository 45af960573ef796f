; boot/multiboot2.asm - the multiboot2 header and the 32-bit entry point.
;
; GRUB enters _start32 in 32-bit protected mode, paging off, interrupts off,
; EAX = multiboot2 magic, EBX = physical address of the boot information.
; This file
;   1. checks the magic and that the CPU has long mode, and prints a clear
;      message on COM1 (and halts) when either is wrong, instead of letting
;      the machine triple-fault;
;   2. builds early page tables (below) and enables PAE, EFER.LME, EFER.NXE
;      (when the CPU has NX) and paging;
;   3. far-jumps into 64-bit code, moves to the higher-half stack and jumps
;      to kmain_trampoline (boot/entry64.asm) at its KERNEL_VMA address,
;      which calls kmain(magic, info).
;
; Early page tables (all 2 MiB pages, replaced by arch/x86_64/mm/kernel_map.c):
;   PML4[0]   -> identity map of 0..4 GiB  (only needed until we run high)
;   PML4[256] -> direct map of 0..4 GiB at DIRECT_MAP_BASE
;   PML4[511] -> PDPT[510] maps 0..1 GiB at KERNEL_VMA (the kernel image)
; Everything here is in .boot*, linked at its physical address, so the
; 32-bit code below refers to physical addresses only.

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0
MB2_LOADER_MAGIC equ 0x36d76289
KERNEL_VMA      equ 0xffffffff80000000
COM1            equ 0x3f8

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; end tag
    align 8
    dw 0, 0
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite align=16
bits 32
global _start32
extern kmain_trampoline        ; boot/entry64.asm: the first 64-bit code at the kernel address
_start32:
    cli
    cld
    mov esp, boot_stack_top
    mov edi, eax                    ; keep magic and info for kmain
    mov esi, ebx

    cmp eax, MB2_LOADER_MAGIC
    jne .bad_magic

    ; Long mode?  CPUID leaf 0x80000001 must exist and have EDX bit 29.
    pushfd                          ; CPUID itself: can EFLAGS.ID toggle?
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je .no_long_mode
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode
    mov ebp, edx                    ; EDX bit 20 = NX, used below

    ; Build the early page tables (the .boot.bss pages are zeroed by GRUB).
    ; Four page directories map 0..4 GiB with 2 MiB pages.
    mov edi, early_pd
    mov eax, 0x83                   ; present | writable | 2 MiB page
    xor edx, edx
    mov ecx, 2048
.fill_pd:
    mov [edi], eax
    mov [edi + 4], edx
    add eax, 0x200000
    adc edx, 0
    add edi, 8
    loop .fill_pd

    mov eax, early_pd
    or eax, 3
    mov [early_pdpt_low], eax
    add eax, 0x1000
    mov [early_pdpt_low + 8], eax
    add eax, 0x1000
    mov [early_pdpt_low + 16], eax
    add eax, 0x1000
    mov [early_pdpt_low + 24], eax

    mov eax, early_pd
    or eax, 3
    mov [early_pdpt_high + 510 * 8], eax

    mov eax, early_pdpt_low
    or eax, 3
    mov [early_pml4], eax
    mov [early_pml4 + 256 * 8], eax
    mov eax, early_pdpt_high
    or eax, 3
    mov [early_pml4 + 511 * 8], eax

    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov eax, early_pml4
    mov cr3, eax

    mov ecx, 0xC0000080             ; EFER
    rdmsr
    or eax, 1 << 8                  ; LME
    test ebp, 1 << 20
    jz .no_nx
    or eax, 1 << 11                 ; NXE
.no_nx:
    wrmsr

    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1   ; PG | WP | PE
    mov cr0, eax

    lgdt [early_gdt_ptr]
    jmp 0x08:long_mode_entry

.bad_magic:
    mov ebx, msg_bad_magic
    jmp .fail
.no_long_mode:
    mov ebx, msg_no_long_mode
.fail:
    call serial_puts32
.halt:
    hlt
    jmp .halt

; serial_puts32: write the NUL-terminated string at EBX to COM1, polling the
; line status register before each byte (real UARTs and Bochs need it).
serial_puts32:
    mov dx, COM1 + 3
    mov al, 0x03                    ; 8N1 (the divisor is left as firmware set it)
    out dx, al
.next:
    mov al, [ebx]
    test al, al
    jz .done
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [ebx]
    mov dx, COM1
    out dx, al
    inc ebx
    jmp .next
.done:
    ret

bits 64
long_mode_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rax, KERNEL_VMA
    add rsp, rax                    ; the same stack, through the high mapping
    mov rax, kmain_trampoline       ; boot/entry64.asm
    jmp rax

section .boot.data progbits alloc noexec write align=16
msg_bad_magic:
    db "shootdown: not started by a multiboot2 loader (bad magic in EAX); halting.", 13, 10, 0
msg_no_long_mode:
    db "shootdown: this CPU has no 64-bit long mode; Shootdown needs x86-64. Halting.", 13, 10, 0

align 16
early_gdt:
    dq 0
    dq 0x00209A0000000000           ; 0x08: 64-bit kernel code
    dq 0x0000920000000000           ; 0x10: kernel data
early_gdt_end:
early_gdt_ptr:
    dw early_gdt_end - early_gdt - 1
    dd early_gdt

section .boot.bss nobits alloc noexec write align=4096
early_pml4:      resb 4096
early_pdpt_low:  resb 4096
early_pdpt_high: resb 4096
early_pd:        resb 4096 * 4
boot_stack:      resb 16384
boot_stack_top:
