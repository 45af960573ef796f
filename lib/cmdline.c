/* lib/cmdline.c - command-line words (see lib/cmdline.h). */
#include <lib/cmdline.h>
#include <lib/string.h>

static void append(char *buf, size_t cap, size_t *len, char c, bool *trunc)
{
    if (*len + 1 < cap)
        buf[(*len)++] = c;
    else
        *trunc = true;
    buf[*len] = '\0';
}

bool cmdline_next_word(const char *line, size_t *pos, struct cmdline_word *w)
{
    size_t i = *pos, nlen = 0, vlen = 0;

    memset(w, 0, sizeof(*w));
    while (line[i] == ' ' || line[i] == '\t')
        i++;
    if (!line[i]) {
        *pos = i;
        return false;
    }
    while (line[i] && line[i] != ' ' && line[i] != '\t' && line[i] != '=')
        append(w->name, sizeof(w->name), &nlen, line[i++], &w->truncated);
    if (line[i] == '=') {
        w->has_value = true;
        i++;
        bool quoted = false;
        for (; line[i]; i++) {
            if (line[i] == '"') {
                quoted = !quoted;
                continue;
            }
            if (!quoted && (line[i] == ' ' || line[i] == '\t'))
                break;
            append(w->value, sizeof(w->value), &vlen, line[i], &w->truncated);
        }
        if (quoted)
            w->truncated = true;
    }
    *pos = i;
    return true;
}

bool cmdline_next_arg(const char *line, size_t *pos, char *buf, size_t cap, bool *bad)
{
    size_t i = *pos, len = 0;
    bool quoted = false;

    *bad = false;
    if (cap)
        buf[0] = '\0';
    while (line[i] == ' ' || line[i] == '\t')
        i++;
    if (!line[i]) {
        *pos = i;
        return false;
    }
    for (; line[i]; i++) {
        if (line[i] == '"') {
            quoted = !quoted;
            continue;
        }
        if (!quoted && (line[i] == ' ' || line[i] == '\t'))
            break;
        if (cap)
            append(buf, cap, &len, line[i], bad);
        else
            *bad = true;
    }
    if (quoted)
        *bad = true;
    *pos = i;
    return true;
}

bool cmdline_parse_uint(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    unsigned base = 10;
    if (!s || !*s)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return false;
    }
    const char *digits = s;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A' + 10);
        else break;
        if (v > (~0ull - d) / base)
            return false;
        v = v * base + d;
    }
    if (s == digits)        /* a suffix alone ("K", "0xM") is not a number */
        return false;
    if (*s) {
        unsigned shift;
        switch (*s) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return false;
        }
        if (s[1] || v > (~0ull >> shift))
            return false;
        v <<= shift;
    }
    *out = v;
    return true;
}

bool cmdline_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "on", "yes", "1", "true" };
    static const char *const no[] = { "off", "no", "0", "false" };
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(s, yes[i])) { *out = true; return true; }
        if (!strcmp(s, no[i])) { *out = false; return true; }
    }
    return false;
}
