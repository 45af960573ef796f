/*
 * tests/test_ipc_locks.c - the system-call path takes no lock shared beyond
 * the parties of the call (issue #12, item 7; docs/syscalls.md, "What the
 * system-call path shares").
 *
 * spin_lock_taken_test_hook (kernel/spinlock.h) reports every lock any CPU
 * takes.  The recorder below keeps the ones a user task takes in its own
 * context (not in an interrupt handler: the tick and IPIs land on every
 * CPU and are not the system call's doing).  The user program ipc_locks
 * (user/ipc_locks.c) marks its phases with a lookup of its endpoint, which
 * takes the endpoint table's lock and nothing else; the recorder counts
 * those markers and keeps, per phase, which locks were taken on which CPU
 * and how often:
 *
 *   window A  ROUNDS round trips (ipc_call against ipc_reply_recv) between
 *             two threads pinned to one CPU: each round trip takes the
 *             endpoint's own lock twice (the call, the reply_recv) and this
 *             CPU's run-queue lock twice (two hand-offs), and nothing else;
 *   window B  NULLS getpid and NULLS clock calls: no lock at all.
 *
 * The one exception is the shadow-TLB checker's lock of this CPU's model
 * (tlbcheck=on only, a debugging mode that the measurements leave off).
 *
 * A global lock on the path (the old ipc_lock, a global counter's lock)
 * shows up as a lock of another name and fails the test.
 */
#include "user_test_util.h"
#include "smp_test_util.h"
#include <kernel/spinlock.h>
#include <kernel/debug/counters.h>
#include <kernel/debug/tlbcheck.h>
#include <kernel/smp.h>
#include <arch/trap.h>
#include <lib/string.h>
#include <lib/format.h>
#include "../kernel/sched/sched_internal.h"

#define ROUNDS 200
#define NULLS 200
#define MAX_SEEN 16

/* The phases: markers seen so far (a lookup's table lock). */
enum { PHASE_SETUP = 1, PHASE_IPC = 2, PHASE_NULL = 3, PHASE_DONE = 4 };

struct seen_lock {
    struct spinlock *lock;
    unsigned cpu;
    unsigned phase;
    unsigned count;
};

/*
 * Written only from the hook in a user task's context.  Before marker 2
 * the program's threads may run on any CPU, but then the recorder only
 * counts markers, which only the main thread makes; from marker 2 to 4
 * both threads are pinned to one CPU, so one CPU at a time writes.
 */
static struct {
    _Atomic unsigned phase;
    struct seen_lock seen[MAX_SEEN];
    unsigned nseen;
    unsigned overflow;
    /* this CPU's switches and hand-offs at each marker */
    uint64_t switches[PHASE_DONE + 1], handoffs[PHASE_DONE + 1];
} rec;

DECLARE_COUNTER(switch, handoff);

static void record_lock(struct spinlock *l)
{
    struct task *me = current_task();
    if (!me->process || arch_in_interrupt())
        return;
    if (l->name && strcmp(l->name, "ipc_table_lock") == 0) {
        unsigned phase = atomic_load_explicit(&rec.phase, memory_order_relaxed) + 1;
        atomic_store_explicit(&rec.phase, phase, memory_order_relaxed);
        if (phase <= PHASE_DONE) {
            unsigned cpu = this_cpu_id();
            rec.switches[phase] = this_rq()->stats.switches;
            rec.handoffs[phase] = counter_read_cpu(&counter_desc__switch__handoff, cpu);
        }
        return;
    }
    unsigned phase = atomic_load_explicit(&rec.phase, memory_order_relaxed);
    if (phase != PHASE_IPC && phase != PHASE_NULL)
        return;
    unsigned cpu = this_cpu_id();
    for (unsigned i = 0; i < rec.nseen; i++) {
        struct seen_lock *s = &rec.seen[i];
        if (s->lock == l && s->cpu == cpu && s->phase == phase) {
            s->count++;
            return;
        }
    }
    if (rec.nseen == MAX_SEEN) {
        rec.overflow++;
        return;
    }
    rec.seen[rec.nseen++] = (struct seen_lock){ .lock = l, .cpu = cpu, .phase = phase, .count = 1 };
}

static void test_syscall_path_locks(struct ktest *t)
{
    struct user_baseline b;
    user_baseline_take(&b);
    unsigned cpu = last_online_cpu();
    int ep = ipc_endpoint_create("ktest-locks", NULL);
    ASSERT_GT(t, ep, 0);

    memset(&rec, 0, sizeof(rec));
    WRITE_ONCE(spin_lock_taken_test_hook, record_lock);
    char cpu_arg[12], rounds_arg[12], nulls_arg[12];
    snprintf(cpu_arg, sizeof(cpu_arg), "%u", cpu);
    snprintf(rounds_arg, sizeof(rounds_arg), "%u", ROUNDS);
    snprintf(nulls_arg, sizeof(nulls_arg), "%u", NULLS);
    EXPECT_PROGRAM_OK(t, "ipc_locks", "ktest-locks", cpu_arg, rounds_arg, nulls_arg);
    WRITE_ONCE(spin_lock_taken_test_hook, NULL);
    EXPECT_EQ(t, ipc_endpoint_destroy(ep), 0);
    user_baseline_check(t, &b);

    ASSERT_GE(t, atomic_load(&rec.phase), (unsigned)PHASE_DONE);
    EXPECT_EQ(t, rec.overflow, 0u);
    struct spinlock *rq_lock = &cpu_rq(cpu)->lock;
    struct spinlock *ep_lock = NULL, *checker_lock = NULL;
    unsigned ep_holds = 0, rq_holds[PHASE_DONE] = {0}, others = 0;
    for (unsigned i = 0; i < rec.nseen; i++) {
        struct seen_lock *s = &rec.seen[i];
        const char *name = s->lock->name ? s->lock->name : "?";
        ktest_log("window %c: %s (%p) on cpu%u, %u times", s->phase == PHASE_IPC ? 'A' : 'B', name,
                  (void *)s->lock, s->cpu, s->count);
        if (s->cpu != cpu) {
            others++;
        } else if (s->lock == rq_lock) {
            rq_holds[s->phase] += s->count;
        } else if (tlbcheck_on() && strcmp(name, "tlbcheck.cpu") == 0 &&
                   (!checker_lock || checker_lock == s->lock)) {
            /* The shadow-TLB checker (tlbcheck=on, a debugging mode, off
             * when measuring) models this CPU's TLB under the lock of that
             * CPU's model: at each CR3 switch and each return to user. */
            checker_lock = s->lock;
        } else if (s->phase == PHASE_IPC && strcmp(name, "endpoint.lock") == 0 &&
                   (!ep_lock || ep_lock == s->lock)) {
            ep_lock = s->lock;
            ep_holds += s->count;
        } else {
            others++;
        }
    }
    /* Nothing but the endpoint's lock and this CPU's run-queue lock in
     * window A, at most the run-queue lock in window B (and the checker's
     * lock of this CPU's model, when it runs). */
    EXPECT_EQ(t, others, 0u);
    /* Exact: the woken side always finds its waiter DONE without the lock
     * (one CPU: the waker stores DONE before it lets go of the CPU). */
    EXPECT_EQ(t, ep_holds, 2u * ROUNDS);
    /*
     * Window A: two hand-offs a round trip, one run-queue lock hold each;
     * window B: no switch, no hold.  Exactly so unless something else ran
     * on the CPU meanwhile: a kernel thread woken there refuses a hand-off
     * or preempts the program, and each such switch costs at most three
     * holds more (a refused hand-off's try, the wake-up, schedule()).
     */
    for (unsigned phase = PHASE_IPC; phase <= PHASE_NULL; phase++) {
        uint64_t switches = rec.switches[phase + 1] - rec.switches[phase];
        uint64_t handoffs = rec.handoffs[phase + 1] - rec.handoffs[phase];
        uint64_t want = phase == PHASE_IPC ? 2u * ROUNDS : 0;
        ktest_log("window %c on cpu%u: %llu switches, %llu hand-offs, %u run-queue holds",
                  phase == PHASE_IPC ? 'A' : 'B', cpu, (unsigned long long)switches,
                  (unsigned long long)handoffs, rq_holds[phase]);
        if (switches == want && handoffs == want) {
            EXPECT_EQ(t, (uint64_t)rq_holds[phase], want);
        } else {
            EXPECT_GE(t, (uint64_t)rq_holds[phase], want);
            EXPECT_LE(t, (uint64_t)rq_holds[phase], want + 3 * (switches - handoffs));
        }
    }
}

static const struct ktest_case cases[] = {
    KTEST_CASE(test_syscall_path_locks),
    {0},
};
KTEST_SUITE(ipc_locks, cases);
