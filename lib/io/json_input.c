/* JSON text for libyaml, rewritten as it streams (see json_input.h). */
#include "io/json_input.h"

#include <string.h>

/* The longest stretch one rewrite looks at: a surrogate pair "\uD83D\uDE00". */
#define LOOKAHEAD 12

void ce_json_input_memory(ce_json_input *in, const char *data, size_t len)
{
    memset(in, 0, sizeof *in);
    in->data = data;
    in->len = len;
    in->eof = true;
}

void ce_json_input_file(ce_json_input *in, FILE *f, size_t max)
{
    memset(in, 0, sizeof *in);
    in->file = f;
    in->data = in->window;
    in->max = max;
}

/* Keep at least LOOKAHEAD bytes ahead unless the file ends first. */
static void refill(ce_json_input *in)
{
    if (in->eof || in->len - in->pos >= LOOKAHEAD)
        return;
    size_t keep = in->len - in->pos;
    memmove(in->window, in->window + in->pos, keep);
    size_t got = fread(in->window + keep, 1, CE_JSON_INPUT_WINDOW - keep, in->file);
    in->pos = 0;
    in->len = keep + got;
    in->total += got;
    if (got == 0) {
        in->eof = true;
        in->read_error = ferror(in->file) != 0;
    }
    if (in->total > in->max) {
        in->too_big = true;
        in->eof = true;
    }
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static unsigned put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of a raw character inside a string that YAML would reject or fold,
 * with its code point; 0 when the bytes at p are fine as they are. */
static size_t yaml_unsafe(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    if (p[0] == 0x7F) {
        *cp = 0x7F;
        return 1;
    }
    if (p[0] == 0xC2 && end - p >= 2 && p[1] >= 0x80 && p[1] <= 0x9F) {
        *cp = p[1];
        return 2;
    }
    if (p[0] == 0xEF && end - p >= 3 && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
        *cp = 0xFFFEu + (unsigned)(p[2] - 0xBE);
        return 3;
    }
    /* U+2028 and U+2029: line breaks to YAML 1.1, which then trims the
     * spaces and tabs on both sides ("a\u2028  b" came out as "a\u2028b") */
    if (p[0] == 0xE2 && end - p >= 3 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
        *cp = 0x2028u + (unsigned)(p[2] - 0xA8);
        return 3;
    }
    return 0;
}

static const char hexdigits[] = "0123456789ABCDEF";

/* Rewrite the unit at in->pos inside a string into in->pend: a surrogate
 * pair becomes UTF-8, a YAML-unsafe character a \u escape, any other escape
 * stays (the character after the backslash is copied as it is). Lone
 * surrogates are left for libyaml to reject. */
static void string_unit(ce_json_input *in)
{
    const char *p = in->data + in->pos, *end = in->data + in->len;
    unsigned cp, hi, lo;
    size_t unsafe = yaml_unsafe((const unsigned char *)p, (const unsigned char *)end, &cp);
    if (unsafe) {
        memcpy(in->pend, "\\u", 2);
        for (int i = 0; i < 4; i++)
            in->pend[2 + i] = hexdigits[(cp >> (12 - 4 * i)) & 0xF];
        in->pend_len = 6;
        in->pos += unsafe;
    } else if (p[0] == '\\' && end - p >= 12 && p[1] == 'u' && hex4(p + 2, end, &hi) &&
               hi >= 0xD800 && hi < 0xDC00 && p[6] == '\\' && p[7] == 'u' &&
               hex4(p + 8, end, &lo) && lo >= 0xDC00 && lo < 0xE000) {
        in->pend_len = put_utf8(in->pend, 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
        in->pos += 12;
    } else if (p[0] == '\\' && end - p >= 2) {
        in->pend[0] = p[0];
        in->pend[1] = p[1];
        in->pend_len = 2;
        in->pos += 2;
    } else {
        in->in_string = p[0] != '"';
        in->pend[0] = p[0];
        in->pend_len = 1;
        in->pos++;
    }
    in->pend_pos = 0;
}

/* Bytes inside a string that string_unit leaves as they are. */
static size_t plain_run(const char *p, size_t avail, size_t room)
{
    size_t n = avail < room ? avail : room, k = 0;
    while (k < n) {
        unsigned char c = (unsigned char)p[k];
        if (c == '"' || c == '\\' || c == 0x7F || c == 0xC2 || c == 0xE2 || c == 0xEF)
            break;
        k++;
    }
    return k;
}

static bool is_object(const ce_json_input *in, size_t d)
{
    return d < CE_JSON_INPUT_DEPTH && (in->objects[d / 8] >> (d % 8) & 1);
}

/* Bytes outside strings up to the next quote (at most n), into out: tabs
 * as spaces (JSON's white space, where YAML refuses a tab before the first
 * token), and the containers they open and close noted. */
static size_t structure_run(ce_json_input *in, const char *p, size_t n, unsigned char *out)
{
    size_t i = 0;
    for (; i < n && p[i] != '"'; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '{' || c == '[') {
            if (in->depth < CE_JSON_INPUT_DEPTH) {
                unsigned char *byte = &in->objects[in->depth / 8];
                unsigned bit = 1u << (in->depth % 8);
                *byte = (unsigned char)(c == '{' ? *byte | bit : *byte & ~bit);
            }
            in->depth++;
            in->expect_key = c == '{';
        } else if (c == '}' || c == ']') {
            in->depth -= in->depth > 0;
            in->expect_key = false;
        } else if (c == ':') {
            in->expect_key = false;
        } else if (c == ',') {
            in->expect_key = in->depth > 0 && is_object(in, in->depth - 1);
        } else if (c == '\t') {
            c = ' ';
        }
        if (!in->opening && c < 0x80 && c != ' ' && c != '\n' && c != '\r')
            in->opening = c;
        out[i] = c;
    }
    return i;
}

/* The quote at in->pos opens a string: an object's key in a document that
 * opens with '{' or '[' goes as an explicit key. */
static void open_string(ce_json_input *in)
{
    bool key = in->expect_key && (in->opening == '{' || in->opening == '[');
    if (!in->opening)
        in->opening = '"';
    memcpy(in->pend, key ? "? \"" : "\"", key ? 3 : 1);
    in->pend_len = key ? 3 : 1;
    in->pend_pos = 0;
    in->expect_key = false;
    in->in_string = true;
    in->pos++;
}

int ce_json_input_read(void *data, unsigned char *buffer, size_t size, size_t *size_read)
{
    ce_json_input *in = data;
    size_t o = 0;
    while (o < size) {
        if (in->pend_pos < in->pend_len) {
            buffer[o++] = (unsigned char)in->pend[in->pend_pos++];
            continue;
        }
        if (in->file)
            refill(in);
        if (in->too_big || in->read_error)
            return 0;
        if (in->pos >= in->len)
            break;
        if (in->in_string) {
            size_t n = plain_run(in->data + in->pos, in->len - in->pos, size - o);
            if (n == 0) {
                string_unit(in);
                continue;
            }
            memcpy(buffer + o, in->data + in->pos, n);
            o += n;
            in->pos += n;
            continue;
        }
        size_t n = in->len - in->pos < size - o ? in->len - in->pos : size - o;
        n = structure_run(in, in->data + in->pos, n, buffer + o);
        o += n;
        in->pos += n;
        if (in->pos < in->len && in->data[in->pos] == '"' && o < size)
            open_string(in);
    }
    *size_read = o;
    return 1;
}
