# Shootdown - top-level Makefile.
#
#   make            build build/shootdown.elf
#   make iso        build build/shootdown.iso (GRUB, boots under BIOS and UEFI)
#   make run        boot the ISO in QEMU (knobs: SMP=4 MEM=256M ACCEL=tcg|kvm UEFI=1 CPU=... CMDLINE="...")
#   make run MODE=hazard   ... in a lazy-mm mode (refcount|shootdown|hazard|mmput; adds lazy_mm= to CMDLINE)
#   make run PROG="exitcode 7"  run one user program with its arguments; exits with its status
#   make demo-modes the boot demo's TLB scene once per lazy-mm mode: one table of its counters (SMP=)
#   make bench      the bench program (run=bench) in every lazy-mm mode, QEMU at BENCH_CPUS CPUs and
#                   Bochs with pcid=on/off, BENCH_BOOTS boots each: build/bench/results.md and SVG
#                   plots (narrow: BENCH_MODES="hazard" BENCH_CPUS="2" BENCH_PCID= BENCH="names")
#   make test       the whole test suite: host unit tests + every boot configuration
#   make test SMP=3 one configuration by hand (also CONFIG=name, see tools/run-tests.py --list)
#   make test SMP=4 TESTS=tlb_stale MODE=shootdown CMDLINE="pcid=off"
#                   narrowed: these suites, this lazy-mm mode, more kernel options
#   make test-bochs the Bochs configuration only
#   make soak CONFIG=smp4-shootdown,smp8-hazard N=30
#                   soak: boot each configuration N times, one after another (no retries);
#                   failing boots keep build/test-logs/NAME.runK.log; one line per
#                   configuration 'soak NAME: N runs, F failed' (TESTS=, MODE=, CMDLINE= work too)
#   make test-tlbtrace  the trace viewer's tests (tools/tlbtrace.py; its page in headless Chromium)
#   make models     the Promela models of the TLB/lazy-mm protocols (spin; also part of make test)
#   make debug      QEMU halted with a gdb stub, and gdb attached with symbols
#   make test-gdb   make debug's gdb set-up tested in batch mode (tools/test-gdb.py)
#   make lab-start LAB=shootdown DIR=~/lab1
#                   a lab's starting tree (labs/README.md): the solution taken out
#   make grade [LAB=shootdown]
#                   grade the labs (all, or one): points per part, with the checker on
#   make test-labs  the grader proved both ways: this tree scores full marks, each
#                   lab's starting tree builds, boots and scores zero (tools/lab.py)
#   make compdb     compile_commands.json for editors
#   make CC=clang   build with clang; CROSS=x86_64-elf- for a cross toolchain

ifeq ($(origin CC),default)
CC := $(CROSS)gcc
endif
LD      := $(CROSS)ld
NM      := $(CROSS)nm
OBJCOPY := $(CROSS)objcopy
NASM    ?= nasm
PYTHON  ?= python3
HOSTCC  ?= cc

BUILD   := build
ELF     := $(BUILD)/shootdown.elf
ISO     := $(BUILD)/shootdown.iso

# No -Itests: kernel code reaches the tests only through <kernel/ktest.h>;
# the suites include their own headers ("ktest_suite.h") from their folder.
INCLUDES := -Ilib/include -Ikernel/include -Iarch/x86_64/include

# Freestanding kernel code: no red zone (interrupts push onto the stack
# below RSP), the kernel code model (we live in the top 2 GiB), no SSE/x87
# (the kernel does not save FPU state on interrupts), frame pointers for
# backtraces.
CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
           -ffreestanding -fno-builtin -nostdinc -fno-stack-protector -fno-pic -fno-pie \
           -mno-red-zone -mcmodel=kernel -mno-mmx -mno-sse -mno-sse2 -mno-3dnow -mno-avx \
           -fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-strict-aliasing \
           -fno-asynchronous-unwind-tables -fno-common \
           $(INCLUDES) -MMD -MP
