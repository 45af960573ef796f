/*
 * tests/host/rename.h - forced (-include) into every kernel source built for
 * the host tests.
 *
 * lib/string.c and lib/format.c define memcpy, strlen, snprintf... under
 * their standard names, as the freestanding kernel needs.  Linked into a
 * host program those definitions would replace the C library's (and the
 * sanitizers' interceptors) for the whole process.  Renaming them with the
 * preprocessor gives the kernel's code its own symbols, klib_memcpy and so
 * on, which the tests call and compare against the host's functions.  The
 * same renaming applies to the kernel headers' declarations, since this
 * file comes before them.
 */
#pragma once
#define memcpy      klib_memcpy
#define memmove     klib_memmove
#define memset      klib_memset
#define memcmp      klib_memcmp
#define strlen      klib_strlen
#define strnlen     klib_strnlen
#define strcmp      klib_strcmp
#define strncmp     klib_strncmp
#define strchr      klib_strchr
#define strstr      klib_strstr
#define strlcpy     klib_strlcpy
#define snprintf    klib_snprintf
#define vsnprintf   klib_vsnprintf
