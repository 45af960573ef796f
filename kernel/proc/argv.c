/*
 * kernel/proc/argv.c - the argument block at the top of a new program's
 * stack (layout in kernel/process.h).  Built in a kernel buffer first, so
 * the address space is written with one mm_write and the layout can be
 * tested without one.
 */
#include "process_internal.h"
#include <arch/memlayout.h>
#include <lib/string.h>

/* The bytes the n strings of v take with their NULs, or -SD_E2BIG. */
static long strings_size(const char *const v[], unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t len = strnlen(v[i], SD_ARG_LEN_MAX);
        if (len >= SD_ARG_LEN_MAX)
            return -SD_E2BIG;
        total += len + 1;
    }
    return (long)total;
}

/* Copy the n strings of v to `at` (an address of the new stack; buf holds
 * the bytes from rsp on) and their addresses to ptrs, then a NULL. */
static uintptr_t put_strings(const char *const v[], unsigned n, uintptr_t at, uint8_t *buf,
                             uintptr_t rsp, uint64_t *ptrs)
{
    for (unsigned i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        memcpy(buf + (at - rsp), v[i], len);
        ptrs[i] = at;
        at += len;
    }
    ptrs[n] = 0;
    return at;
}

int argv_layout(const char *const argv[], unsigned argc, const char *const envp[], unsigned envc,
                uintptr_t stack_top, uint8_t *buf, size_t cap, size_t *len, uintptr_t *sp)
{
    if (argc > SD_ARGS_MAX || envc > SD_ENV_MAX)
        return -SD_E2BIG;
    long arg_bytes = strings_size(argv, argc), env_bytes = strings_size(envp, envc);
    if (arg_bytes < 0 || env_bytes < 0)
        return -SD_E2BIG;
    uintptr_t str_base = stack_top - (size_t)arg_bytes - (size_t)env_bytes;
    /* argc, argc pointers, NULL, envc pointers, NULL; RSP 16-byte aligned. */
    uintptr_t rsp = ALIGN_DOWN(str_base - 8 * (argc + envc + 3), 16);
    size_t total = stack_top - rsp;
    if (total > cap)
        return -SD_E2BIG;

    memset(buf, 0, total);
    uint64_t *words = (uint64_t *)buf;  /* buf[0] is at address rsp */
    words[0] = argc;
    uintptr_t at = put_strings(argv, argc, str_base, buf, rsp, &words[1]);
    put_strings(envp, envc, at, buf, rsp, &words[1 + argc + 1]);
    *len = total;
    *sp = rsp;
    return 0;
}
