# user/user.mk - user programs, included by the top-level Makefile.
#
# Every user/NAME.c is one program: a static ELF64 linked at SD_USER_BASE
# (user/user.ld) with the runtime in user/lib/ (crt0, printf, threads) and
# the kernel's lib/format.c and lib/string.c compiled again for user space.
# Results: build/user/NAME.elf, which tools/mkiso.sh puts on the ISO as
# multiboot2 modules named NAME.
#
# User code is ordinary C: SSE allowed, red zone allowed, small code model.

UBUILD    := $(BUILD)/user
UPROGS    := $(sort $(basename $(notdir $(wildcard user/*.c))))
UELFS     := $(patsubst %,$(UBUILD)/%.elf,$(UPROGS))
ULIBSRCS  := user/lib/ulib.c user/lib/thread.c user/lib/mutex.c lib/format.c lib/string.c
ULIBOBJS  := $(patsubst %.c,$(UBUILD)/%.o,$(ULIBSRCS)) $(UBUILD)/user/lib/crt0.asm.o

UCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
           -ffreestanding -fno-builtin -nostdinc -fno-stack-protector -fno-pic -fno-pie \
           -fno-asynchronous-unwind-tables -fno-common -mcmodel=small \
           -Iuser/include -Ilib/include -Ikernel/include -MMD -MP \
           -isystem $(shell $(CC) -print-file-name=include)
ifneq ($(findstring clang,$(CC)),)
UCFLAGS += --target=x86_64-unknown-none-elf -Wno-unused-command-line-argument
endif
ULDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T user/user.ld

.PHONY: user
user: $(UELFS)
# Keep the objects: make would delete them as intermediates otherwise.
.SECONDARY: $(ULIBOBJS) $(UPROGS:%=$(UBUILD)/user/%.o)

$(UBUILD)/%.o: %.c Makefile user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UCC     $<"
	@$(CC) $(UCFLAGS) -c $< -o $@

$(UBUILD)/%.asm.o: %.asm Makefile user/user.mk
	@mkdir -p $(dir $@)
	@echo "  UNASM   $<"
	@$(NASM) $(NASMFLAGS) $< -o $@

$(UBUILD)/%.elf: $(UBUILD)/user/%.o $(ULIBOBJS) user/user.ld
	@echo "  ULD     $@"
	@$(LD) $(ULDFLAGS) -o $@ $< $(ULIBOBJS)

-include $(UELFS:$(UBUILD)/%.elf=$(UBUILD)/user/%.d) $(ULIBOBJS:.o=.d)
