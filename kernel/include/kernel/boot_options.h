/*
 * kernel/boot_options.h - registered kernel command-line options.
 *
 * A subsystem declares its option next to the variable it sets:
 *
 *     static unsigned flush_ceiling = 33;
 *     CMDLINE_UINT(tlb_flush_ceiling, flush_ceiling, 1, 512,
 *                  "pages flushed one by one before a full flush");
 *
 * cmdline_apply() reads the boot command line once, early, and sets every
 * registered option it finds.  An unknown option is a warning (it may be
 * meant for someone else); a bad value is an error that names the option and
 * what it accepts, and the variable keeps its default.
 */
#pragma once
#include <kernel/compiler.h>

enum cmdline_kind {
    CMDLINE_KIND_BOOL, CMDLINE_KIND_UINT, CMDLINE_KIND_ENUM, CMDLINE_KIND_STRING,
    CMDLINE_KIND_REST,          /* name=everything up to the end of the line (see CMDLINE_REST) */
    CMDLINE_KIND_LIST,          /* a set of choices: "a,c", or all|on, or off|none */
};

struct cmdline_option {
    const char *name;
    const char *help;
    enum cmdline_kind kind;
    void *target;               /* bool *, unsigned long long-sized by `size`, int *, char[],
                                 * LIST: unsigned * (bit i: choice i chosen) */
    size_t size;                /* UINT: sizeof the variable; STRING, REST: buffer size */
    unsigned long long min, max;
    const char *const *choices; /* ENUM, LIST: NULL-terminated; ENUM: *target = index */
};

/* Every option, gathered by the linker from section .cmdline_opts (linker.ld). */
extern const struct cmdline_option __cmdline_opts_start[], __cmdline_opts_end[];

#define __CMDLINE_REG(id, ...)                                                  \
    static const struct cmdline_option __cmdline_##id __used                   \
        __section(".cmdline_opts") __aligned(8) = { __VA_ARGS__ }

#define CMDLINE_BOOL(optname, var, helptext)                                    \
    __CMDLINE_REG(optname, .name = #optname, .help = helptext,                  \
                  .kind = CMDLINE_KIND_BOOL, .target = &(var), .size = sizeof(bool))
#define CMDLINE_UINT(optname, var, lo, hi, helptext)                            \
    __CMDLINE_REG(optname, .name = #optname, .help = helptext,                  \
                  .kind = CMDLINE_KIND_UINT, .target = &(var), .size = sizeof(var), \
                  .min = (lo), .max = (hi))
#define CMDLINE_ENUM(optname, var, choice_list, helptext)                       \
    __CMDLINE_REG(optname, .name = #optname, .help = helptext,                  \
                  .kind = CMDLINE_KIND_ENUM, .target = &(var), .size = sizeof(int), \
                  .choices = (choice_list))
/* A comma-separated set of names from choice_list (at most 32): bit i of
 * the unsigned var is set when choice i is named.  "all" (or "on") names
 * every choice, "off" (or "none") none; an unknown name is an error that
 * names it. */
#define CMDLINE_LIST(optname, var, choice_list, helptext)                       \
    __CMDLINE_REG(optname, .name = #optname, .help = helptext,                  \
                  .kind = CMDLINE_KIND_LIST, .target = &(var), .size = sizeof(unsigned), \
                  .choices = (choice_list))
#define CMDLINE_STRING(optname, buf, helptext)                                  \
    __CMDLINE_REG(optname, .name = #optname, .help = helptext,                  \
                  .kind = CMDLINE_KIND_STRING, .target = (buf), .size = sizeof(buf))
/* An option that takes the rest of the line: `name=` is the last option read,
 * and `buf` gets every character after the '=' up to the end of the line as
 * it stands (spaces and quotes kept, blanks at both ends cut), for its owner to
 * split (run=PROG args..., kernel/proc/run.c).  Words after it are not
 * options. */
#define CMDLINE_REST(optname, buf, helptext)                                    \
    __CMDLINE_REG(optname, .name = #optname, .help = helptext,                  \
                  .kind = CMDLINE_KIND_REST, .target = (buf), .size = sizeof(buf))

/* Apply `line` to the registered options; returns the number of errors
 * (unknown options are warnings and do not count).  Messages go to printk. */
int cmdline_apply(const char *line);

/* The same against an explicit table, for tests: messages are written to
 * `report` (size `cap`) instead of the log. */
int cmdline_apply_table(const char *line, const struct cmdline_option *opts, size_t n,
                        char *report, size_t cap, int *warnings);
