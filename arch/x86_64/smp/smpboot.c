/*
 * arch/x86_64/smp/smpboot.c - starting the application processors.
 *
 * The path of one AP, from the BSP's side (boot_one_ap):
 *   1. allocate its per-CPU area and kernel stack; record the stack in
 *      smp_ap_stack[cpu], which smp_ap_entry64 reads;
 *   2. INIT IPI, wait 10 ms, STARTUP IPI (vector = trampoline page), wait
 *      200 us, and a second STARTUP IPI unless the AP has already marked
 *      tr_started (Intel SDM vol. 3, 9.4.4 "MP initialization example");
 *   3. wait (with a timeout of AP_TIMEOUT_NS) until the AP says ONLINE.
 * and from the AP's side: trampoline.asm (real -> protected -> long mode,
 * then smp_ap_entry64), then smp_ap_main() below.
 *
 * APs start one at a time, so at most one is in the trampoline at once
 * (except one the BSP gave up on arriving late, which trampoline.asm and
 * the state machine below make harmless).
 *
 * The handshake per AP is ap_state[cpu]:
 *     AP_WAITING --(AP, CAS, first thing in C)--> AP_STARTED
 *     AP_STARTED --(AP, store-release, when fully set up)--> AP_ONLINE
 *     AP_WAITING --(BSP, CAS, on timeout)--> AP_ABANDONED
 * The two CASes decide the race between a slow AP and an impatient BSP:
 * exactly one wins.  An AP that loses parks itself; a BSP that loses (the
 * AP has started) waits for it to finish.  The store-release of AP_ONLINE
 * pairs with the BSP's load-acquire in wait_for_ap(), so when the BSP sees
 * ONLINE it also sees the AP in cpu_online_mask and nr_cpus_online.
 *
 * Memory the trampoline uses: TRAMP_PAGES pages below 1 MiB chosen from the
 * boot memory map (the page allocator keeps all memory below 1 MiB for us):
 *   page 0  the trampoline code and data
 *   page 1  PML4: [0] -> page 2, [256..511] copied from the kernel's PML4
 *   page 2  PDPT: [0] -> page 3
 *   page 3  PD:   [0] = a 2 MiB page at physical 0 (identity)
 * The identity map is needed only for the instructions between turning on
 * paging and jumping to the kernel's address.  Using our own tables rather
 * than the kernel's CR3 lets the kernel drop its identity map and keep its
 * page tables anywhere: smp_ap_entry64 loads the real CR3 from
 * smp_ap_kernel_cr3 (64 bits) once it runs at the kernel's address.
 */
#include <arch/smp.h>
#include <arch/x86/smp.h>
#include <arch/x86/apic.h>
#include <arch/x86/cpufeatures.h>
#include <arch/tlbflush.h>
#include <arch/user.h>
#include <arch/x86/gdt.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>
#include <kernel/acpi.h>
#include <kernel/bootinfo.h>
#include <kernel/kstack.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>
#include <kernel/smp.h>
#include <kernel/sched.h>
#include <kernel/tick.h>
#include <kernel/time.h>
#include <lib/string.h>
#include <stdatomic.h>

#define TRAMP_PAGES     4
#define LOW_MEMORY_END  0x100000ull
#define AP_TIMEOUT_NS   (10ull * 1000 * 1000 * 1000)   /* vCPUs may be descheduled */

#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_PS  (1ull << 7)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

/* Defined in trampoline.asm. */
extern const char smp_trampoline_start[], smp_trampoline_end[];
extern const char tr_gdt[], tr_gdt_ptr[], tr_pm32[], tr_pm_jump[], tr_lm64[], tr_lm_jump[];
extern const char tr_cr3[], tr_efer[], tr_entry[], tr_started[];
void smp_ap_entry64(void);
void smp_ap_main(unsigned cpu) __noreturn;

/* Read by smp_ap_entry64 (trampoline.asm). */
uint64_t smp_ap_kernel_cr3;
uintptr_t smp_ap_stack[MAX_CPUS];
uint32_t smp_apic_ids[MAX_CPUS];
unsigned smp_nr_cpus_listed;

enum { AP_WAITING, AP_STARTED, AP_ONLINE, AP_ABANDONED };
static _Atomic int ap_state[MAX_CPUS];

static phys_addr_t tramp_pa;            /* physical address of page 0 above */

#define TR_OFF(sym) ((uintptr_t)(sym) - (uintptr_t)smp_trampoline_start)

static void *tramp(uintptr_t off) { return (uint8_t *)phys_to_virt(tramp_pa) + off; }
static void put32(uintptr_t off, uint32_t v) { memcpy(tramp(off), &v, 4); }
static void put64(uintptr_t off, uint64_t v) { memcpy(tramp(off), &v, 8); }

static bool overlaps(phys_addr_t a, phys_addr_t a_end, phys_addr_t b, phys_addr_t b_end)
{
    return a < b_end && b < a_end;
}

