/* lib/format.c - vsnprintf for the kernel (see lib/format.h). */
#include <lib/format.h>
#include <lib/string.h>
#include <stdint.h>
#include <stdbool.h>

struct out {
    char *buf;
    size_t size;
    size_t len;   /* characters produced so far, even past the buffer */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

struct spec {
    bool left, zero, plus, space, alt;
    int width;
    int prec;     /* -1: none */
};

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

/* Emit sign/prefix, zero padding, digits, honouring width and precision. */
static void emit_number(struct out *o, const struct spec *sp, const char *digits, int ndigits,
                        const char *prefix)
{
    int plen = (int)strlen(prefix);
    int zeros = sp->prec > ndigits ? sp->prec - ndigits : 0;
    int total = plen + zeros + ndigits;
    int fill = sp->width > total ? sp->width - total : 0;

    if (!sp->left && !(sp->zero && sp->prec < 0))
        pad(o, ' ', fill);
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    if (!sp->left && sp->zero && sp->prec < 0)
        pad(o, '0', fill);
    pad(o, '0', zeros);
    for (int i = 0; i < ndigits; i++)
        put(o, digits[i]);
    if (sp->left)
        pad(o, ' ', fill);
}

/*
 * `octal_alt` is %#o: C asks for the precision to grow just enough that the
 * first digit printed is a 0 (so 0 prints "0" even with precision 0, and
 * "%#.5o" of 8 is "00010", not "000010").  A leading '0' digit does exactly
 * that, and unlike a raised precision it keeps the '0' flag working.
 */
static void format_unsigned(struct out *o, const struct spec *sp, uint64_t v, unsigned base,
                            bool upper, const char *prefix, bool octal_alt)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    char digits[24];

    /* C: precision 0 with value 0 prints no digits (but see octal_alt). */
    if (v == 0 && sp->prec == 0 && !octal_alt) {
        emit_number(o, sp, "", 0, prefix);
        return;
    }
    do {
        tmp[n++] = set[v % base];
        v /= base;
    } while (v);
    if (octal_alt && tmp[n - 1] != '0')
        tmp[n++] = '0';
    for (int i = 0; i < n; i++)
        digits[i] = tmp[n - 1 - i];
    emit_number(o, sp, digits, n, prefix);
}

/*
 * Read a decimal width or precision.  It saturates at FORMAT_MAX_FIELD: no
 * kernel message wants a wider field, and a bogus '*' argument must not make
 * printk pad for seconds with interrupts off (or overflow an int).
 */
static int clamp_field(long long v)
{
    return v > FORMAT_MAX_FIELD ? FORMAT_MAX_FIELD : (int)v;
}

static int read_field(const char **fmt)
{
    long long v = 0;
    while (**fmt >= '0' && **fmt <= '9') {
        if (v <= FORMAT_MAX_FIELD)
            v = v * 10 + (**fmt - '0');
        (*fmt)++;
    }
    return clamp_field(v);
}

static void format_string(struct out *o, const struct spec *sp, const char *s)
{
    if (!s)
        s = "(null)";
    int len = (int)(sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s));
    int fill = sp->width > len ? sp->width - len : 0;
    if (!sp->left)
        pad(o, ' ', fill);
    for (int i = 0; i < len; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', fill);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        struct spec sp = { .prec = -1 };
        for (;; fmt++) {
            if (*fmt == '-') sp.left = true;
            else if (*fmt == '0') sp.zero = true;
            else if (*fmt == '+') sp.plus = true;
            else if (*fmt == ' ') sp.space = true;
            else if (*fmt == '#') sp.alt = true;
            else break;
        }
        if (*fmt == '*') {
            /* A negative '*' width means '-' and its magnitude (C11 7.21.6.1);
             * widened first so INT_MIN negates without overflow. */
            long long w = va_arg(ap, int);
            if (w < 0) {
                sp.left = true;
                w = -w;
            }
            sp.width = clamp_field(w);
            fmt++;
        } else {
            sp.width = read_field(&fmt);
        }
        if (*fmt == '.') {
            fmt++;
            sp.prec = 0;
            if (*fmt == '*') {
                int p = va_arg(ap, int);
                sp.prec = p < 0 ? -1 : clamp_field(p);   /* negative: as if omitted */
                fmt++;
            } else {
                sp.prec = read_field(&fmt);
            }
        }
        int lng = 0;   /* -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t */
        for (;; fmt++) {
            if (*fmt == 'h') lng--;
            else if (*fmt == 'l') lng++;
            else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') lng = 2;
            else break;
        }

        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v;
            if (lng >= 1) v = lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
            else v = va_arg(ap, int);
            if (lng == -1) v = (short)v;
            if (lng <= -2) v = (signed char)v;
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            const char *prefix = v < 0 ? "-" : sp.plus ? "+" : sp.space ? " " : "";
            format_unsigned(&o, &sp, mag, 10, false, prefix, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            if (lng >= 1) v = lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
            else v = va_arg(ap, unsigned int);
            if (lng == -1) v = (unsigned short)v;
            if (lng <= -2) v = (unsigned char)v;
            unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
            const char *prefix = "";
            if (sp.alt && v && base == 16)
                prefix = *fmt == 'x' ? "0x" : "0X";
            format_unsigned(&o, &sp, v, base, *fmt == 'X', prefix, sp.alt && base == 8);
            break;
        }
        case 'p': {
            struct spec ps = sp;
            ps.prec = 16;
            ps.zero = false;
            format_unsigned(&o, &ps, (uintptr_t)va_arg(ap, void *), 16, false, "0x", false);
            break;
        }
        case 's':
            format_string(&o, &sp, va_arg(ap, const char *));
            break;
        case 'c': {
            char c[2] = { (char)va_arg(ap, int), 0 };
            struct spec cs = sp;
            cs.prec = 1;
            if (c[0] == 0) {   /* a NUL char still counts as one character */
                int fill = sp.width > 1 ? sp.width - 1 : 0;
                if (!sp.left) pad(&o, ' ', fill);
                put(&o, 0);
                if (sp.left) pad(&o, ' ', fill);
            } else {
                format_string(&o, &cs, c);
            }
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case '\0':
            fmt--;   /* a lone '%' at the end: print nothing more */
            break;
        default:     /* unknown conversion: print it as written */
            put(&o, '%');
            put(&o, *fmt);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    /* Fields are bounded, but a format may hold many of them. */
    return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
