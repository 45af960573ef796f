/*
 * arch/x86_64/apic/lapic.c - the local APIC: enabling it on each CPU, EOI,
 * and sending IPIs (see arch/x86/apic.h).
 *
 * Two ways to reach the same registers (Intel SDM vol. 3, chapter 11):
 *   xAPIC   4 KiB of MMIO at the address in IA32_APIC_BASE, mapped uncached
 *           with ioremap().  32-bit registers at 16-byte strides.  The ICR is
 *           two registers: the destination (8-bit APIC id) goes into ICR_HI
 *           first, and the write to ICR_LO sends.
 *   x2APIC  MSRs 0x800 + offset/16.  The ICR is one 64-bit MSR (0x830) with
 *           a 32-bit destination, so one write sends; there is no delivery
 *           status to poll.
 *
 * Interrupt safety of sending: in xAPIC mode an interrupt between the ICR_HI
 * and ICR_LO writes that sends an IPI itself would overwrite ICR_HI, so each
 * send runs with interrupts off.  In x2APIC mode the WRMSR to the ICR is not
 * serializing (SDM 11.12.3): an earlier store could still sit in the store
 * buffer when the IPI arrives, so an mfence comes first.  The IPI receiver
 * can therefore rely on every store the sender made before sending (the
 * cross-CPU call queue does).
 */
#include <arch/x86/apic.h>
#include <arch/x86/cpufeatures.h>
#include <arch/mmio.h>
#include <arch/trap.h>
#include <arch/x86/x86.h>
#include <kernel/boot_options.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/printk.h>

#define APIC_BASE_BSP       (1ull << 8)
#define APIC_BASE_EXTD      (1ull << 10)    /* x2APIC mode */
#define APIC_BASE_EN        (1ull << 11)    /* APIC globally enabled */
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull

#define X2APIC_MSR_BASE     0x800
#define X2APIC_MSR_ICR      0x830

#define SVR_ENABLE          (1u << 8)

/* ICR low word (SDM figure 11-12). */
#define ICR_FIXED           (0u << 8)
#define ICR_NMI             (4u << 8)
#define ICR_INIT            (5u << 8)
#define ICR_STARTUP         (6u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_TRIGGER_LEVEL   (1u << 15)
#define ICR_ALL_BUT_SELF    (3u << 18)

#define LVT_NMI             (4u << 8)

static volatile uint8_t *xapic_regs;    /* the MMIO window (xAPIC mode) */
static bool x2apic;                     /* the mode every CPU uses */

static bool x2apic_allowed = true;
CMDLINE_BOOL(x2apic, x2apic_allowed, "use x2APIC mode when the CPU offers it (x2apic=0: xAPIC)");

uint32_t lapic_read(uint32_t reg)
{
    if (x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
    return mmio_read32(xapic_regs + reg);
}

void lapic_write(uint32_t reg, uint32_t value)
{
    if (x2apic)
        wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
    else
        mmio_write32(xapic_regs + reg, value);
}

bool lapic_x2apic_mode(void) { return x2apic; }

uint32_t lapic_max_apic_id(void) { return x2apic ? 0xfffffffeu : 0xfeu; }

uint32_t lapic_id(void)
{
    /* xAPIC keeps the id in bits 31:24; x2APIC uses the whole register. */
    uint32_t id = lapic_read(LAPIC_ID);
    return x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

/* Switch this CPU's APIC on in the chosen mode.  Going from xAPIC to x2APIC
 * directly is allowed; the reverse is not, hence x2APIC is never left. */
static void enable_mode(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    base |= APIC_BASE_EN;
    if (x2apic)
        base |= APIC_BASE_EXTD;
    wrmsr(MSR_APIC_BASE, base);
}

static void apic_error_interrupt(struct trap_frame *tf)
{
    (void)tf;
    /* The ESR latches errors on a write; read it after writing. */
    lapic_write(LAPIC_ESR, 0);
    printk("warning: local APIC error on cpu%u: ESR %#x\n", this_cpu_id(), lapic_read(LAPIC_ESR));
}

/* The per-CPU part, the same on every CPU except for LINT1. */
static void setup_this_cpu(bool bsp)
{
    enable_mode();
    lapic_write(LAPIC_TPR, 0);                     /* accept every priority class */
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VECTOR_TIMER);
    /* LINT0 carries the 8259's output in virtual-wire mode: we use no PIC.
     * LINT1 is wired to NMI on PCs; only the boot CPU listens, as usual. */
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, bsp ? LVT_NMI : LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, IRQ_VECTOR_APIC_ERROR);
    /* Clear errors latched before we took over (two writes: SDM 11.5.3). */
    lapic_write(LAPIC_ESR, 0);
    lapic_write(LAPIC_ESR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | IRQ_VECTOR_SPURIOUS);
    /* Acknowledge anything the firmware left in service. */
    lapic_eoi();
}

