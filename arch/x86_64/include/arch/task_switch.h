/*
 * arch/task_switch.h - the architecture's part of a context switch, called
 * by context_switch() (kernel/sched/core.c) just before the stack switch,
 * with interrupts off: per-task CPU state that is not in the callee-saved
 * registers - the ring-0 stack for interrupts and system calls from user
 * mode, and the user FPU/SSE registers.
 */
#pragma once

struct task;

void arch_switch_to(struct task *prev, struct task *next);
