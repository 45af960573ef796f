#!/bin/sh
# tools/mkiso.sh ELF ISO [CMDLINE]
# Builds a GRUB rescue ISO (hybrid: BIOS and UEFI) holding the kernel.
# Without CMDLINE it uses iso/boot/grub/grub.cfg (the menu).  With CMDLINE
# (which may be empty: pass "") it writes a one-entry grub.cfg that boots at
# once with that command line - the test runner and `make run` use this.
set -eu
elf=$1; out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub"
cp "$elf" "$tmp/boot/shootdown.elf"
if [ $# -ge 3 ]; then
    cat > "$tmp/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "Shootdown" {
    multiboot2 /boot/shootdown.elf $3
    boot
}
CFG
else
    cp iso/boot/grub/grub.cfg "$tmp/boot/grub/grub.cfg"
fi
# Leave out GRUB modules we never use to keep the image small; the ISO stays
# bootable on both firmware kinds.
grub-mkrescue -o "$out" "$tmp" >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