/* Is [pa, pa + TRAMP_PAGES pages) free for us: available RAM by the memory
 * map, not page 0, and clear of the boot information and modules? */
static bool low_range_usable(phys_addr_t pa)
{
    phys_addr_t end = pa + TRAMP_PAGES * PAGE_SIZE;
    if (pa < PAGE_SIZE || end > LOW_MEMORY_END)
        return false;
    if (overlaps(pa, end, boot_info.info_start, boot_info.info_end))
        return false;
    for (unsigned i = 0; i < boot_info.module_count; i++)
        if (overlaps(pa, end, boot_info.modules[i].start, boot_info.modules[i].end))
            return false;
    /* Entirely inside one available region (and in no reserved one: some
     * firmware maps overlap). */
    bool inside = false;
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct boot_mmap_entry *e = &boot_info.mmap[i];
        if (e->type == MMAP_AVAILABLE && e->base <= pa && end <= e->base + e->length)
            inside = true;
        else if (e->type != MMAP_AVAILABLE && overlaps(pa, end, e->base, e->base + e->length))
            return false;
    }
    return inside;
}

/* The highest usable range below 1 MiB (high, to stay clear of what the BIOS
 * and boot loader like to use near the bottom). */
static phys_addr_t find_trampoline_memory(void)
{
    for (phys_addr_t pa = LOW_MEMORY_END - TRAMP_PAGES * PAGE_SIZE; pa >= PAGE_SIZE; pa -= PAGE_SIZE)
        if (low_range_usable(pa))
            return pa;
    return 0;
}

static void setup_trampoline(void)
{
    size_t size = (size_t)(smp_trampoline_end - smp_trampoline_start);
    BUG_ON(size > PAGE_SIZE);
    memset(tramp(0), 0, TRAMP_PAGES * PAGE_SIZE);
    memcpy(tramp(0), smp_trampoline_start, size);

    put32(TR_OFF(tr_gdt_ptr) + 2, (uint32_t)(tramp_pa + TR_OFF(tr_gdt)));
    put32(TR_OFF(tr_pm_jump), (uint32_t)(tramp_pa + TR_OFF(tr_pm32)));
    put32(TR_OFF(tr_lm_jump), (uint32_t)(tramp_pa + TR_OFF(tr_lm64)));
    put32(TR_OFF(tr_cr3), (uint32_t)(tramp_pa + PAGE_SIZE));
    put32(TR_OFF(tr_efer), EFER_LME | (cpu_features.nx ? EFER_NXE : 0));
    put64(TR_OFF(tr_entry), (uint64_t)(uintptr_t)smp_ap_entry64);

    uint64_t *pml4 = tramp(PAGE_SIZE), *pdpt = tramp(2 * PAGE_SIZE), *pd = tramp(3 * PAGE_SIZE);
    pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
    pdpt[0] = (tramp_pa + 3 * PAGE_SIZE) | PTE_P | PTE_W;
    pml4[0] = (tramp_pa + 2 * PAGE_SIZE) | PTE_P | PTE_W;
    /* The upper half (kernel image, direct map) is shared by every address
     * space; copying its top-level entries shares the lower levels. */
    const uint64_t *kpml4 = phys_to_virt(read_cr3() & PTE_ADDR_MASK);
    for (int i = 256; i < 512; i++)
        pml4[i] = kpml4[i];
    /* Only the address: CR3's low bits would be a PCID if the BSP runs
     * with CR4.PCIDE, which the AP turns on later, if at all, and only with
     * those bits clear. */
    smp_ap_kernel_cr3 = read_cr3() & PTE_ADDR_MASK;
}

/* Fill smp_apic_ids: the BSP first, then every other CPU ACPI lists. */
void arch_smp_prepare(void)
{
    uint32_t bsp = lapic_id();
    smp_apic_ids[0] = bsp;
    smp_nr_cpus_listed = 1;
    if (!acpi_madt.valid)
        return;

    bool bsp_listed = false;
    for (unsigned i = 0; i < acpi_madt.nr_cpus; i++) {
        uint32_t id = acpi_madt.cpu_apic_ids[i];
        if (id == bsp) {
            bsp_listed = true;
            continue;
        }
        if (id > lapic_max_apic_id()) {
            printk("warning: smp: APIC id %u cannot be addressed in %s mode; not starting it\n",
                   id, lapic_x2apic_mode() ? "x2APIC" : "xAPIC");
            continue;
        }
        smp_apic_ids[smp_nr_cpus_listed++] = id;
    }
    if (!bsp_listed)
        printk("warning: smp: the boot CPU (APIC id %u) is not in the MADT\n", bsp);
}

