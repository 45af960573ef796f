/*
 * kernel/proc/argv.c - the argument block at the top of a new program's
 * stack (layout in kernel/process.h).  Built in a kernel buffer first, so
 * the address space is written with one mm_write and the layout can be
 * tested without one.
 */
#include "process_internal.h"
#include <arch/memlayout.h>
#include <lib/string.h>

int argv_layout(const char *const argv[], unsigned argc, uintptr_t stack_top,
                uint8_t *buf, size_t cap, size_t *len, uintptr_t *sp)
{
    if (argc > SD_ARGS_MAX)
        return -SD_E2BIG;
    size_t strings = 0;
    for (unsigned i = 0; i < argc; i++) {
        size_t n = strnlen(argv[i], SD_ARG_LEN_MAX);
        if (n >= SD_ARG_LEN_MAX)
            return -SD_E2BIG;
        strings += n + 1;
    }
    uintptr_t str_base = stack_top - strings;
    /* argc, argc pointers, NULL; RSP 16-byte aligned. */
    uintptr_t rsp = ALIGN_DOWN(str_base - 8 * (argc + 2), 16);
    size_t total = stack_top - rsp;
    if (total > cap)
        return -SD_E2BIG;

    memset(buf, 0, total);
    uint64_t *words = (uint64_t *)buf;  /* buf[0] is at address rsp */
    words[0] = argc;
    uintptr_t at = str_base;
    for (unsigned i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(buf + (at - rsp), argv[i], n);
        words[1 + i] = at;
        at += n;
    }
    words[1 + argc] = 0;
    *len = total;
    *sp = rsp;
    return 0;
}
