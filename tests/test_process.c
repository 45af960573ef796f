/*
 * tests/test_process.c - what of processes can be tested without ring 3:
 * ELF validation on hand-made images (every malformation gives -SD_ENOEXEC
 * and leaks nothing), loading into an mm when address spaces exist, the
 * argument block on the initial stack, the process-table limit, spawn and
 * wait errors, and moving running threads between CPUs (sched_set_affinity,
 * which set_affinity uses).
 */
#include "ktest_suite.h"
#include "../kernel/proc/process_internal.h"
#include <kernel/elf.h>
#include <kernel/mm.h>
#include <kernel/kmalloc.h>
#include <kernel/percpu.h>
#include <kernel/cpumask.h>
#include <kernel/wait.h>
#include <arch/memlayout.h>
#include <arch/cpu.h>
#include <lib/string.h>

/* A minimal valid program: header, two PT_LOADs (code r-x at 0x400000,
 * data rw- at 0x401000 with 16 file bytes and a page of bss), code bytes. */
struct test_elf {
    struct elf64_ehdr eh;
    struct elf64_phdr ph[2];
    uint8_t code[32];
};

static void make_elf(struct test_elf *e)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->eh.ident, "\x7f" "ELF", 4);
    e->eh.ident[EI_CLASS] = ELFCLASS64;
    e->eh.ident[EI_DATA] = ELFDATA2LSB;
    e->eh.ident[EI_VERSION] = EV_CURRENT;
    e->eh.type = ET_EXEC;
    e->eh.machine = EM_X86_64;
    e->eh.version = EV_CURRENT;
    e->eh.phoff = offsetof(struct test_elf, ph);
    e->eh.phentsize = sizeof(struct elf64_phdr);
    e->eh.phnum = 2;
    e->eh.ehsize = sizeof(struct elf64_ehdr);
    e->eh.entry = 0x400000 + offsetof(struct test_elf, code);

    e->ph[0] = (struct elf64_phdr){ .type = PT_LOAD, .flags = PF_R | PF_X, .offset = 0,
                                    .vaddr = 0x400000, .filesz = sizeof(*e), .memsz = sizeof(*e),
                                    .align = 0x1000 };
    e->ph[1] = (struct elf64_phdr){ .type = PT_LOAD, .flags = PF_R | PF_W,
                                    .offset = offsetof(struct test_elf, code), .vaddr = 0x401000,
                                    .filesz = 16, .memsz = 0x1800, .align = 0x1000 };
    for (unsigned i = 0; i < sizeof(e->code); i++)
        e->code[i] = 0x90 + (uint8_t)i;     /* recognisable bytes */
}

static void test_elf_valid(struct ktest *t)
{
    struct test_elf e;
    make_elf(&e);
    struct elf_info info;
    ASSERT_EQ(t, elf_check("good", &e, sizeof(e), &info), 0);
    EXPECT_EQ(t, info.entry, (uintptr_t)0x400000 + offsetof(struct test_elf, code));
    EXPECT_EQ(t, info.nr_load, 2u);
}

/* One malformation each; all must be refused. */
static void break_magic(struct test_elf *e) { e->eh.ident[1] = 'X'; }
static void break_class(struct test_elf *e) { e->eh.ident[EI_CLASS] = 1; }
static void break_endian(struct test_elf *e) { e->eh.ident[EI_DATA] = 2; }
static void break_version(struct test_elf *e) { e->eh.version = 2; }
static void break_type(struct test_elf *e) { e->eh.type = 3; /* ET_DYN */ }
static void break_machine(struct test_elf *e) { e->eh.machine = 3; /* i386 */ }
static void break_phentsize(struct test_elf *e) { e->eh.phentsize = 32; }
static void break_phnum0(struct test_elf *e) { e->eh.phnum = 0; }
static void break_phnum_big(struct test_elf *e) { e->eh.phnum = 0xffff; }
static void break_phoff(struct test_elf *e) { e->eh.phoff = 0xfffffffffffffff0ull; }
static void break_phoff_tail(struct test_elf *e) { e->eh.phoff = sizeof(*e) - 8; }
static void break_filesz(struct test_elf *e) { e->ph[1].filesz = e->ph[1].memsz + 1; }
static void break_offset(struct test_elf *e) { e->ph[1].offset = sizeof(*e) - 8; }
static void break_offset_wrap(struct test_elf *e) { e->ph[1].offset = ~0ull - 4; }
static void break_low_vaddr(struct test_elf *e) { e->ph[1].vaddr = 0x1000; }
static void break_kernel_vaddr(struct test_elf *e) { e->ph[1].vaddr = 0xffff800000000000ull; }
static void break_vaddr_wrap(struct test_elf *e) { e->ph[1].memsz = ~0ull - 0x1000; e->ph[1].filesz = 0; }
static void break_stack_overlap(struct test_elf *e) { e->ph[1].vaddr = SD_USER_STACK_TOP - 0x1000; }
static void break_overlap(struct test_elf *e) { e->ph[1].vaddr = 0x400800; }
static void break_entry_outside(struct test_elf *e) { e->eh.entry = 0x500000; }
static void break_entry_noexec(struct test_elf *e) { e->eh.entry = 0x401000; }
static void break_interp(struct test_elf *e) { e->ph[1].type = PT_INTERP; }
static void break_no_load(struct test_elf *e) { e->ph[0].type = 4; e->ph[1].type = 4; }

