/*
 * kernel/proc/sys_tlb_stats.c - SYS_tlb_stats: a snapshot of the kernel's
 * TLB and lazy-mm event counters for a user program, with the lazy_mm=
 * mode and whether PCID is in use (docs/syscalls.md, "Measuring").
 *
 * user/bench.c takes one snapshot before and one after the measured
 * iterations of each benchmark and prints the differences per operation,
 * so that a time comes with what the kernel did for it (IPIs sent, INVLPGs,
 * flushing CR3 writes...).  The counters are those of
 * kernel/debug/counters.h, summed over the online CPUs as counter_sum()
 * reads them: each exact, the set not one atomic picture (a count on
 * another CPU may land between two reads), which is what a benchmark run
 * many times needs.  Only the groups below are copied; the checker's own
 * counters say nothing about the kernel's cost.
 */
#include <kernel/syscall.h>
#include <kernel/debug/counters.h>
#include <kernel/lazy_mm.h>
#include <kernel/cpumask.h>
#include <uapi/shootdown.h>
#include <lib/format.h>
#include <lib/string.h>
#include <arch/tlbflush.h>
#include <arch/uaccess.h>

static const char *const groups[] = { "tlb", "switch", "lazy", "mm" };

static bool wanted(const struct counter_desc *c)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (!strcmp(c->group, groups[i]))
            return true;
    return false;
}

static long sys_tlb_stats(const struct syscall_args *a)
{
    struct sd_tlb_stats *out = (struct sd_tlb_stats *)a->a[0];
    /* The whole struct must lie in the user half: the entries are copied
     * at offsets computed from `out`, which must not wrap around. */
    if (a->a[0] >= SD_USER_TOP || SD_USER_TOP - a->a[0] < sizeof(*out))
        return -SD_EFAULT;
    struct sd_tlb_stats head;
    memset(&head, 0, offsetof(struct sd_tlb_stats, stat));
    snprintf(head.lazy_mm, sizeof(head.lazy_mm), "%s", lazy_mm_mode_name());
    head.pcid = arch_tlb_pcid_enabled();
    head.cpus = nr_cpus_online;
    /* One entry at a time: the whole struct (2.6 KiB) is a lot for a
     * kernel stack frame.  A bad pointer fails at the first copy, a range
     * that runs into unmapped memory part-way; the caller gets -SD_EFAULT
     * either way, and nothing but `out` was written. */
    for (const struct counter_desc *c = __counters_start; c < __counters_end; c++) {
        if (!wanted(c) || head.count == SD_STATS_MAX)
            continue;
        struct sd_stat st;
        memset(&st, 0, sizeof(st));
        snprintf(st.name, sizeof(st.name), "%s.%s", c->group, c->name);
        st.value = counter_sum(c);
        if (copy_to_user(&out->stat[head.count], &st, sizeof(st)))
            return -SD_EFAULT;
        head.count++;
    }
    if (copy_to_user(out, &head, offsetof(struct sd_tlb_stats, stat)))
        return -SD_EFAULT;
    return 0;
}
DEFINE_SYSCALL(SYS_tlb_stats, sys_tlb_stats);
