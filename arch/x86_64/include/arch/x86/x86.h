/*
 * arch/x86/x86.h - thin C wrappers around x86-64 instructions: port I/O, MSRs,
 * control registers, CPUID, flags; the operations generic code uses too
 * (interrupt flag, pause, hlt, TSC) are in arch/cpu.h.
 *
 * Each wrapper that changes memory-visible state carries a "memory" clobber
 * so the compiler neither caches memory across it nor moves accesses over it.
 */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <arch/cpu.h>       /* interrupt flag, pause, hlt, TSC: the operations generic code uses too */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
/* A write to an unused port: about 1 us on real ISA hardware. */
static inline void io_delay(void) { outb(0x80, 0); }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

#define MSR_EFER            0xC0000080
#define  EFER_SCE           (1u << 0)
#define  EFER_LME           (1u << 8)
#define  EFER_NXE           (1u << 11)
#define MSR_FS_BASE         0xC0000100
#define MSR_GS_BASE         0xC0000101
#define MSR_KERNEL_GS_BASE  0xC0000102
#define MSR_APIC_BASE       0x1B
#define MSR_TSC_AUX         0xC0000103

#define CR0_PE  (1ul << 0)
#define CR0_MP  (1ul << 1)
#define CR0_EM  (1ul << 2)
#define CR0_TS  (1ul << 3)
#define CR0_NE  (1ul << 5)
#define CR0_WP  (1ul << 16)
#define CR0_PG  (1ul << 31)
#define CR4_PAE     (1ul << 5)
#define CR4_PGE     (1ul << 7)
#define CR4_OSFXSR  (1ul << 9)
#define CR4_OSXMMEXCPT (1ul << 10)
#define CR4_PCIDE   (1ul << 17)
#define CR4_SMEP    (1ul << 20)
#define CR4_SMAP    (1ul << 21)

#define RFLAGS_IF   ARCH_FLAGS_IF           /* arch/cpu.h */
#define RFLAGS_AC   (1ul << 18)

#define DEFINE_CR_ACCESSORS(n)                                                   \
    static inline uint64_t read_cr##n(void)                                      \
    { uint64_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
    static inline void write_cr##n(uint64_t v)                                   \
    { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

static inline void cpuid_count(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdtsc(void) { return arch_cycles(); }
static inline uint64_t read_rflags(void) { return arch_read_flags(); }

static inline void invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }

static inline uintptr_t read_rbp(void) { uintptr_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }
