/*
 * kernel/debug/counters.c - summing and printing the per-CPU event counters
 * (kernel/debug/counters.h).
 */
#include <kernel/debug/counters.h>
#include <kernel/config.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <lib/string.h>

/* A CPU has a copy once percpu_alloc() gave it one; ids are dense, and a
 * fresh copy is zeroed, so summing every allocated copy is exact. */
static bool cpu_has_copy(unsigned cpu)
{
    return cpu < MAX_CPUS && percpu_base[cpu] != 0;
}

uint64_t counter_read_cpu(const struct counter_desc *c, unsigned cpu)
{
    if (!cpu_has_copy(cpu))
        return 0;
    /* An aligned 8-byte load is single-copy atomic: never a torn value. */
    return READ_ONCE(*per_cpu_ptr(c->pcpu, cpu));
}

uint64_t counter_sum(const struct counter_desc *c)
{
    uint64_t sum = 0;
    for (unsigned cpu = 0; cpu_has_copy(cpu); cpu++)
        sum += counter_read_cpu(c, cpu);
    return sum;
}

static size_t counter_index(const struct counter_desc *c)
{
    BUG_ON(c < __counters_start || c >= __counters_end);
    return (size_t)(c - __counters_start);
}

static uint64_t snapshot_value(const struct counter_snapshot *s, const struct counter_desc *c)
{
    return s->cpu == COUNTERS_ALL_CPUS ? counter_sum(c) : counter_read_cpu(c, s->cpu);
}

void counters_snapshot_cpu(struct counter_snapshot *s, unsigned cpu)
{
    size_t n = (size_t)(__counters_end - __counters_start);
    BUG_ON(n > COUNTERS_MAX);
    s->cpu = cpu;
    for (size_t i = 0; i < n; i++)
        s->val[i] = snapshot_value(s, &__counters_start[i]);
}

void counters_snapshot(struct counter_snapshot *s)
{
    counters_snapshot_cpu(s, COUNTERS_ALL_CPUS);
}

uint64_t counter_delta(const struct counter_snapshot *s, const struct counter_desc *c)
{
    return snapshot_value(s, c) - s->val[counter_index(c)];
}

/* One group at a time, in the order the linker placed the counters; a
 * group's counters usually sit together (one file defines them), but a
 * group spread over files is still printed in one block. */
void counters_print(void)
{
    const struct counter_desc *start = __counters_start, *end = __counters_end;
    for (const struct counter_desc *g = start; g < end; g++) {
        bool seen = false;
        for (const struct counter_desc *p = start; p < g && !seen; p++)
            seen = strcmp(p->group, g->group) == 0;
        if (seen)
            continue;
        printk_raw("# counters %s:\n", g->group);
        for (const struct counter_desc *c = g; c < end; c++) {
            if (strcmp(c->group, g->group) != 0)
                continue;
            printk_raw("#   %-22s %10llu  [", c->name, (unsigned long long)counter_sum(c));
            for (unsigned cpu = 0; cpu_has_copy(cpu); cpu++)
                printk_raw("%s%llu", cpu ? " " : "", (unsigned long long)counter_read_cpu(c, cpu));
            printk_raw("]  %s\n", c->help);
        }
    }
}