# Freestanding headers (stdint.h, stdarg.h, stdatomic.h...) come from the compiler.
CFLAGS  += -isystem $(shell $(CC) -print-file-name=include)
ifneq ($(findstring clang,$(CC)),)
CFLAGS  += --target=x86_64-unknown-none-elf -Wno-unused-command-line-argument
else
CFLAGS  += -mgeneral-regs-only
endif
NASMFLAGS := -f elf64 -g -F dwarf -i arch/x86_64/
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

KSRCS   := $(shell find kernel arch lib tests -name '*.c' -not -path 'tests/host/*' | sort)
ASRCS   := $(shell find boot arch -name '*.asm' | sort)
KOBJS   := $(patsubst %.c,$(BUILD)/%.o,$(KSRCS)) $(patsubst %.asm,$(BUILD)/%.asm.o,$(ASRCS))

# The list of objects, rewritten only when it changes, so that adding or
# removing a source file relinks the kernel.
OBJLIST := $(BUILD)/objects.list
$(shell mkdir -p $(BUILD); echo '$(KOBJS)' | cmp -s - $(OBJLIST) || echo '$(KOBJS)' > $(OBJLIST))

.PHONY: all iso run demo-modes bench test test-bochs test-host test-tlbtrace test-gdb soak models debug compdb clean deps check-arch \
        lab-start grade test-labs
all: check-arch $(ELF) user

# The arch boundary, on every build: no file under kernel/ or lib/ includes a
# private x86 header (<arch/x86/...>), and only the tests of x86 mechanics
# listed in the script do (tools/check-arch-boundary.py, docs/arch.md).  The
# same script holds the tests' seam: kernel/, lib/ and arch/ include nothing
# from tests/ (kmain starts the tests through <kernel/ktest.h>).
check-arch:
	@mkdir -p $(BUILD)
	@$(PYTHON) tools/check-arch-boundary.py > $(BUILD)/arch-boundary.txt || \
		{ grep -v '^arch-boundary:' $(BUILD)/arch-boundary.txt; echo "error: the arch boundary (or the tests' seam) is crossed (see above)"; exit 1; }

include user/user.mk

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

# The generated symbol tables live in build/ already.
$(BUILD)/ksyms.o $(BUILD)/ksyms-empty.o: $(BUILD)/%.o: $(BUILD)/%.c
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.asm.o: %.asm Makefile arch/x86_64/trap_frame.inc
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	@$(NASM) $(NASMFLAGS) $< -o $@

# Two links (see tools/gen-ksyms.sh): the first with an empty symbol table,
# the second with the table made from the first.  The check compares the
# function addresses of both links.
$(BUILD)/ksyms-empty.c:
	@mkdir -p $(dir $@)
	@printf '#include <kernel/debug/ksyms.h>\n__attribute__((section(".ksyms"))) const struct ksym ksyms_table[1];\n__attribute__((section(".ksyms"))) const unsigned long ksyms_count = 0;\n' > $@

