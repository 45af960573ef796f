/* kernel/compiler.h - attributes and helpers every file may use. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define __noreturn      __attribute__((noreturn))
#define __unused        __attribute__((unused))
#define __packed        __attribute__((packed))
#define __aligned(n)    __attribute__((aligned(n)))
#define __section(s)    __attribute__((section(s)))
#define __used          __attribute__((used))
#define __noinline      __attribute__((noinline))
#ifndef __always_inline                 /* glibc's, in the host tests */
#define __always_inline inline __attribute__((always_inline))
#endif
#define __printf(a, b)  __attribute__((format(printf, a, b)))
#define likely(x)       __builtin_expect(!!(x), 1)
#define unlikely(x)     __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define CACHELINE_SIZE  64
#define __cacheline_aligned __aligned(CACHELINE_SIZE)

/* A compiler barrier: the compiler may not move memory accesses across it.
 * It orders nothing between CPUs: that is what C11 <stdatomic.h> is for (the
 * memory order of an atomic access, atomic_thread_fence). */
#define barrier()       __asm__ volatile("" ::: "memory")

/* Single, untorn accesses to shared variables that are not _Atomic. */
#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#define STATIC_ASSERT(c, msg) _Static_assert(c, msg)