static void (*const breakers[])(struct test_elf *) = {
    break_magic, break_class, break_endian, break_version, break_type, break_machine,
    break_phentsize, break_phnum0, break_phnum_big, break_phoff, break_phoff_tail, break_filesz,
    break_offset, break_offset_wrap, break_low_vaddr, break_kernel_vaddr, break_vaddr_wrap,
    break_stack_overlap, break_overlap, break_entry_outside, break_entry_noexec, break_interp,
    break_no_load,
};

static void test_elf_malformed(struct ktest *t)
{
    for (unsigned i = 0; i < sizeof(breakers) / sizeof(breakers[0]); i++) {
        struct test_elf e;
        make_elf(&e);
        breakers[i](&e);
        struct elf_info info;
        int r = elf_check("malformed", &e, sizeof(e), &info);
        if (r != -SD_ENOEXEC)
            ktest_fail_at(t, __FILE__, __LINE__, "malformation %u accepted (%d)", i, r);
    }
}

static void test_elf_truncated(struct ktest *t)
{
    struct test_elf e;
    make_elf(&e);
    /* Every cut through the headers or a segment's file bytes is refused. */
    for (size_t size = 0; size < sizeof(e); size += 8) {
        struct elf_info info;
        int r = elf_check("truncated", &e, size, &info);
        if (r != -SD_ENOEXEC)
            ktest_fail_at(t, __FILE__, __LINE__, "truncated to %zu bytes accepted (%d)", size, r);
    }
    EXPECT_EQ(t, elf_check("null", NULL, 0, NULL), -SD_ENOEXEC);
}

/* Needs the mm part: load for real, and a bad image leaves the mm empty. */
static void test_elf_load(struct ktest *t)
{
    unsigned mms = mm_live_count();
    struct mm *mm = mm_create();
    if (!mm)
        KTEST_SKIP(t, "no address spaces yet (mm_create)");
    struct test_elf e;
    make_elf(&e);
    e.eh.ident[EI_CLASS] = 1;
    uintptr_t entry = 0;
    EXPECT_EQ(t, elf_load(mm, "bad", &e, sizeof(e), &entry), -SD_ENOEXEC);
    EXPECT_TRUE(t, list_empty(&mm->vmas));
    make_elf(&e);
    EXPECT_EQ(t, elf_load(mm, "good", &e, sizeof(e), &entry), 0);
    EXPECT_EQ(t, entry, e.eh.entry);
    EXPECT_FALSE(t, list_empty(&mm->vmas));
    mmput(mm);
    EXPECT_EQ(t, mm_live_count(), mms);
}

