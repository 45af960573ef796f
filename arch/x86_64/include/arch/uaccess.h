/*
 * arch/uaccess.h - the kernel touching user memory.
 *
 * Every access to a pointer that came from user mode goes through these.
 * They check that the whole range lies in the user half (a kernel or
 * non-canonical pointer is refused without touching it), open SMAP for the
 * copy only (stac ... clac), and survive faults through the exception table:
 * an unmapped or protected user page that the current mm cannot fault in
 * gives -SD_EFAULT, never a kernel panic.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* 0 or -SD_EFAULT. */
int copy_from_user(void *dst, const void *user_src, size_t len);
int copy_to_user(void *user_dst, const void *src, size_t len);
/* Copies a NUL-terminated string of at most max-1 characters into dst.
 * Returns its length, -SD_EFAULT, or -SD_ENAMETOOLONG if no NUL came within max. */
long strncpy_from_user(char *dst, const char *user_src, size_t max);
/* Whether [addr, addr+len) lies wholly in the user half. */
int user_range_ok(uintptr_t addr, size_t len);
