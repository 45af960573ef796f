/*
 * kernel/smp/percpu.c - per-CPU areas (see kernel/percpu.h).
 */
#include <kernel/percpu.h>
#include <kernel/config.h>
#include <kernel/page_alloc.h>
#include <kernel/panic.h>
#include <arch/memlayout.h>
#include <lib/string.h>

__section(".percpu.first") struct percpu_hdr percpu_hdr;
uintptr_t percpu_base[MAX_CPUS];

void percpu_init_bsp(void)
{
    percpu_base[0] = (uintptr_t)__percpu_start;
    percpu_hdr.base = (uintptr_t)__percpu_start;
    percpu_hdr.cpu = 0;
    arch_percpu_init((uintptr_t)__percpu_start);
}

static unsigned order_for(size_t bytes)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

uintptr_t percpu_alloc(unsigned int cpu)
{
    size_t size = (size_t)(__percpu_end - __percpu_start);
    BUG_ON(cpu == 0 || cpu >= MAX_CPUS);
    /* The whole block zeroed, not just `size` bytes: no byte of an earlier
     * owner (maybe code: docs/memory.md, "Frames that held code") stays. */
    phys_addr_t pa = page_alloc_zeroed(order_for(size));
    if (!pa)
        return 0;
    uintptr_t base = (uintptr_t)phys_to_virt(pa);
    struct percpu_hdr *h = (struct percpu_hdr *)base;
    h->base = base;
    h->cpu = cpu;
    percpu_base[cpu] = base;
    /* Before the CPU runs: its first allocation already uses its cache. */
    frame_cache_init_cpu(cpu);
    return base;
}

void percpu_load(unsigned int cpu)
{
    arch_percpu_init(percpu_base[cpu]);
}
