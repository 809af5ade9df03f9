/* Compact JSON output: see json_writer.h. */
#include "json_writer.h"

#include <math.h>
#include <string.h>

void cli_json_key(FILE *f, const char *key, int *first)
{
    if (!*first)
        fputc(',', f);
    *first = 0;
    cli_json_string(f, key, strlen(key));
    fputc(':', f);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (avail < n)
        return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
        return 0; /* overlong, beyond Unicode, or a surrogate */
    return n;
}

static void write_escaped_ascii(FILE *f, unsigned char c)
{
    switch (c) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    case '\b': fputs("\\b", f); break;
    case '\f': fputs("\\f", f); break;
    default:
        if (c < 0x20 || c == 0x7F)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

void cli_json_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_valid_len(p + i, len - i);
        if (n == 0) {
            fputs("\\ufffd", f);
            i++;
        } else if (n == 1) {
            write_escaped_ascii(f, p[i++]);
        } else {
            fwrite(p + i, 1, n, f);
            i += n;
        }
    }
    fputc('"', f);
}

void cli_json_float(FILE *f, float v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", (double)v);
    else
        fputs("null", f);
}

void cli_json_int_array(FILE *f, const int32_t *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ",%ld" : "%ld", (long)v[i]);
    fputc(']', f);
}

void cli_json_size_array(FILE *f, const size_t *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ",%zu" : "%zu", v[i]);
    fputc(']', f);
}

void cli_json_float_array(FILE *f, const float *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        cli_json_float(f, v[i]);
    }
    fputc(']', f);
}

void cli_json_pairs(FILE *f, const size_t *v, size_t n_pairs)
{
    fputc('[', f);
    for (size_t i = 0; i < n_pairs; i++)
        fprintf(f, i ? ",[%zu,%zu]" : "[%zu,%zu]", v[2 * i], v[2 * i + 1]);
    fputc(']', f);
}
