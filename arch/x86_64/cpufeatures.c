/*
 * arch/x86_64/cpufeatures.c - CPUID feature detection, in one place.
 *
 * The boot CPU detects once; we assume all CPUs are alike (true for every
 * machine Shootdown targets; a mismatched AP would be a firmware bug).
 */
#include <arch/x86/cpufeatures.h>
#include <arch/x86/x86.h>
#include <kernel/printk.h>
#include <lib/string.h>

struct cpu_features cpu_features;
/* Read by isr.asm: may the entry path execute clac? */
bool smap_enabled;

void cpu_features_detect(void)
{
    struct cpu_features *f = &cpu_features;
    uint32_t a, b, c, d;

    cpuid_count(0, 0, &a, &b, &c, &d);
    f->max_leaf = a;
    memcpy(f->vendor + 0, &b, 4);
    memcpy(f->vendor + 4, &d, 4);
    memcpy(f->vendor + 8, &c, 4);
    f->vendor[12] = '\0';

    cpuid_count(1, 0, &a, &b, &c, &d);
    f->pcid = c & (1u << 17);
    f->x2apic = c & (1u << 21);
    f->xsave = c & (1u << 26);
    f->hypervisor = c & (1u << 31);
    f->pge = d & (1u << 13);
    f->apic = d & (1u << 9);
    f->fxsr = d & (1u << 24);

    if (f->max_leaf >= 7) {
        cpuid_count(7, 0, &a, &b, &c, &d);
        f->smep = b & (1u << 7);
        f->invpcid = b & (1u << 10);
        f->smap = b & (1u << 20);
    }

    cpuid_count(0x80000000, 0, &a, &b, &c, &d);
    f->max_ext_leaf = a;
    if (f->max_ext_leaf >= 0x80000001) {
        cpuid_count(0x80000001, 0, &a, &b, &c, &d);
        f->nx = d & (1u << 20);
        f->page1g = d & (1u << 26);
    }
    if (f->max_ext_leaf >= 0x80000004) {
        uint32_t *w = (uint32_t *)f->brand;
        for (uint32_t leaf = 0; leaf < 3; leaf++)
            cpuid_count(0x80000002 + leaf, 0, &w[leaf * 4], &w[leaf * 4 + 1], &w[leaf * 4 + 2],
                        &w[leaf * 4 + 3]);
        f->brand[48] = '\0';
    }
    if (f->max_ext_leaf >= 0x80000007) {
        cpuid_count(0x80000007, 0, &a, &b, &c, &d);
        f->invariant_tsc = d & (1u << 8);
    }

    const char *brand = f->brand;
    while (*brand == ' ')
        brand++;
    printk("cpu: %s %s\n", f->vendor, *brand ? brand : "(no brand string)");
    printk("cpu features: pcid=%s invpcid=%s x2apic=%s pge=%s nx=%s smep=%s smap=%s 1g-pages=%s invariant-tsc=%s hypervisor=%s\n",
           f->pcid ? "yes" : "no", f->invpcid ? "yes" : "no", f->x2apic ? "yes" : "no",
           f->pge ? "yes" : "no", f->nx ? "yes" : "no", f->smep ? "yes" : "no",
           f->smap ? "yes" : "no", f->page1g ? "yes" : "no", f->invariant_tsc ? "yes" : "no",
           f->hypervisor ? "yes" : "no");
}

bool arch_cpus_are_virtual(void)
{
    return cpu_features.hypervisor;
}

void cpu_features_enable_this_cpu(void)
{
    /* Supervisor writes honour read-only pages too (copy-on-write needs it). */
    write_cr0(read_cr0() | CR0_WP);
    if (cpu_features.nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    uint64_t cr4 = read_cr4();
    if (cpu_features.pge)
        cr4 |= CR4_PGE;
    /* SMEP: the kernel never executes user pages.  SMAP: the kernel touches
     * user pages only inside stac/clac brackets (copy_from_user & co). */
    if (cpu_features.smep)
        cr4 |= CR4_SMEP;
    if (cpu_features.smap) {
        cr4 |= CR4_SMAP;
        smap_enabled = true;
    }
    write_cr4(cr4);
}
