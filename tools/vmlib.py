"""tools/vmlib.py - what `make run`, `make debug` and `make test` share:
building a boot ISO, the QEMU and Bochs command lines, and the meaning of
QEMU's exit status.

Python 3 standard library only.
"""

import os
import re
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
ELF = os.path.join(BUILD, "shootdown.elf")
MENU_ISO = os.path.join(BUILD, "shootdown.iso")
OVMF = "/usr/share/ovmf/OVMF.fd"

# The kernel ends QEMU through the isa-debug-exit device at port 0xf4: QEMU
# exits with (value << 1) | 1.  The values are in arch/x86_64/include/arch/machine.h.
EXIT_TESTS_PASSED = (0x10 << 1) | 1    # 33
EXIT_TESTS_FAILED = (0x11 << 1) | 1    # 35
EXIT_PANIC = (0x12 << 1) | 1           # 37
EXIT_RUN_ENDED = (0x13 << 1) | 1       # 39: run= ended; the status is in the log

EXIT_MEANING = {
    EXIT_TESTS_PASSED: "the in-kernel tests passed",
    EXIT_TESTS_FAILED: "the in-kernel tests failed",
    EXIT_PANIC: "kernel panic",
    EXIT_RUN_ENDED: "the run= program ended",
    # With -no-reboot a guest reset (a triple fault, or the kernel asking for
    # a reboot) ends QEMU with status 0, exactly like quitting it by hand.
    0: "QEMU ended without the kernel's exit device: a reset (triple fault?) or quit by hand",
}

# Bochs: the ROM images from the bochsbios and vgabios packages.
BOCHS_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
BOCHS_VGABIOS_CANDIDATES = [
    "/usr/share/bochs/VGABIOS-lgpl-latest",    # Debian: a link into vgabios
    "/usr/share/vgabios/vgabios.bin",
]


# run=PROG args... (kernel/proc/run.c): the kernel's last line says the
# status the host should exit with (0..255: the program's exit code, 128 +
# the vector of a fault that killed it, 126 bad arguments, 127 no such
# program).  QEMU's exit status carries 7 bits of a code and Bochs's none,
# so the line is the status and the exit device (EXIT_RUN_ENDED) only says
# that the kernel got to write it.
RUN_STATUS_LINE = re.compile(r"\brun: exit status (\d+)\s*$", re.MULTILINE)
# The host's status when the machine ended without that line (a panic, a
# hang stopped by hand): what a shell reports for a command it timed out.
RUN_STATUS_LOST = 124
RUN_OPTION = re.compile(r"(^|\s)run=")


def run_status(text, qemu_status=None):
    """The exit status of a run= boot from its serial output (and QEMU's
    exit status; None for Bochs): (status, None), or (RUN_STATUS_LOST,
    why) when the kernel did not end the run itself."""
    found = RUN_STATUS_LINE.findall(text.replace("\r", ""))
    if qemu_status is not None and qemu_status != EXIT_RUN_ENDED:
        return RUN_STATUS_LOST, "QEMU: " + describe_exit(qemu_status)
    if len(found) != 1:
        return RUN_STATUS_LOST, ("no line 'run: exit status N' in the output" if not found
                                 else "%d lines 'run: exit status N'" % len(found))
    return int(found[0]), None


def describe_exit(status):
    """Human words for QEMU's exit status."""
    if status is None:
        return "timed out"
    if status < 0:
        return "killed by signal %d" % -status
    return EXIT_MEANING.get(status, "exit status %d" % status)


