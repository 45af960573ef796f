/* kernel/config.h - compile-time limits. */
#pragma once

/* CPUs the kernel can drive: sizes cpumasks and per-CPU tables. */
#define MAX_CPUS 128
