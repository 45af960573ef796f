/*
 * kernel/elf.h - the ELF64 loader for user programs (kernel/proc/elf.c).
 *
 * A program is a static x86-64 executable (ET_EXEC).  The loader trusts
 * nothing in the file: elf_check() validates every header field it uses
 * before anything is mapped, so a bad file gives one clear error line and
 * -SD_ENOEXEC, and no address space is touched.
 */
#pragma once
#include <kernel/compiler.h>

struct mm;

/* The ELF64 structures (System V gABI, ELF-64 object file format). */
struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define EI_CLASS        4
#define EI_DATA         5
#define EI_VERSION      6
#define EI_OSABI        7
#define ELFCLASS64      2
#define ELFDATA2LSB     1
#define EV_CURRENT      1
#define ET_EXEC         2
#define EM_X86_64       62
#define PT_LOAD         1
#define PT_DYNAMIC      2
#define PT_INTERP       3
#define PF_X            1
#define PF_W            2
#define PF_R            4

#define ELF_MAX_PHDRS   32      /* more program headers than this: refused */

struct elf_info {
    uintptr_t entry;
    unsigned nr_load;           /* PT_LOAD segments */
};

/* Validate the image [image, image+size).  Returns 0 and fills *info, or
 * prints "elf: NAME: reason" once and returns -SD_ENOEXEC. */
int elf_check(const char *name, const void *image, size_t size, struct elf_info *info);
/* elf_check, then map every PT_LOAD segment into mm (anonymous memory with
 * the segment's protections) and copy the file contents; the rest of each
 * segment stays zero.  On error the mm may hold some of the segments: the
 * caller throws the whole mm away (mmput).  Returns 0, -SD_ENOEXEC or
 * -SD_ENOMEM. */
int elf_load(struct mm *mm, const char *name, const void *image, size_t size, uintptr_t *entry);
/* The contents of boot module `name` (its command line), or NULL. */
const void *elf_find_module(const char *name, size_t *size);
