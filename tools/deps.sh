#!/bin/sh
# tools/deps.sh [--check] [--debug]
#
# Makes sure the host has what building, running and testing Shootdown needs,
# and installs what is missing on Debian/Ubuntu with apt-get (through sudo
# when not root).  `make run`, `make test` and `.ci/run` call it.
#
#   --check   only report; never install
#   --debug   also require gdb (for `make debug`)
#
# Each package is checked by a command or a file it provides, not by asking
# dpkg: this runs before every `make run`/`make test` and must cost nothing
# when everything is there.  It also means a tool installed some other way
# (a hand-built QEMU, say) counts as present.
set -eu

check_only=0
want_debug=0
for arg in "$@"; do
    case $arg in
    --check) check_only=1 ;;
    --debug) want_debug=1 ;;
    *) echo "usage: $0 [--check] [--debug]" >&2; exit 2 ;;
    esac
done

# "package  what-shows-it-is-there" - a path (starting with /) must exist,
# anything else is a command that must be on PATH.
REQUIREMENTS='
gcc                 gcc
make                make
nasm                nasm
grub-common         grub-mkrescue
grub-pc-bin         /usr/lib/grub/i386-pc/multiboot2.mod
grub-efi-amd64-bin  /usr/lib/grub/x86_64-efi/multiboot2.mod
xorriso             xorriso
mtools              mformat
qemu-system-x86     qemu-system-x86_64
ovmf                /usr/share/ovmf/OVMF.fd
bochs               bochs
bochsbios           /usr/share/bochs/BIOS-bochs-latest
vgabios             /usr/share/bochs/VGABIOS-lgpl-latest
python3             python3
spin                spin
chromium            chromium
'
if [ "$want_debug" = 1 ]; then
    REQUIREMENTS="$REQUIREMENTS
gdb                 gdb
"
fi

# Prints the packages whose check fails, one per line.
missing_packages() {
    echo "$REQUIREMENTS" | while read -r pkg probe; do
        [ -n "$pkg" ] || continue
        case $probe in
        # -e follows symlinks: Debian's bochs ships VGABIOS-lgpl-latest as a
        # link into the vgabios package, dangling until that is installed.
        /*) [ -e "$probe" ] || echo "$pkg" ;;
        *) command -v "$probe" >/dev/null 2>&1 || echo "$pkg" ;;
        esac
    done
}

missing=$(missing_packages)
[ -z "$missing" ] && exit 0

list=$(echo $missing)    # one line, space separated
echo "deps: missing packages: $list"

fail() {
    echo "deps: error: $1" >&2
    echo "deps: please install these packages:  $list" >&2
    echo "deps:   e.g.  sudo apt-get install $list" >&2
    exit 1
}

[ "$check_only" = 1 ] && fail "not installing (--check)"
command -v apt-get >/dev/null 2>&1 || fail "no apt-get here (this script knows Debian and Ubuntu only)"

if [ "$(id -u)" = 0 ]; then
    as_root=
elif command -v sudo >/dev/null 2>&1; then
    # Without a terminal sudo cannot ask for a password: fail instead of hanging.
    if [ -t 0 ]; then as_root=sudo; else as_root="sudo -n"; fi
else
    fail "not root and no sudo"
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing with apt-get: $list"
$as_root apt-get update -q || fail "apt-get update failed"
# shellcheck disable=SC2086  # $list is a word list on purpose
$as_root apt-get install -y -q --no-install-recommends $list || fail "apt-get install failed"

missing=$(missing_packages)
if [ -n "$missing" ]; then
    list=$(echo $missing)
    fail "still missing after apt-get install"
fi
echo "deps: all there"
