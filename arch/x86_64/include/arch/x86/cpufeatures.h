/*
 * arch/x86/cpufeatures.h - what this CPU can do, detected once with CPUID at boot
 * (arch/x86_64/cpufeatures.c) and printed in the boot log.  Everything else
 * asks here instead of running CPUID itself.
 */
#pragma once
#include <stdbool.h>

struct cpu_features {
    bool pcid;          /* CPUID.1:ECX[17] */
    bool invpcid;       /* CPUID.(7,0):EBX[10] */
    bool x2apic;        /* CPUID.1:ECX[21] */
    bool pge;           /* CPUID.1:EDX[13] */
    bool nx;            /* CPUID.80000001h:EDX[20] */
    bool smep;          /* CPUID.(7,0):EBX[7] */
    bool smap;          /* CPUID.(7,0):EBX[20] */
    bool page1g;        /* CPUID.80000001h:EDX[26] */
    bool invariant_tsc; /* CPUID.80000007h:EDX[8] */
    bool apic;          /* CPUID.1:EDX[9] */
    bool fxsr;          /* CPUID.1:EDX[24] */
    bool xsave;         /* CPUID.1:ECX[26] */
    bool hypervisor;    /* CPUID.1:ECX[31]: a virtual CPU, whose host may take its core away */
    unsigned max_leaf, max_ext_leaf;
    char vendor[13];
    char brand[49];
};

extern struct cpu_features cpu_features;
/* SMAP is on: the interrupt entry (isr.asm) clears RFLAGS.AC with clac. */
extern bool smap_enabled;

/* Fill cpu_features (boot CPU) and print them. */
void cpu_features_detect(void);
/* Turn on what the kernel uses and the CPU has: NX (EFER), PGE, SMEP, SMAP
 * (CR4), write-protect (CR0).  Every CPU calls it on itself. */
void cpu_features_enable_this_cpu(void);
