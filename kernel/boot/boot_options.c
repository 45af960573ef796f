/*
 * kernel/boot/boot_options.c - the registry of command-line options (see
 * kernel/boot_options.h).  lib/cmdline.c splits the line into words; here each
 * word is matched against the options in the .cmdline_opts section.
 */
#include <kernel/boot_options.h>
#include <kernel/printk.h>
#include <lib/cmdline.h>
#include <lib/format.h>
#include <lib/string.h>

struct report {
    char *buf;
    size_t cap, len;
};

static void __printf(2, 3) say(struct report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->buf) {
        if (r->len < r->cap) {
            int n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
            r->len += (size_t)n;
            if (r->len > r->cap)
                r->len = r->cap;
        }
    } else {
        vprintk(fmt, ap);
    }
    va_end(ap);
}

/* The largest value a UINT option can take: its declared maximum, but never
 * more than its variable holds (a table that says otherwise would otherwise
 * have its values silently cut). */
static unsigned long long uint_max(const struct cmdline_option *o)
{
    unsigned long long type_max = o->size >= 8 ? ~0ull : (1ull << (8 * o->size)) - 1;
    return o->max < type_max ? o->max : type_max;
}

static void describe_accepted(struct report *r, const struct cmdline_option *o)
{
    switch (o->kind) {
    case CMDLINE_KIND_BOOL:
        say(r, "on|off (also yes|no, true|false, 1|0)");
        break;
    case CMDLINE_KIND_UINT:
        say(r, "a number from %llu to %llu (decimal or 0x hex, optional K/M/G suffix)", o->min,
            uint_max(o));
        break;
    case CMDLINE_KIND_ENUM:
        for (size_t i = 0; o->choices[i]; i++)
            say(r, "%s%s", i ? "|" : "", o->choices[i]);
        break;
    case CMDLINE_KIND_STRING:
        say(r, "a string of at most %zu characters", o->size - 1);
        break;
    case CMDLINE_KIND_REST:
        say(r, "the rest of the line, at most %zu characters", o->size - 1);
        break;
    case CMDLINE_KIND_LIST:
        say(r, "a comma-separated list of ");
        for (size_t i = 0; o->choices[i]; i++)
            say(r, "%s%s", i ? "," : "", o->choices[i]);
        say(r, ", or all|off");
        break;
    }
}

/* LIST: the choice named by v[0..len), or -1. */
static int list_choice(const struct cmdline_option *o, const char *v, size_t len)
{
    for (int i = 0; o->choices[i] && i < 32; i++)
        if (strlen(o->choices[i]) == len && !strncmp(v, o->choices[i], len))
            return i;
    return -1;
}

/* LIST: parse v into *mask; false at the first item that names no choice
 * (its offset and length in *bad, *bad_len; an empty item is bad too). */
static bool parse_list(const struct cmdline_option *o, const char *v, unsigned *mask, size_t *bad,
                       size_t *bad_len)
{
    unsigned all = 0;
    for (int i = 0; o->choices[i] && i < 32; i++)
        all |= 1u << i;
    if (!strcmp(v, "all") || !strcmp(v, "on")) {
        *mask = all;
        return true;
    }
    if (!strcmp(v, "off") || !strcmp(v, "none")) {
        *mask = 0;
        return true;
    }
    *mask = 0;
    for (size_t pos = 0;;) {
        size_t len = 0;
        while (v[pos + len] && v[pos + len] != ',')
            len++;
        int c = list_choice(o, v + pos, len);
        if (c < 0) {
            *bad = pos;
            *bad_len = len;
            return false;
        }
        *mask |= 1u << c;
        if (!v[pos + len])
            return true;
        pos += len + 1;
    }
}

