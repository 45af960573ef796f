/*
 * kernel/proc/sys_mem.c - mmap, munmap, mprotect: argument checks in front
 * of the mm API (kernel/mm.h), which does the work and the TLB flushes.
 */
#include "process_internal.h"
#include <kernel/mm.h>
#include <kernel/shm.h>
#include <kernel/syscall.h>
#include <arch/memlayout.h>

#define PROT_ALL (SD_PROT_READ | SD_PROT_WRITE | SD_PROT_EXEC)

/* A page-aligned range wholly inside [SD_USER_BASE, SD_USER_TOP)? */
static bool user_pages_ok(uintptr_t addr, size_t len)
{
    return addr % PAGE_SIZE == 0 && len % PAGE_SIZE == 0 && len != 0 && addr >= SD_USER_BASE &&
           addr < SD_USER_TOP && len <= SD_USER_TOP - addr;
}

/* Round len up to pages; 0 if it is 0 or too big. */
static size_t pages_len(uint64_t len)
{
    if (len == 0 || len > SD_USER_TOP - SD_USER_BASE)
        return 0;
    return ALIGN_UP(len, PAGE_SIZE);
}

long map_anywhere(struct mm *mm, uintptr_t hint, size_t len, unsigned prot, struct shm *shm)
{
    /* Another thread may map the free range we found first: then look again. */
    for (int tries = 0; tries < 8; tries++) {
        uintptr_t addr = mm_find_free(mm, hint, len);
        if (!addr)
            return -SD_ENOMEM;
        int err = shm ? mm_map_shm(mm, addr, len, prot, shm, 0) : mm_map_anon(mm, addr, len, prot);
        if (err == 0)
            return (long)addr;
        if (err != -SD_EEXIST)
            return err;
    }
    return -SD_ENOMEM;
}

static long sys_mmap(const struct syscall_args *a)
{
    uintptr_t hint = a->a[0];
    size_t len = pages_len(a->a[1]);
    uint64_t prot = a->a[2];
    struct mm *mm = current_task()->mm;

    if (!len || (prot & ~(uint64_t)(PROT_ALL | SD_MAP_SHARED)))
        return -SD_EINVAL;
    if (hint && !user_pages_ok(hint, len))
        return -SD_EINVAL;
    if (!(prot & SD_MAP_SHARED))
        return map_anywhere(mm, hint, len, (unsigned)prot, NULL);
    /* Shared: an object of its own, which fork passes on (kernel/shm.h). */
    if (len > SD_SHM_MAX)
        return -SD_EINVAL;
    struct shm *shm = shm_create(len / PAGE_SIZE);
    if (!shm)
        return -SD_ENOMEM;
    long r = map_anywhere(mm, hint, len, (unsigned)(prot & PROT_ALL), shm);
    shm_put(shm);       /* the VMA holds its own reference, if it was made */
    return r;
}
DEFINE_SYSCALL(SYS_mmap, sys_mmap);

static long sys_munmap(const struct syscall_args *a)
{
    uintptr_t addr = a->a[0];
    size_t len = pages_len(a->a[1]);
    if (!len || !user_pages_ok(addr, len))
        return -SD_EINVAL;
    return mm_unmap(current_task()->mm, addr, len);
}
DEFINE_SYSCALL(SYS_munmap, sys_munmap);

static long sys_mprotect(const struct syscall_args *a)
{
    uintptr_t addr = a->a[0];
    size_t len = pages_len(a->a[1]);
    uint64_t prot = a->a[2];
    if (!len || !user_pages_ok(addr, len) || (prot & ~(uint64_t)PROT_ALL))
        return -SD_EINVAL;
    return mm_protect(current_task()->mm, addr, len, (unsigned)prot);
}
DEFINE_SYSCALL(SYS_mprotect, sys_mprotect);