void lapic_init_bsp(void)
{
    if (!cpu_features.apic)
        panic("this CPU has no local APIC; Shootdown needs one");

    uint64_t base = rdmsr(MSR_APIC_BASE);
    x2apic = cpu_features.x2apic && (x2apic_allowed || (base & APIC_BASE_EXTD));
    if (!x2apic) {
        phys_addr_t pa = base & APIC_BASE_ADDR_MASK;
        xapic_regs = ioremap(pa, PAGE_SIZE);
        if (!xapic_regs)
            panic("cannot map the local APIC registers at %#lx", (unsigned long)pa);
    }
    trap_register(IRQ_VECTOR_APIC_ERROR, apic_error_interrupt);
    setup_this_cpu(true);
    printk("lapic: %s mode, APIC id %u, version %#x%s\n", x2apic ? "x2APIC" : "xAPIC",
           lapic_id(), lapic_read(LAPIC_VERSION) & 0xff,
           cpu_features.x2apic && !x2apic ? " (x2APIC available but turned off)" : "");
}

void lapic_init_ap(void)
{
    setup_this_cpu(false);
}

/* xAPIC: wait until the previous IPI has left this APIC. */
static void xapic_wait_idle(void)
{
    for (unsigned long i = 0; mmio_read32(xapic_regs + LAPIC_ICR_LO) & ICR_DELIVERY_PENDING; i++) {
        if (i == 100000000ul && !panic_in_progress())
            panic("local APIC: an IPI stays pending");
        arch_cpu_relax();
    }
}

/* Write the ICR: one IPI with low word `lo` to `dest` (ignored when `lo`
 * names a shorthand). */
static void send_icr(uint32_t dest, uint32_t lo)
{
    uint64_t flags = arch_irq_save();
    if (x2apic) {
        __asm__ volatile("mfence" ::: "memory");   /* see the top of the file */
        wrmsr(X2APIC_MSR_ICR, ((uint64_t)dest << 32) | lo);
    } else {
        xapic_wait_idle();
        mmio_write32(xapic_regs + LAPIC_ICR_HI, dest << 24);
        mmio_write32(xapic_regs + LAPIC_ICR_LO, lo);
    }
    arch_irq_restore(flags);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    send_icr(apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | vector);
}

void lapic_send_nmi(uint32_t apic_id)
{
    send_icr(apic_id, ICR_NMI | ICR_LEVEL_ASSERT);
}

void lapic_send_nmi_all_but_self(void)
{
    /* Panic may come before the APIC is set up: then no AP runs either. */
    if (!x2apic && !xapic_regs)
        return;
    send_icr(0, ICR_NMI | ICR_LEVEL_ASSERT | ICR_ALL_BUT_SELF);
}

void lapic_send_init(uint32_t apic_id)
{
    /* Assert INIT.  xAPIC CPUs of the P6 era also want the level-triggered
     * de-assert that follows; x2APIC does not support (or need) it. */
    send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT | (x2apic ? 0 : ICR_TRIGGER_LEVEL));
    if (!x2apic) {
        xapic_wait_idle();
        send_icr(apic_id, ICR_INIT | ICR_TRIGGER_LEVEL);
        xapic_wait_idle();
    }
}

void lapic_send_startup(uint32_t apic_id, uint8_t page)
{
    /* The vector field is the page number: the AP starts in real mode at
     * page:0000, i.e. physical address page * 4096. */
    send_icr(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | page);
    if (!x2apic)
        xapic_wait_idle();
}