def build_iso(out, cmdline=None, elf=ELF):
    """Builds a GRUB ISO at `out` with tools/mkiso.sh.  cmdline None: the
    menu of iso/boot/grub/grub.cfg; otherwise (even "") a one-entry grub.cfg
    that boots at once with that kernel command line."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    argv = ["sh", os.path.join(ROOT, "tools", "mkiso.sh"), elf, out]
    if cmdline is not None:
        argv.append(cmdline)
    subprocess.run(argv, cwd=ROOT, check=True)
    return out


def mem_megabytes(mem):
    """'256M' / '1G' / '512' -> megabytes (QEMU's -m defaults to MiB)."""
    m = str(mem).strip().upper().rstrip("B")
    if m.endswith("G"):
        return int(float(m[:-1]) * 1024)
    if m.endswith("M"):
        return int(float(m[:-1]))
    return int(m)


def qemu_argv(iso, smp=4, mem="256M", accel="tcg", cpu=None, uefi=False,
              serial="stdio", extra=(), monitor=None):
    """The qemu-system-x86_64 command line for booting `iso`.

    serial: "stdio" or a file path for the serial log.
    monitor: a Unix socket path for QEMU's monitor (the test runner sends
    `nmi` there when a boot goes silent), or None for no monitor.
    """
    argv = ["qemu-system-x86_64"]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", cpu or "host"]
    elif accel == "tcg":
        # thread=multi: one host thread per vCPU (MTTCG), so CPUs really run
        # at the same time and races can show.
        argv += ["-accel", "tcg,thread=multi", "-cpu", cpu or "max"]
    else:
        raise ValueError("ACCEL must be tcg or kvm, not %r" % accel)
    argv += ["-smp", str(smp), "-m", str(mem)]
    if uefi:
        if not os.path.exists(OVMF):
            raise FileNotFoundError("%s not found (package ovmf; run tools/deps.sh)" % OVMF)
        argv += ["-bios", OVMF]
    argv += ["-cdrom", iso, "-boot", "d", "-net", "none"]
    argv += ["-display", "none", "-no-reboot"]
    argv += ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    mon = "unix:%s,server=on,wait=off" % monitor if monitor else "none"
    if serial == "stdio":
        argv += ["-serial", "stdio", "-monitor", mon]
    else:
        argv += ["-serial", "file:" + serial, "-monitor", mon]
    argv += list(extra)
    return argv


def bochs_vgabios():
    for path in BOCHS_VGABIOS_CANDIDATES:
        if os.path.exists(path):
            return path
    raise FileNotFoundError("no VGA BIOS for Bochs (package vgabios; run tools/deps.sh)")


def bochsrc(iso, serial_log, bochs_log, smp=4, mem="256M",
            model="corei7_haswell_4770", ips=50000000):
    """A bochsrc that boots `iso` headless with COM1 written to serial_log.

    Display: Debian's Bochs has no `nogui` library and `term` needs a tty.
    `rfb` (a VNC server) works without any terminal: with timeout=0 it does
    not wait for a viewer.  It listens on the first free port of 5900-5949,
    so several Bochs can run at once.
    """
    return "\n".join([
        "megs: %d" % mem_megabytes(mem),
        "cpu: model=%s, count=%d, ips=%d, reset_on_triple_fault=0" % (model, smp, ips),
        "romimage: file=%s" % BOCHS_BIOS,
        "vgaromimage: file=%s" % bochs_vgabios(),
        "ata0-master: type=cdrom, path=%s, status=inserted" % iso,
        "boot: cdrom",
        "com1: enabled=1, mode=file, dev=%s" % serial_log,
        'display_library: rfb, options="timeout=0"',
        # The ALSA sound plugin aborts Bochs on machines without sound.
        "speaker: enabled=0",
        "sound: driver=dummy",
        "mouse: enabled=0",
        "log: %s" % bochs_log,
        # A triple fault (reset_on_triple_fault=0) or a Bochs panic ends
        # Bochs instead of waiting at a prompt.
        "panic: action=fatal",
        "error: action=report",
        "",
    ])


def bochs_argv(rcfile, cmdfile):
    """Debian's Bochs has its debugger built in and stops at a prompt unless
    a command file says `c` (continue).

    Its only headless display, rfb, opens a VNC listening socket.  Where we
    may (root, util-linux's unshare), Bochs runs in a network namespace of
    its own, so that socket is reachable from nowhere, not even loopback."""
    argv = ["bochs", "-q", "-f", rcfile, "-rc", cmdfile]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and have("unshare"):
        if subprocess.run(["unshare", "--net", "true"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            argv = ["unshare", "--net"] + argv
    return argv


def stop(proc):
    """End an emulator we started (and did not see end by itself): terminate,
    and kill it if it has not gone after 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def have(program):
    return shutil.which(program) is not None
