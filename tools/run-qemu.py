#!/usr/bin/env python3
"""tools/run-qemu.py - `make run` and `make debug`.

make run:   boots Shootdown in QEMU with the serial console on this terminal.
            Without CMDLINE it boots build/shootdown.iso, the ISO with the GRUB
            menu of iso/boot/grub/grub.cfg (normal boot after 3 s, or pick
            "run the in-kernel tests"); with CMDLINE="..." it builds
            build/run.iso whose only entry boots at once with that command line.
make debug: the same machine halted before the first instruction, with a gdb
            stub, and gdb attached with the kernel's symbols and the commands
            of tools/gdb/shootdown.gdb.  The serial output goes to
            build/debug-serial.log (gdb owns the terminal).

The exit status says how the kernel ended: 0 when the tests passed (or QEMU
was quit), 1 when tests failed, 2 on a kernel panic.  With run=PROG ... on
the command line (make run PROG="name args"; kernel/proc/run.c) it is the
program's status, read from the kernel's last line `run: exit status N`
(tools/vmlib.py, run_status): the program's exit code, 128 + the vector of
a fault that killed it, 126 for bad arguments, 127 for no such program,
124 when the machine ended without that line (a panic, or quit by hand).

Python 3 standard library only.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys

sys.dont_write_bytecode = True    # no __pycache__ in tools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402


def free_tcp_port():
    """A port for the gdb stub: 1234 is QEMU's default, but another QEMU
    (another developer, another test) may hold it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description="Boot Shootdown in QEMU (make run / make debug).")
    ap.add_argument("--smp", type=int, default=4)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--accel", default="tcg", choices=["tcg", "kvm"])
    ap.add_argument("--cpu", default="", help="QEMU -cpu (default: max with tcg, host with kvm)")
    ap.add_argument("--uefi", default="0", help="1: boot through OVMF (UEFI) instead of SeaBIOS")
    ap.add_argument("--cmdline", default="", help="kernel command line (default: the GRUB menu)")
    ap.add_argument("--gdb", action="store_true", help="start halted, with gdb attached")
    args = ap.parse_args()

    uefi = args.uefi not in ("", "0", "no", "false")
    if args.cmdline.strip():
        iso = vmlib.build_iso(os.path.join(vmlib.BUILD, "run.iso"), args.cmdline.strip())
    else:
        iso = vmlib.MENU_ISO
        if not os.path.exists(iso) or os.path.getmtime(iso) < os.path.getmtime(vmlib.ELF):
            vmlib.build_iso(iso)

    if args.gdb:
        return debug(args, iso, uefi)

    argv = vmlib.qemu_argv(iso, smp=args.smp, mem=args.mem, accel=args.accel,
                           cpu=args.cpu or None, uefi=uefi, serial="stdio")
    print("+ " + " ".join(argv), flush=True)
    if vmlib.RUN_OPTION.search(args.cmdline):
        return run_one_program(argv)
    print("(Ctrl-C quits QEMU)", flush=True)
    try:
        status = subprocess.call(argv)
    except KeyboardInterrupt:
        status = -signal.SIGINT
    print("\nrun-qemu: %s" % vmlib.describe_exit(status), flush=True)
    if status == vmlib.EXIT_TESTS_FAILED:
        return 1
    if status == vmlib.EXIT_PANIC:
        return 2
    return 0 if status in (0, vmlib.EXIT_TESTS_PASSED, -signal.SIGINT) else status


def run_one_program(argv):
    """run=: the serial output passes through to this terminal and is kept,
    to read the program's status from the kernel's last line."""
    seen = []
    try:
        qemu = subprocess.Popen(argv, stdout=subprocess.PIPE)
        for line in iter(qemu.stdout.readline, b""):
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
            seen.append(line.decode("utf-8", "replace"))
        status = qemu.wait()
    except KeyboardInterrupt:
        vmlib.stop(qemu)
        status = -signal.SIGINT
    code, why = vmlib.run_status("".join(seen), status)
    print("\nrun-qemu: %s" % (why or "exit status %d" % code), flush=True)
    return code


def debug(args, iso, uefi):
    port = free_tcp_port()
    serial = os.path.join(vmlib.BUILD, "debug-serial.log")
    # -S: stop before the first instruction; the gdb stub on our own port.
    argv = vmlib.qemu_argv(iso, smp=args.smp, mem=args.mem, accel=args.accel,
                           cpu=args.cpu or None, uefi=uefi, serial=serial,
                           extra=["-S", "-gdb", "tcp:127.0.0.1:%d" % port])
    print("+ " + " ".join(argv), flush=True)
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    gdb = ["gdb", "-q", vmlib.ELF,
           "-x", os.path.join(vmlib.ROOT, "tools", "gdb", "shootdown.gdb"),
           "-ex", "target remote 127.0.0.1:%d" % port,
           "-ex", "echo \\nShootdown: the machine is halted at reset.  "
                  "Try: hbreak kmain, continue, sd-help, sd-tlbstate, sd-trace.\\n"
                  "Serial output: build/debug-serial.log\\n"]
    print("serial output goes to %s (tail -f it in another terminal)"
          % os.path.relpath(serial, vmlib.ROOT), flush=True)
    try:
        # gdb owns the terminal; Ctrl-C belongs to it (it stops the guest).
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        # From the repository's root: shootdown.gdb sources tools/gdb/shootdown.py.
        subprocess.call(gdb, cwd=vmlib.ROOT)
        signal.signal(signal.SIGINT, old)
    finally:
        vmlib.stop(qemu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
