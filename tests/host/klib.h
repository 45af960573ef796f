/*
 * tests/host/klib.h - the kernel's lib/ functions as the host tests see them:
 * renamed klib_* (see rename.h), next to the host C library's own.
 * Include it after any host header.
 */
#pragma once
#include "rename.h"
#include <lib/string.h>
#include <lib/format.h>
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strstr
#undef strlcpy
#undef snprintf
#undef vsnprintf
