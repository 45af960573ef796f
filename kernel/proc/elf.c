/*
 * kernel/proc/elf.c - validating and loading ELF64 executables.
 *
 * What is accepted (anything else is -SD_ENOEXEC with a one-line reason):
 *   - ELF magic, 64-bit class, little endian, current version, SysV/none ABI;
 *   - type ET_EXEC, machine x86-64;
 *   - 1..ELF_MAX_PHDRS program headers of the standard size, all inside the
 *     file;
 *   - no PT_INTERP or PT_DYNAMIC (static programs only);
 *   - every PT_LOAD: file size <= memory size, file bytes inside the file,
 *     [vaddr, vaddr+memsz) inside [SD_USER_BASE, SD_USER_TOP) and below the
 *     stack area, and its pages overlap no other PT_LOAD's pages (each
 *     segment becomes its own VMA);
 *   - the entry point inside an executable PT_LOAD.
 * All arithmetic on file values is checked for overflow before use.
 */
#include <kernel/elf.h>
#include <kernel/mm.h>
#include <arch/memlayout.h>
#include <kernel/bootinfo.h>
#include <kernel/printk.h>
#include <uapi/shootdown.h>
#include <lib/string.h>

/* The lowest address the main thread's stack may use (see process.h). */
#define STACK_AREA_BASE (SD_USER_STACK_TOP - SD_USER_STACK_SIZE)

static int bad(const char *name, const char *why)
{
    printk("elf: %s: %s: not loaded\n", name, why);
    return -SD_ENOEXEC;
}

static uintptr_t page_down(uint64_t x) { return (uintptr_t)ALIGN_DOWN(x, PAGE_SIZE); }
static uintptr_t page_up(uint64_t x) { return (uintptr_t)ALIGN_UP(x, PAGE_SIZE); }

static const struct elf64_phdr *phdr(const void *image, const struct elf64_ehdr *eh, unsigned i)
{
    return (const struct elf64_phdr *)((const uint8_t *)image + eh->phoff) + i;
}

int elf_check(const char *name, const void *image, size_t size, struct elf_info *info)
{
    const struct elf64_ehdr *eh = image;

    if (!image || size < sizeof(*eh))
        return bad(name, "shorter than an ELF header");
    if (memcmp(eh->ident, "\x7f" "ELF", 4) != 0)
        return bad(name, "no ELF magic");
    if (eh->ident[EI_CLASS] != ELFCLASS64)
        return bad(name, "not a 64-bit ELF");
    if (eh->ident[EI_DATA] != ELFDATA2LSB)
        return bad(name, "not little endian");
    if (eh->ident[EI_VERSION] != EV_CURRENT || eh->version != EV_CURRENT)
        return bad(name, "unknown ELF version");
    if (eh->ident[EI_OSABI] != 0)
        return bad(name, "not a System V ABI object");
    if (eh->type != ET_EXEC)
        return bad(name, "not an executable (ET_EXEC)");
    if (eh->machine != EM_X86_64)
        return bad(name, "not for x86-64");
    if (eh->phentsize != sizeof(struct elf64_phdr))
        return bad(name, "unexpected program header size");
    if (eh->phnum == 0 || eh->phnum > ELF_MAX_PHDRS)
        return bad(name, "no or too many program headers");
    if (eh->phoff % 8 != 0 || eh->phoff > size ||
        size - eh->phoff < (uint64_t)eh->phnum * sizeof(struct elf64_phdr))
        return bad(name, "program headers outside the file");

    unsigned nr_load = 0;
    bool entry_ok = false;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct elf64_phdr *ph = phdr(image, eh, i);
        if (ph->type == PT_INTERP || ph->type == PT_DYNAMIC)
            return bad(name, "dynamically linked (PT_INTERP/PT_DYNAMIC)");
        if (ph->type != PT_LOAD)
            continue;
        nr_load++;
        if (ph->filesz > ph->memsz)
            return bad(name, "segment file size exceeds its memory size");
        if (ph->offset > size || size - ph->offset < ph->filesz)
            return bad(name, "segment contents outside the file");
        if (ph->memsz == 0)
            continue;
        if (ph->vaddr < SD_USER_BASE || ph->vaddr >= STACK_AREA_BASE ||
            ph->memsz > STACK_AREA_BASE - ph->vaddr)
            return bad(name, "segment outside the user program area");
        uintptr_t lo = page_down(ph->vaddr), hi = page_up(ph->vaddr + ph->memsz);
        for (unsigned j = 0; j < i; j++) {
            const struct elf64_phdr *o = phdr(image, eh, j);
            if (o->type != PT_LOAD || o->memsz == 0)
                continue;
            if (lo < page_up(o->vaddr + o->memsz) && page_down(o->vaddr) < hi)
                return bad(name, "segments overlap");
        }
        if ((ph->flags & PF_X) && eh->entry >= ph->vaddr && eh->entry - ph->vaddr < ph->memsz)
            entry_ok = true;
    }
    if (nr_load == 0)
        return bad(name, "no loadable segment");
    if (!entry_ok)
        return bad(name, "entry point not in an executable segment");
    if (info) {
        info->entry = eh->entry;
        info->nr_load = nr_load;
    }
    return 0;
}

static unsigned segment_prot(uint32_t flags)
{
    unsigned prot = 0;
    if (flags & PF_R)
        prot |= SD_PROT_READ;
    if (flags & PF_W)
        prot |= SD_PROT_WRITE;
    if (flags & PF_X)
        prot |= SD_PROT_EXEC;
    return prot;
}

int elf_load(struct mm *mm, const char *name, const void *image, size_t size, uintptr_t *entry)
{
    struct elf_info info;
    int err = elf_check(name, image, size, &info);
    if (err)
        return err;

    const struct elf64_ehdr *eh = image;
    for (unsigned i = 0; i < eh->phnum; i++) {
        const struct elf64_phdr *ph = phdr(image, eh, i);
        if (ph->type != PT_LOAD || ph->memsz == 0)
            continue;
        uintptr_t lo = page_down(ph->vaddr), hi = page_up(ph->vaddr + ph->memsz);
        err = mm_map_anon(mm, lo, hi - lo, segment_prot(ph->flags));
        if (err)
            return err;
        if (ph->filesz) {
            err = mm_write(mm, ph->vaddr, (const uint8_t *)image + ph->offset, ph->filesz);
            if (err)
                return err;
        }
    }
    *entry = info.entry;
    return 0;
}

const void *elf_find_module(const char *name, size_t *size)
{
    for (unsigned i = 0; i < boot_info.module_count; i++) {
        const struct boot_module *m = &boot_info.modules[i];
        if (strcmp(m->cmdline, name) == 0) {
            *size = m->end - m->start;
            return phys_to_virt(m->start);
        }
    }
    return NULL;
}