/* Set one option from its value; returns false if the value is bad. */
static bool set_option(const struct cmdline_option *o, const struct cmdline_word *w)
{
    const char *v = w->value;
    switch (o->kind) {
    case CMDLINE_KIND_BOOL: {
        bool b;
        if (!w->has_value) {        /* a bare "name" means name=on */
            *(bool *)o->target = true;
            return true;
        }
        if (!cmdline_parse_bool(v, &b))
            return false;
        *(bool *)o->target = b;
        return true;
    }
    case CMDLINE_KIND_UINT: {
        unsigned long long n;
        if (!w->has_value || !cmdline_parse_uint(v, &n) || n < o->min || n > uint_max(o))
            return false;
        switch (o->size) {
        case 1: *(uint8_t *)o->target = (uint8_t)n; break;
        case 2: *(uint16_t *)o->target = (uint16_t)n; break;
        case 4: *(uint32_t *)o->target = (uint32_t)n; break;
        default: *(uint64_t *)o->target = n; break;
        }
        return true;
    }
    case CMDLINE_KIND_ENUM:
        if (!w->has_value)
            return false;
        for (int i = 0; o->choices[i]; i++) {
            if (!strcmp(v, o->choices[i])) {
                *(int *)o->target = i;
                return true;
            }
        }
        return false;
    case CMDLINE_KIND_STRING:
        if (!w->has_value || strlen(v) >= o->size)
            return false;
        strlcpy(o->target, v, o->size);
        return true;
    case CMDLINE_KIND_REST:     /* set_rest() reads the line itself */
        return false;
    case CMDLINE_KIND_LIST: {
        unsigned mask;
        size_t bad, bad_len;
        if (!w->has_value || !parse_list(o, v, &mask, &bad, &bad_len))
            return false;
        *(unsigned *)o->target = mask;
        return true;
    }
    }
    return false;
}

/* A REST option: its value is the raw line from just after the '=' of the
 * word that starts at or after `start`, to the end, blanks cut at both ends. */
static bool set_rest(const struct cmdline_option *o, const char *line, size_t start)
{
    const char *v = strchr(line + start, '=');
    if (!v)
        return false;
    v++;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= o->size)
        return false;
    memcpy(o->target, v, n);
    ((char *)o->target)[n] = '\0';
    return true;
}

/* A LIST's bad value: say which item is unknown (the whole value may be
 * long, and the student typed one name wrong). */
static void say_unknown_item(struct report *r, const struct cmdline_option *o, const struct cmdline_word *w)
{
    unsigned mask;
    size_t bad, bad_len;
    if (o->kind != CMDLINE_KIND_LIST || w->truncated || !w->has_value ||
        parse_list(o, w->value, &mask, &bad, &bad_len))
        return;
    if (bad_len == 0)
        say(r, "an empty name in the list; ");
    else
        say(r, "'%.*s' is none of them; ", (int)bad_len, w->value + bad);
}

static int apply(const char *line, const struct cmdline_option *opts, size_t n, struct report *r,
                 int *warnings)
{
    size_t pos = 0;
    struct cmdline_word w;
    int errors = 0;

    *warnings = 0;
    for (size_t start = pos; cmdline_next_word(line, &pos, &w); start = pos) {
        const struct cmdline_option *o = NULL;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(opts[i].name, w.name))
                o = &opts[i];
        if (!o) {
            say(r, "warning: cmdline: unknown option '%s' ignored\n", w.name);
            (*warnings)++;
            continue;
        }
        if (o->kind == CMDLINE_KIND_REST && w.has_value) {
            /* The rest of the line is this option's, however it splits. */
            if (!set_rest(o, line, start)) {
                say(r, "error: cmdline: bad value for option '%s': it accepts ", o->name);
                describe_accepted(r, o);
                say(r, " (ignored)\n");
                errors++;
            }
            break;
        }
        if (w.truncated || !set_option(o, &w)) {
            if (!w.has_value) {
                say(r, "error: cmdline: option '%s' needs a value: it accepts ", o->name);
            } else {
                say(r, "error: cmdline: bad value '%s' for option '%s': ", w.value, o->name);
                say_unknown_item(r, o, &w);
                say(r, "it accepts ");
            }
            describe_accepted(r, o);
            say(r, " (keeping the default)\n");
            errors++;
        }
    }
    return errors;
}

int cmdline_apply_table(const char *line, const struct cmdline_option *opts, size_t n,
                        char *report, size_t cap, int *warnings)
{
    struct report r = { report, cap, 0 };
    if (report && cap)
        report[0] = '\0';
    return apply(line, opts, n, &r, warnings);
}

int cmdline_apply(const char *line)
{
    struct report r = { NULL, 0, 0 };
    int warnings;
    return apply(line, __cmdline_opts_start, (size_t)(__cmdline_opts_end - __cmdline_opts_start), &r,
                 &warnings);
}