static void test_argv_layout(struct ktest *t)
{
    static const char *const argv[] = { "prog", "", "third arg", NULL };
    uint8_t *buf = kmalloc(ARGV_AREA_MAX);
    ASSERT_TRUE(t, buf != NULL);
    size_t len = 0;
    uintptr_t sp = 0, top = SD_USER_STACK_TOP;
    ASSERT_EQ(t, argv_layout(argv, 3, NULL, 0, top, buf, ARGV_AREA_MAX, &len, &sp), 0);
    EXPECT_EQ(t, sp % 16, 0ul);
    EXPECT_EQ(t, sp + len, top);
    const uint64_t *w = (const uint64_t *)buf;
    EXPECT_EQ(t, w[0], 3ull);
    EXPECT_EQ(t, w[4], 0ull);                   /* argv[argc] */
    EXPECT_EQ(t, w[5], 0ull);                   /* an empty environment */
    for (unsigned i = 0; i < 3; i++) {
        uintptr_t a = w[1 + i];
        if (a < sp + 8 * 6 || a >= top) {
            ktest_fail_at(t, __FILE__, __LINE__, "argv[%u] = %#lx outside the block", i, (unsigned long)a);
            continue;
        }
        EXPECT_STREQ(t, (const char *)buf + (a - sp), argv[i]);
    }
    /* The strings end exactly at the top. */
    EXPECT_EQ(t, w[3] + strlen(argv[2]) + 1, top);

    EXPECT_EQ(t, argv_layout(argv, 0, NULL, 0, top, buf, ARGV_AREA_MAX, &len, &sp), 0);
    EXPECT_EQ(t, ((const uint64_t *)buf)[0], 0ull);
    EXPECT_EQ(t, sp % 16, 0ul);

    /* The environment follows argv's NULL; its strings follow argv's. */
    static const char *const envp[] = { "A=1", "HOME=/", NULL };
    ASSERT_EQ(t, argv_layout(argv, 3, envp, 2, top, buf, ARGV_AREA_MAX, &len, &sp), 0);
    EXPECT_EQ(t, sp % 16, 0ul);
    w = (const uint64_t *)buf;
    EXPECT_EQ(t, w[4], 0ull);
    EXPECT_EQ(t, w[7], 0ull);                   /* envp[envc] */
    for (unsigned i = 0; i < 2; i++) {
        uintptr_t a = w[5 + i];
        if (a < sp + 8 * 8 || a >= top) {
            ktest_fail_at(t, __FILE__, __LINE__, "envp[%u] = %#lx outside the block", i, (unsigned long)a);
            continue;
        }
        EXPECT_STREQ(t, (const char *)buf + (a - sp), envp[i]);
    }
    EXPECT_EQ(t, w[6] + strlen(envp[1]) + 1, top);
    EXPECT_EQ(t, w[5], w[3] + strlen(argv[2]) + 1);

    /* Too many arguments, one too long. */
    const char *many[SD_ARGS_MAX + 2];
    for (unsigned i = 0; i <= SD_ARGS_MAX; i++)
        many[i] = "x";
    many[SD_ARGS_MAX + 1] = NULL;
    EXPECT_EQ(t, argv_layout(many, SD_ARGS_MAX + 1, NULL, 0, top, buf, ARGV_AREA_MAX, &len, &sp), -SD_E2BIG);
    EXPECT_EQ(t, argv_layout(many, SD_ARGS_MAX, NULL, 0, top, buf, ARGV_AREA_MAX, &len, &sp), 0);
    EXPECT_EQ(t, argv_layout(many, 1, many, SD_ENV_MAX + 1, top, buf, ARGV_AREA_MAX, &len, &sp), -SD_E2BIG);
    char *longarg = kmalloc(SD_ARG_LEN_MAX + 1);
    ASSERT_TRUE(t, longarg != NULL);
    memset(longarg, 'a', SD_ARG_LEN_MAX);
    longarg[SD_ARG_LEN_MAX] = 0;
    const char *one[2] = { longarg, NULL };
    EXPECT_EQ(t, argv_layout(one, 1, NULL, 0, top, buf, ARGV_AREA_MAX, &len, &sp), -SD_E2BIG);
    longarg[SD_ARG_LEN_MAX - 1] = 0;        /* the longest allowed */
    EXPECT_EQ(t, argv_layout(one, 1, NULL, 0, top, buf, ARGV_AREA_MAX, &len, &sp), 0);
    /* The most of both, each of the longest length, fits the area. */
    for (unsigned i = 0; i <= SD_ARGS_MAX; i++)
        many[i] = longarg;
    STATIC_ASSERT(SD_ENV_MAX <= SD_ARGS_MAX, "many[] serves as the environment too");
    EXPECT_EQ(t, argv_layout(many, SD_ARGS_MAX, many, SD_ENV_MAX, top, buf, ARGV_AREA_MAX, &len, &sp), 0);
    kfree(longarg);
    kfree(buf);
}

