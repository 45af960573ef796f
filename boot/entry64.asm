; boot/entry64.asm - the first 64-bit instructions at the kernel's linked
; address: boot/multiboot2.asm jumps here on the higher-half boot stack, and
; this calls kmain(magic, info).
;
; A file of its own, apart from the 32-bit code linked at physical
; addresses: NASM writes ONE DWARF compilation unit per file, whose address
; range starts at the file's first section.  With .boot.text (physical) and
; this code (0xffffffff80...) in one file, gdb found this code in that
; unit's line table but in none of its blocks and printed "not in symtab"
; at every frame print below kmain (docs/debugging.md).  One section per
; file keeps the unit's range true.
;
; The backtrace ends here: RBP = 0 ends the frame-pointer chain (the
; kernel's own backtrace, kernel/panic.c), and the zero pushed before the
; call is the return address gdb's unwinder reads for this frameless code:
; a zero PC ends gdb's backtrace instead of a walk through the boot stack's
; neighbours.

section .text.entry progbits alloc exec nowrite align=16
global kmain_trampoline
extern kmain
kmain_trampoline:
    ; EDI = magic, ESI = info (zero-extended by the 32-bit moves in multiboot2.asm)
    mov edi, edi
    mov esi, esi
    xor ebp, ebp
    push 0                          ; the outermost return address (see above)
    push 0                          ; keeps RSP 16-byte aligned at the call
    call kmain
.hang:
    cli
    hlt
    jmp .hang