static bool wait_for_ap(unsigned cpu, uint64_t timeout_ns)
{
    uint64_t start = ktime_ns();
    /* Pairs with the store-release of AP_ONLINE in smp_ap_main(). */
    while (atomic_load_explicit(&ap_state[cpu], memory_order_acquire) != AP_ONLINE) {
        if (ktime_ns() - start > timeout_ns)
            return false;
        arch_cpu_relax();
    }
    return true;
}

static bool boot_one_ap(unsigned cpu)
{
    uint32_t apic = smp_apic_ids[cpu];
    uint8_t page = (uint8_t)(tramp_pa >> PAGE_SHIFT);

    if (!percpu_alloc(cpu)) {
        printk("error: smp: no memory for the per-CPU area of cpu%u\n", cpu);
        return false;
    }
    uintptr_t stack = kstack_alloc();
    if (!stack) {
        printk("error: smp: no memory for the stack of cpu%u\n", cpu);
        return false;
    }
    smp_ap_stack[cpu] = stack;
    atomic_store_explicit(&ap_state[cpu], AP_WAITING, memory_order_relaxed);
    volatile uint32_t *started = tramp(TR_OFF(tr_started));
    *started = 0;
    /* The stores above reach memory before the INIT IPI does: x86 keeps
     * stores in order, and the IPI itself is a store to the APIC (xAPIC) or
     * follows an mfence (x2APIC, see lapic.c). */

    lapic_send_init(apic);
    udelay(10000);
    lapic_send_startup(apic, page);
    udelay(200);
    if (!*started) {
        lapic_send_startup(apic, page);
        udelay(200);
    }

    if (wait_for_ap(cpu, AP_TIMEOUT_NS))
        return true;
    int expected = AP_WAITING;
    if (atomic_compare_exchange_strong(&ap_state[cpu], &expected, AP_ABANDONED)) {
        printk("error: smp: cpu%u (APIC id %u) did not start within %lu ms%s; going on without it\n",
               cpu, apic, (unsigned long)(AP_TIMEOUT_NS / 1000000),
               *started ? " (it reached the trampoline)" : "");
        return false;
    }
    /* It claimed AP_STARTED in the meantime: it runs kernel code, so give it
     * another full timeout to finish setting up.  An AP that starts and then
     * hangs is a kernel bug. */
    if (!wait_for_ap(cpu, AP_TIMEOUT_NS))
        panic("smp: cpu%u (APIC id %u) started but never came online", cpu, apic);
    return true;
}

void arch_smp_boot_aps(void)
{
    if (smp_nr_cpus_listed == 1) {
        if (!acpi_madt.valid)
            printk("smp: no MADT (%s): running on the boot CPU only\n", acpi_madt.why);
        return;
    }
    tramp_pa = find_trampoline_memory();
    if (!tramp_pa) {
        printk("error: smp: no free memory below 1 MiB for the AP trampoline; running on one CPU\n");
        return;
    }
    setup_trampoline();
    printk("smp: starting %u AP(s) through the trampoline at %#lx\n", smp_nr_cpus_listed - 1,
           (unsigned long)tramp_pa);

    unsigned failed = 0;
    for (unsigned cpu = 1; cpu < smp_nr_cpus_listed; cpu++)
        if (!boot_one_ap(cpu))
            failed++;
    if (failed) {
        printk("error: smp: %u CPU(s) did not start:", failed);
        for (unsigned cpu = 1; cpu < smp_nr_cpus_listed; cpu++)
            if (atomic_load(&ap_state[cpu]) != AP_ONLINE)
                printk(" cpu%u (APIC id %u)", cpu, smp_apic_ids[cpu]);
        printk("\n");
    }
}

static __noreturn void park(void)
{
    for (;;) {
        arch_irq_disable();
        arch_halt();
    }
}

/* The AP's first C function, on its own stack (see trampoline.asm). */
void smp_ap_main(unsigned cpu)
{
    percpu_load(cpu);               /* this_cpu_id() works from here on */
    int expected = AP_WAITING;
    if (!atomic_compare_exchange_strong(&ap_state[cpu], &expected, AP_STARTED))
        park();                     /* the BSP gave up on us */

    gdt_init_this_cpu();
    idt_load();
    cpu_features_enable_this_cpu();
    tlb_init_this_cpu();            /* CR4.PCIDE, the TLB state (arch/tlbflush.h) */
    arch_user_init_this_cpu();      /* SYSCALL entry, FPU/SSE for user mode */
    lapic_init_ap();
    if (lapic_id() != smp_apic_ids[cpu])
        panic("smp: cpu%u has APIC id %u, expected %u", cpu, lapic_id(), smp_apic_ids[cpu]);
    sched_init_ap();                /* this CPU's run queue; we become its idle task */
    tick_start_this_cpu();
    smp_mark_online(cpu);
    /* Pairs with the load-acquire in wait_for_ap(). */
    atomic_store_explicit(&ap_state[cpu], AP_ONLINE, memory_order_release);

    /* From here on this context is the CPU's idle task. */
    sched_idle_loop();
}