static void test_process_limit(struct ktest *t)
{
    unsigned before = process_count();
    struct process **ps = kzalloc((PROCESS_MAX + 1) * sizeof(*ps));
    ASSERT_TRUE(t, ps != NULL);
    unsigned n = 0;
    int err = 0;
    while (n <= PROCESS_MAX) {
        struct process *p = process_alloc("limit", &err);
        if (!p)
            break;
        ps[n++] = p;
    }
    EXPECT_EQ(t, err, -SD_EAGAIN);
    EXPECT_EQ(t, n + before, (unsigned)PROCESS_MAX);
    EXPECT_EQ(t, process_count(), (unsigned)PROCESS_MAX);
    /* pids are distinct and positive */
    for (unsigned i = 1; i < n; i++)
        EXPECT_GT(t, process_pid(ps[i]), process_pid(ps[i - 1]));
    for (unsigned i = 0; i < n; i++)
        process_free(ps[i]);
    kfree(ps);
    EXPECT_EQ(t, process_count(), before);
}

static void test_spawn_errors(struct ktest *t)
{
    unsigned before = process_count();
    EXPECT_EQ(t, process_spawn("no-such-program", NULL), -SD_ENOENT);
    EXPECT_EQ(t, process_wait(-1, NULL), -SD_ECHILD);
    EXPECT_EQ(t, process_wait(12345, NULL), -SD_ECHILD);
    EXPECT_EQ(t, process_count(), before);
    EXPECT_TRUE(t, current_process() == NULL);
}

/* ---- sched_set_affinity: running, sleeping and queued threads move ---- */

struct aff_arg {
    _Atomic unsigned target;        /* the CPU it was told to go to */
    _Atomic unsigned arrived;       /* times it saw itself on target */
    _Atomic bool sleeper;
};

static void aff_worker(void *p)
{
    struct aff_arg *a = p;
    while (!kthread_should_stop()) {
        if (this_cpu_id() == atomic_load(&a->target))
            atomic_fetch_add(&a->arrived, 1);
        if (atomic_load(&a->sleeper))
            msleep(1);
        else
            arch_cpu_relax();
    }
}

static void test_affinity_moves_others(struct ktest *t)
{
    if (nr_cpus_online < 2)
        KTEST_SKIP(t, "needs two CPUs");
    for (int sleeper = 0; sleeper < 2; sleeper++) {
        struct aff_arg a = { .target = MAX_CPUS, .arrived = 0, .sleeper = sleeper };
        struct task *w = kthread_create(aff_worker, &a, "aff-worker");
        ASSERT_TRUE(t, w != NULL);
        kthread_start(w);
        unsigned cpu;
        for_each_online_cpu(cpu) {
            struct cpumask m;
            cpumask_clear(&m);
            cpumask_set_cpu(&m, cpu);
            atomic_store(&a.arrived, 0);
            atomic_store(&a.target, cpu);
            sched_set_affinity(w, &m);
            /* Progress, not time: wait (sleeping) until it reports in. */
            unsigned spins = 0;
            while (atomic_load(&a.arrived) < 3 && spins++ < 5000)
                msleep(1);
            if (atomic_load(&a.arrived) < 3)
                ktest_fail_at(t, __FILE__, __LINE__, "%s thread never reached cpu%u",
                              sleeper ? "sleeping" : "running", cpu);
        }
        kthread_stop(w);
    }
}

struct self_arg {
    _Atomic unsigned bad;
    _Atomic unsigned done;
};

static void aff_self(void *p)
{
    struct self_arg *a = p;
    unsigned cpu;
    for (int round = 0; round < 3; round++) {
        for_each_online_cpu(cpu) {
            struct cpumask m;
            cpumask_clear(&m);
            cpumask_set_cpu(&m, cpu);
            sched_set_affinity(current_task(), &m);
            yield();
            if (this_cpu_id() != cpu)
                atomic_fetch_add(&a->bad, 1);
        }
    }
    atomic_store(&a->done, 1);
}

static void test_affinity_self(struct ktest *t)
{
    struct self_arg a = { 0, 0 };
    struct task *w = kthread_create(aff_self, &a, "aff-self");
    ASSERT_TRUE(t, w != NULL);
    kthread_start(w);
    kthread_join(w);
    EXPECT_EQ(t, atomic_load(&a.done), 1u);
    EXPECT_EQ(t, atomic_load(&a.bad), 0u);
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_elf_valid),
    KTEST_CASE(test_elf_malformed),
    KTEST_CASE(test_elf_truncated),
    KTEST_CASE(test_elf_load),
    KTEST_CASE(test_argv_layout),
    KTEST_CASE(test_process_limit),
    KTEST_CASE(test_spawn_errors),
    KTEST_CASE(test_affinity_moves_others),
    KTEST_CASE(test_affinity_self),
    {0},
};
KTEST_SUITE(process, cases);
