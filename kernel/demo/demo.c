/*
 * kernel/demo/demo.c - the boot demo (`make run`), when no tests are
 * requested.  It plays the scenes that demo= names, in this order:
 *   tlb    the TLB scene (kernel/demo/tlb_scene.c): a program with a thread
 *          on every CPU unmaps and remaps while a kernel thread borrows its
 *          mm, told in plain words from the TLB trace (docs/demo.md);
 *   user   two copies of the program demo_prog= (default "hello") per CPU,
 *          spread over the CPUs, and their exit statuses (needs the user
 *          programs loaded as boot modules);
 *   sched  kernel threads started on one CPU spread over all of them, are
 *          preempted, sleep and wake, while a monitor prints each CPU's
 *          scheduler counters.
 * demo=all (the default) plays every scene, demo=off none.
 */
#include <kernel/demo.h>
#include <kernel/demo_tlb.h>
#include <kernel/sched.h>
#include <kernel/wait.h>
#include <kernel/tick.h>
#include <kernel/boot_options.h>
#include <kernel/printk.h>
#include <kernel/cpumask.h>
#include <kernel/process.h>
#include <kernel/bootinfo.h>
#include <kernel/elf.h>
#include <kernel/debug/tlb_trace.h>
#include <uapi/shootdown.h>
#include <lib/format.h>
#include <arch/cpu.h>

enum { DEMO_TLB, DEMO_USER, DEMO_SCHED, DEMO_NR_SCENES };
static const char *const demo_scene_names[] = { "tlb", "user", "sched", NULL };
static unsigned demo_scenes = (1u << DEMO_NR_SCENES) - 1;
CMDLINE_LIST(demo, demo_scenes, demo_scene_names,
             "the boot demo's scenes when no tests are requested: a list of tlb,user,sched, or all|off");

static char demo_prog[SD_NAME_MAX] = "hello";
CMDLINE_STRING(demo_prog, demo_prog, "the user program the demo starts on every CPU");

#define DEMO_ROUNDS 40

static void demo_user_programs(void)
{
    size_t size;
    if (boot_info.module_count == 0)
        return;
    if (!elf_find_module(demo_prog, &size)) {
        printk("demo: no user program '%s' among the %u boot modules\n", demo_prog, boot_info.module_count);
        return;
    }
    unsigned n = 2 * nr_cpus_online, started = 0;
    printk("demo: starting %u copies of user program '%s' over %u CPUs\n", n, demo_prog, nr_cpus_online);
    for (unsigned i = 0; i < n; i++) {
        char arg[16];
        snprintf(arg, sizeof(arg), "%u", i);
        const char *argv[] = { demo_prog, arg, NULL };
        int pid = process_spawn(demo_prog, argv);
        if (pid < 0)
            printk("demo: spawn %s failed: %d\n", demo_prog, pid);
        else
            started++;
    }
    for (unsigned i = 0; i < started; i++) {
        int status, pid = process_wait(-1, &status);
        if (SD_WIFFAULTED(status))
            printk("demo: pid %d killed by vector %d\n", pid, SD_WFAULTVEC(status));
        else
            printk("demo: pid %d exited with %d\n", pid, SD_WEXITCODE(status));
    }
}

static void demo_worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg, moves = 0, last = this_cpu_id();
    for (int round = 0; round < DEMO_ROUNDS; round++) {
        /* CPU-bound for a few ticks: long enough to be preempted. */
        uint64_t until = tick_count(this_cpu_id()) + 3;
        while (tick_count(this_cpu_id()) < until)
            arch_cpu_relax();
        if (round % 4 == 3)
            msleep(20);
        if (this_cpu_id() != last) {
            moves++;
            last = this_cpu_id();
        }
    }
    printk("demo: worker %u finished on cpu%u after moving %u times\n", id, this_cpu_id(), moves);
}

static void print_counters(void)
{
    unsigned cpu;
    for_each_online_cpu(cpu) {
        struct sched_stats s;
        sched_stats_get(cpu, &s);
        printk("demo:   cpu%-2u switches %6lu  preemptions %5lu  migrations in %4lu  queued %2u  busy/idle ticks %lu/%lu\n",
               cpu, (unsigned long)s.switches, (unsigned long)s.preemptions,
               (unsigned long)s.migrations_in, sched_nr_queued(cpu), (unsigned long)s.busy_ticks,
               (unsigned long)s.idle_ticks);
    }
}

static void demo_sched(void)
{
    unsigned n = 3 * nr_cpus_online;
    struct task *workers[3 * MAX_CPUS];

    printk("demo: starting %u CPU-bound kernel threads, all on cpu0; idle CPUs pull them over\n", n);
    for (unsigned i = 0; i < n; i++) {
        workers[i] = kthread_create(demo_worker, (void *)(uintptr_t)i, "demo-worker");
        if (!workers[i]) {
            n = i;
            break;
        }
        kthread_start(workers[i]);      /* on this CPU (cpu0) until pulled */
    }
    for (int i = 0; i < 3; i++) {
        msleep(300);
        printk("demo: after %d ms:\n", 300 * (i + 1));
        print_counters();
    }
    sched_print_tasks();
    for (unsigned i = 0; i < n; i++)
        kthread_join(workers[i]);
    printk("demo: all %u workers joined; final counters:\n", n);
    print_counters();
}

static void demo_main(void *arg)
{
    (void)arg;
    if (demo_scenes & (1u << DEMO_TLB)) {
        struct tlb_scene_result r;
        tlb_scene_run(&r, false);
    }
    if (demo_scenes & (1u << DEMO_USER))
        demo_user_programs();
    if (demo_scenes & (1u << DEMO_SCHED))
        demo_sched();
    printk("demo: done. Shootdown is idle (try `make test`, or CMDLINE=\"test=sched\").\n");
    tlb_trace_dump_if_asked();      /* tlbtrace=dump */
}

void demo_start(void)
{
    if (!demo_scenes) {
        printk("Shootdown is up (demo=off): idle.\n");
        return;
    }
    struct task *t = kthread_create(demo_main, NULL, "demo");
    if (!t)
        return;
    kthread_bind(t, 0);
    kthread_start(t);
}
