/*
 * lib/cmdline.h - splitting a kernel command line into words.
 *
 * A command line is words separated by spaces.  A word is `name` or
 * `name=value`; a value may be double-quoted to contain spaces
 * (name="a b").  This part knows nothing of which options exist; the kernel's
 * registry (kernel/boot/boot_options.c) gives the words meaning.
 */
#pragma once
#include <stddef.h>
#include <stdbool.h>

struct cmdline_word {
    char name[32];
    char value[256];
    bool has_value;
    bool truncated;     /* name or value did not fit: treat as an error */
};

/* Read the next word starting at *pos; returns false at the end of line.
 * On an unterminated quote the word's value runs to the end of the line and
 * `truncated` is set. */
bool cmdline_next_word(const char *line, size_t *pos, struct cmdline_word *w);

/* Read the next argument of a program's argument line (the value of a
 * "rest of the line" option such as run=): arguments are separated by
 * blanks, and double quotes group blanks into one ("two words"; the quotes
 * are dropped, as a shell does).  The argument goes to buf (cap bytes, always
 * terminated); returns false at the end of the line.  *bad is set when the
 * argument did not fit or a quote was not closed. */
bool cmdline_next_arg(const char *line, size_t *pos, char *buf, size_t cap, bool *bad);

/* Parse an unsigned number: decimal, 0x hex, with an optional K/M/G suffix.
 * Returns false for anything else (empty, junk, overflow). */
bool cmdline_parse_uint(const char *s, unsigned long long *out);
/* on/off, yes/no, 1/0, true/false. */
bool cmdline_parse_bool(const char *s, bool *out);