$(BUILD)/shootdown.pass1.elf: $(KOBJS) $(BUILD)/ksyms-empty.o linker.ld $(OBJLIST)
	@echo "  LD      $@"
	@$(LD) $(LDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms-empty.o

$(BUILD)/ksyms.c: $(BUILD)/shootdown.pass1.elf tools/gen-ksyms.sh
	@echo "  KSYMS   $@"
	@NM=$(NM) sh tools/gen-ksyms.sh $< > $@

$(ELF): $(KOBJS) $(BUILD)/ksyms.o linker.ld $(OBJLIST)
	@echo "  LD      $@"
	@$(LD) $(LDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms.o
	@$(NM) -n $(BUILD)/shootdown.pass1.elf | awk '$$2 ~ /^[tT]$$/' > $(BUILD)/syms1.txt
	@$(NM) -n $@ | awk '$$2 ~ /^[tT]$$/' > $(BUILD)/syms2.txt
	@cmp -s $(BUILD)/syms1.txt $(BUILD)/syms2.txt || { echo "error: code moved between the two links; the symbol table would be wrong"; exit 1; }

iso: $(ISO)
$(ISO): $(ELF) $(UELFS) iso/boot/grub/grub.cfg tools/mkiso.sh
	@echo "  ISO     $@"
	@sh tools/mkiso.sh $(ELF) $@

# ---- running ---------------------------------------------------------------
SMP     ?= 4
MEM     ?= 256M
ACCEL   ?= tcg
UEFI    ?= 0
CMDLINE ?=
CPU     ?=
# A lazy-mm mode (kernel/lazy_mm.h): refcount, shootdown, hazard or mmput.
MODE    ?=
ifneq ($(MODE),)
ifeq ($(filter $(MODE),refcount shootdown hazard mmput),)
$(error MODE=$(MODE): the lazy-mm modes are refcount, shootdown, hazard and mmput)
endif
endif

deps:
	@sh tools/deps.sh

# Without CMDLINE (or MODE), `make run` boots the menu ISO
# (build/shootdown.iso); with CMDLINE="..." tools/run-qemu.py builds
# build/run.iso with that command line.  MODE=x adds lazy_mm=x to it.
# PROG="name args" runs that one user program (run=, which must come last:
# kernel/proc/run.c); make run then exits with the program's status.
PROG    ?=
RUN_CMDLINE := $(strip $(CMDLINE) $(if $(MODE),lazy_mm=$(MODE)) $(if $(PROG),run=$(PROG)))
run: deps $(ELF) user $(ISO)
	$(PYTHON) tools/run-qemu.py --smp $(SMP) --mem $(MEM) --accel $(ACCEL) --uefi $(UEFI) --cpu "$(CPU)" --cmdline '$(RUN_CMDLINE)'

# The TLB scene (demo=tlb) booted once per lazy-mm mode, its event counters
# side by side in one table (tools/demo-modes.py, docs/demo.md).
demo-modes: deps $(ELF) user
	$(PYTHON) tools/demo-modes.py --smp $(SMP)

# The benchmarks (tools/bench.py, then tools/bench-report.py; README.md,
# "Measuring").  Boots one at a time, in rounds, within BENCH_BUDGET wall
# seconds.  Empty BENCH_MODES: every mode of kernel/mm/lazy_mm.c; empty
# BENCH_PCID: no Bochs rows; empty BENCH_CPUS: no QEMU rows; BENCH: only
# these benchmarks.  Bochs rows boot BENCH_BOCHS_BOOTS times with the words
# BENCH_BOCHS added (fewer iterations: Bochs is slow, and its clock counts
# instructions).  BENCH_CMDLINE: more kernel options for every boot (e.g.
# frame_cache=off, to measure a mechanism against its absence).  Timing is
# never part of make test.
BENCH_MODES  ?=
BENCH_CPUS   ?= 2 4
BENCH_PCID   ?= on off
BENCH_BOCHS_CPUS ?= 2
BENCH_BOOTS  ?= 3
BENCH_BOCHS_BOOTS ?= 1
BENCH_BOCHS  ?= ITERS=100
BENCH_BUDGET ?= 1080
BENCH        ?=
BENCH_CMDLINE ?=
bench: deps $(ELF) user
	$(PYTHON) tools/bench.py --modes "$(BENCH_MODES)" --cpus "$(BENCH_CPUS)" --pcid "$(BENCH_PCID)" \
		--bochs-cpus "$(BENCH_BOCHS_CPUS)" --boots "$(BENCH_BOOTS)" --budget "$(BENCH_BUDGET)" \
		--bochs-boots "$(BENCH_BOCHS_BOOTS)" --bochs-bench "$(BENCH_BOCHS)" \
		--bench "$(BENCH)" --cmdline "$(BENCH_CMDLINE)"; status=$$?; \
		test $$status -ne 2 || exit 2; \
		$(PYTHON) tools/bench-report.py && exit $$status

debug: $(ELF) user $(ISO)
	@sh tools/deps.sh --debug
	$(PYTHON) tools/run-qemu.py --smp $(SMP) --mem $(MEM) --accel $(ACCEL) --uefi $(UEFI) --cpu "$(CPU)" --cmdline '$(RUN_CMDLINE)' --gdb

# gdb in batch mode against a halted QEMU, as make debug starts it: no
# symtab warnings, bounded backtraces, sd-tlbstate and sd-trace on every CPU
# (docs/debugging.md).  About 15 s; not part of make test (CI runs it after).
test-gdb: $(ELF) user
	@sh tools/deps.sh --debug
	$(PYTHON) tools/test-gdb.py

# `make test` runs everything; SMP=, CONFIG= narrow it to one configuration
# (MEM= then sets its memory size).  TESTS=a,b boots only those suites,
# CMDLINE="..." adds kernel options, MODE=x boots the configurations with
# lazy_mm=x (tools/run-tests.py --tests, --cmdline, --mode).
TEST_ARGS :=
ifneq ($(origin SMP),file)
TEST_ARGS += --smp $(SMP)
endif
ifneq ($(origin MEM),file)
TEST_ARGS += --mem $(MEM)
endif
ifdef CONFIG
TEST_ARGS += --config $(CONFIG)
endif
ifneq ($(TESTS),)
TEST_ARGS += --tests "$(TESTS)"
endif
ifneq ($(strip $(CMDLINE)),)
TEST_ARGS += --cmdline "$(CMDLINE)"
endif
ifneq ($(MODE),)
TEST_ARGS += --mode $(MODE)
endif

test: deps $(ELF) user
	$(PYTHON) tools/run-tests.py $(TEST_ARGS)

test-bochs: deps $(ELF) user
	$(PYTHON) tools/run-tests.py --config bochs

# Soak: the configurations of CONFIG= (or SMP=) booted N times each.
N ?= 10
soak: deps $(ELF) user
	@test -n "$(CONFIG)$(filter-out file,$(origin SMP))" || \
		{ echo "make soak: name the configurations: CONFIG=name[,name] (or SMP=n)"; exit 2; }
	$(PYTHON) tools/run-tests.py $(TEST_ARGS) --repeat $(N)

test-host:
	$(MAKE) -C tests/host run
	$(PYTHON) tools/lab.py check
	$(PYTHON) tools/tests/test_lab.py
	$(PYTHON) tools/tests/test_bench_report.py

# ---- labs (labs/README.md, tools/lab.py) -----------------------------------
# LAB= names one lab (labs/NAME/); DIR= where its starting tree goes.
LAB ?=
lab-start:
	@test -n "$(LAB)" -a -n "$(DIR)" || \
		{ echo "make lab-start: name the lab and a new directory: LAB=name DIR=path (labs: $$(ls labs | grep -v README | tr '\n' ' '))"; exit 2; }
	$(PYTHON) tools/lab.py start $(LAB) $(DIR)

# Boots the lab's configurations (one boot per group of parts) with the
# checker on; a grade is not an error: the exit status is 0 whatever the
# points (2 for a lab that does not exist).
grade: deps $(ELF) user
	$(PYTHON) tools/lab.py grade $(LAB)

# Per lab: this tree full marks; its starting tree (in a temporary
# directory) built with gcc and clang, booted, graded 0 on each part.
# Several minutes per lab; not part of make test (CI runs it after).
test-labs: deps $(ELF) user
	$(PYTHON) tools/lab.py selftest $(LAB)

# The trace viewer's tests (also part of make test, with the host tests):
# its parser and text view on a sample log, and its HTML page in headless
# Chromium (skipped, saying why, without chromium).
test-tlbtrace:
	$(PYTHON) tools/tests/test_tlbtrace.py
	$(PYTHON) tools/tests/test_tlbtrace_page.py

# The Promela models of the TLB and lazy-mm protocols, searched exhaustively
# by spin, each with its variants (docs/models.md).  MODELS='lazy-*' runs
# only the matching rows.
models: deps
	@sh tools/run-models.sh $(if $(MODELS),'$(MODELS)')

# compile_commands.json straight from the flags above (no build needed).
compdb:
	$(PYTHON) tools/compdb.py --cc "$(CC)" --cflags "$(CFLAGS)" $(KSRCS) > compile_commands.json

clean:
	rm -rf $(BUILD)

-include $(KOBJS:.o=.d)
