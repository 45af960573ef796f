#!/bin/sh
# tools/mkiso.sh ELF ISO [CMDLINE]
# Builds a GRUB rescue ISO (hybrid: BIOS and UEFI) holding the kernel and
# the user programs.  Without CMDLINE it uses iso/boot/grub/grub.cfg (the
# menu).  With CMDLINE (which may be empty: pass "") it writes a one-entry
# grub.cfg that boots at once with that command line - the test runner and
# `make run` use this.
#
# User programs: every NAME.elf in USER_DIR (default: user/ next to ELF,
# i.e. build/user/) goes to /boot/user/NAME.elf, and each multiboot2 line of
# the config gets one `module2 /boot/user/NAME.elf NAME` line after it (the
# module's command line is the program's name; the kernel looks programs up
# by it).
set -eu
elf=$1; out=$2
user_dir=${USER_DIR:-$(dirname "$elf")/user}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub" "$tmp/boot/user"
cp "$elf" "$tmp/boot/shootdown.elf"
modules=""
for prog in "$user_dir"/*.elf; do
    [ -e "$prog" ] || continue
    name=$(basename "$prog" .elf)
    cp "$prog" "$tmp/boot/user/$name.elf"
    modules="$modules    module2 /boot/user/$name.elf $name
"
done
if [ $# -ge 3 ]; then
    cat > "$tmp/boot/grub/grub.cfg.in" <<CFG
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
    cp iso/boot/grub/grub.cfg "$tmp/boot/grub/grub.cfg.in"
fi
# The module lines follow every multiboot2 line.
printf '%s' "$modules" > "$tmp/modules.txt"
awk -v mods="$tmp/modules.txt" '
    { print }
    /^[ \t]*multiboot2[ \t]/ { while ((getline line < mods) > 0) print line; close(mods) }
' "$tmp/boot/grub/grub.cfg.in" > "$tmp/boot/grub/grub.cfg"
rm -f "$tmp/boot/grub/grub.cfg.in" "$tmp/modules.txt"
# Leave out GRUB modules we never use to keep the image small; the ISO stays
# bootable on both firmware kinds.
grub-mkrescue -o "$out" "$tmp" >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
