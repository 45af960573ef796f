# tools/gdb/shootdown.gdb - gdb commands for Shootdown (loaded by `make debug`).
#
# Under QEMU's gdb stub every virtual CPU is one gdb thread: `info threads`
# lists them, `thread N` switches.  gdb numbers them from 1 in the order of
# QEMU's CPU index; Shootdown's dense CPU id is assigned at bring-up and can
# differ, so sd-cpus finds it from each vCPU's GS base.
#
# Addresses: kernel symbols live in the top 2 GiB (0xffffffff80000000 + the
# physical address; see linker.ld).  The 32-bit entry in boot/multiboot2.asm
# runs at physical addresses before paging is on, so a software breakpoint
# on a kernel symbol cannot be planted at reset: use `hbreak` (a hardware
# breakpoint on the linear address), e.g. `hbreak kmain`, then `continue`.

# Pagination on: a long listing stops at each screen instead of scrolling
# past (gdb turns it off by itself in batch mode, tools/test-gdb.py).  A
# backtrace stops after 64 frames whatever the stack holds: the kernel's
# deepest real chain is far shorter, and a walk through garbage (a corrupt
# stack, a frame gdb cannot unwind) must end.
set pagination on
set backtrace limit 64
set confirm off
set print pretty on
set disassembly-flavor intel
# Before `target remote`: QEMU starts the CPU in real mode, and gdb would
# otherwise take the stub's i386 description and print 64-bit frames wrong.
set architecture i386:x86-64

# sd-tlbstate and sd-trace are gdb Python (run gdb from the repository's root).
source tools/gdb/shootdown.py

define sd-help
  echo sd-percpu   every per-CPU area in percpu_base[] (kernel/smp/percpu.c): base, id, APIC id\n
  echo sd-cpu      this vCPU (gdb thread): RIP, RSP, CR3, GS base and the Shootdown CPU it is\n
  echo sd-cpus     sd-cpu for every vCPU\n
  echo sd-bt-all   a backtrace of every vCPU\n
  echo sd-tlbstate every CPU's loaded mm, lazy flag, ASID slots (ctx, generation)\n
  echo sd-trace [N] the last N events of every CPU's TLB trace ring, merged by TSC\n
  echo Start:      hbreak kmain, then continue (see the top of tools/gdb/shootdown.gdb)\n
end
document sd-help
List Shootdown's gdb commands.
end

# percpu_base[] is declared without a size in kernel/percpu.h; only its
# definition in kernel/smp/percpu.c knows it has MAX_CPUS entries, so name that
# one for its size.  Sets $sd_pb (the array) and $sd_n (its length).
define sd-percpu-array
  set $sd_pb = (unsigned long *)&percpu_base
  set $sd_n = sizeof('kernel/smp/percpu.c'::percpu_base) / sizeof($sd_pb[0])
end

define sd-percpu
  sd-percpu-array
  set $sd_i = 0
  printf "cpu  per-CPU base         hdr.cpu  apic_id\n"
  while $sd_i < $sd_n
    if $sd_pb[$sd_i] != 0
      set $sd_h = (struct percpu_hdr *)$sd_pb[$sd_i]
      printf "%3d  %#018lx  %7u  %7u\n", $sd_i, $sd_pb[$sd_i], $sd_h->cpu, smp_apic_ids[$sd_i]
    end
    set $sd_i = $sd_i + 1
  end
end
document sd-percpu
Print each CPU's per-CPU area (percpu_base[] in kernel/smp/percpu.c): its base
address (the CPU's GS base), the CPU id in its header, and its APIC id
(smp_apic_ids[], arch/x86_64/smp/smpboot.c).
end

# Sets $sd_cpu to the Shootdown CPU id whose per-CPU base is $arg0, or -1.
define sd-cpu-of-base
  sd-percpu-array
  set $sd_cpu = -1
  set $sd_j = 0
  while $sd_j < $sd_n && $sd_cpu < 0
    if $arg0 != 0 && $sd_pb[$sd_j] == $arg0
      set $sd_cpu = $sd_j
    end
    set $sd_j = $sd_j + 1
  end
end

define sd-cpu
  printf "rip %#018lx  rsp %#018lx  cr3 %#lx  gs_base %#lx", $rip, $rsp, $cr3, $gs_base
  # In kernel mode GS holds this CPU's per-CPU base; between swapgs pairs
  # (user mode, once there is one) it is in KERNEL_GS_BASE instead.
  sd-cpu-of-base $gs_base
  if $sd_cpu < 0
    sd-cpu-of-base $k_gs_base
  end
  if $sd_cpu >= 0
    printf "  -> Shootdown cpu %d (apic id %u)\n", $sd_cpu, smp_apic_ids[$sd_cpu]
  else
    printf "  -> no per-CPU area yet\n"
  end
  x/i $pc
end
document sd-cpu
Print the current vCPU's RIP, RSP, CR3 and GS base, and which Shootdown CPU
(index into percpu_base[]) it is.
end

define sd-cpus
  thread apply all sd-cpu
end
document sd-cpus
sd-cpu for every vCPU (gdb thread).
end

define sd-bt-all
  thread apply all backtrace 12
end
document sd-bt-all
A short backtrace of every vCPU.
end
