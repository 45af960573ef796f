/* arch/x86_64/nmi.c - the NMI handler chain (see arch/nmi.h). */
#include <arch/nmi.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/percpu.h>
#include <stdatomic.h>

#define NMI_HANDLERS_MAX 8

static nmi_handler_t nmi_handlers[NMI_HANDLERS_MAX];
static _Atomic unsigned nmi_handler_count;

void nmi_register(nmi_handler_t fn)
{
    unsigned n = atomic_load(&nmi_handler_count);
    if (n == NMI_HANDLERS_MAX)
        panic("nmi_register: more than %d NMI handlers", NMI_HANDLERS_MAX);
    nmi_handlers[n] = fn;
    /* Release: a CPU that sees the new count also sees the handler. */
    atomic_store_explicit(&nmi_handler_count, n + 1, memory_order_release);
}

void nmi_dispatch(struct trap_frame *tf)
{
    unsigned n = atomic_load_explicit(&nmi_handler_count, memory_order_acquire);
    bool handled = false;
    for (unsigned i = 0; i < n; i++)
        handled |= nmi_handlers[i](tf);
    if (!handled)
        printk("warning: unclaimed NMI on cpu%u at %#lx\n", this_cpu_id(), tf->rip);
}
