/* GPT-2's byte-to-character map, its pre-tokenizer pattern written out by
 * hand (no regex library), and the byte-level decoder's pieces. */
#include "tokenizers/byte_level.h"

#include <string.h>
#include <utf8proc.h>

#include "tokenizers/unicode.h"

/* ---- bytes <-> characters ------------------------------------------------ */

static bool printable(uint8_t b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t ce_byte_level_char(uint8_t b)
{
    if (printable(b))
        return b;
    /* the n-th non-printable byte: 0x00..0x20 are n = 0..32, 0x7F..0xA0 are
     * 33..66, 0xAD is 67 */
    if (b <= 0x20)
        return 0x100u + b;
    if (b <= 0xA0)
        return 0x100u + 33 + (b - 0x7Fu);
    return 0x100u + 67;
}

size_t ce_byte_level_put(uint8_t b, char out[2])
{
    uint32_t cp = ce_byte_level_char(b);
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

int ce_byte_level_byte(uint32_t cp)
{
    if (cp < 0x100)
        return printable((uint8_t)cp) ? (int)cp : -1;
    if (cp <= 0x100 + 32)
        return (int)(cp - 0x100);
    if (cp <= 0x100 + 66)
        return (int)(cp - 0x100 - 33 + 0x7F);
    if (cp == 0x100 + 67)
        return 0xAD;
    return -1;
}

/* ---- the pre-tokenizer pattern ------------------------------------------- */

typedef enum cls { CLS_LETTER, CLS_NUMBER, CLS_SPACE, CLS_OTHER } cls;

/* \p{L}, \p{N}, \s (White_Space, as Oniguruma's and Rust's \s), or neither. */
static cls classify(uint32_t cp)
{
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
            return CLS_LETTER;
        if (cp >= '0' && cp <= '9')
            return CLS_NUMBER;
        return ce_unicode_is_whitespace(cp) ? CLS_SPACE : CLS_OTHER;
    }
    if (ce_unicode_is_whitespace(cp))
        return CLS_SPACE;
    switch (utf8proc_get_property((utf8proc_int32_t)cp)->category) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return CLS_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return CLS_NUMBER;
    default:
        return CLS_OTHER;
    }
}

/* Class of the character at s[*pos]; *pos moves past it. */
static cls next_class(const char *s, size_t len, size_t *pos)
{
    unsigned char c = (unsigned char)s[*pos];
    uint32_t cp = c;
    if (c < 0x80)
        (*pos)++;
    else if (!ce_utf8_next(s, len, pos, &cp))
        (*pos)++; /* not reached for valid UTF-8 */
    return classify(cp);
}

/* End of the run of characters of class k that starts at pos. */
static size_t run_end(const char *s, size_t len, size_t pos, cls k)
{
    while (pos < len) {
        size_t next = pos;
        if (next_class(s, len, &next) != k)
            break;
        pos = next;
    }
    return pos;
}

/* 's 't 're 've 'm 'll 'd (case-sensitive): length of the match or 0. */
static size_t contraction(const char *s, size_t len, size_t pos)
{
    if (s[pos] != '\'' || pos + 1 >= len)
        return 0;
    char a = s[pos + 1], b = pos + 2 < len ? s[pos + 2] : '\0';
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* \s+(?!\S)|\s+ from pos: the whole run when it ends the text; otherwise the
 * run less its last character, unless that leaves nothing. */
static size_t space_end(const char *s, size_t len, size_t pos)
{
    size_t last = pos, end = pos;
    while (end < len) {
        size_t next = end;
        if (next_class(s, len, &next) != CLS_SPACE)
            break;
        last = end;
        end = next;
    }
    return end == len || last == pos ? end : last;
}

size_t ce_byte_level_word_end(const char *s, size_t len, size_t pos)
{
    size_t n = contraction(s, len, pos);
    if (n)
        return pos + n;
    size_t next = pos;
    cls k = next_class(s, len, &next);
    if (s[pos] == ' ' && next < len) {
        /* " ?X+": a space joins the run of letters, digits or others after it */
        size_t after = next;
        cls k2 = next_class(s, len, &after);
        if (k2 != CLS_SPACE)
            return run_end(s, len, after, k2);
    }
    if (k == CLS_SPACE)
        return space_end(s, len, pos);
    return run_end(s, len, next, k);
}

/* ---- decoding -------------------------------------------------------------- */

ce_status ce_byte_level_token_bytes(const char *s, size_t len, ce_strbuf *out)
{
    char tmp[64];
    size_t n = 0, pos = 0, mark = out->len;
    ce_status st = CE_OK;
    while (pos < len && st == CE_OK) {
        uint32_t cp;
        int b = -1;
        if (ce_utf8_next(s, len, &pos, &cp))
            b = ce_byte_level_byte(cp);
        if (b < 0) { /* not byte-level text: the token's own bytes */
            out->len = mark;
            return ce_strbuf_append(out, s, len);
        }
        tmp[n++] = (char)b;
        if (n == sizeof tmp) {
            st = ce_strbuf_append(out, tmp, n);
            n = 0;
        }
    }
    return st == CE_OK ? ce_strbuf_append(out, tmp, n) : st;
}

size_t ce_utf8_invalid_prefix(const char *s, size_t len, bool *incomplete)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    *incomplete = false;
    if (c < 0x80)
        return 0;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the next byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
    } else {
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= len) {
            *incomplete = true;
            return i;
        }
        if (u[i] < lo || u[i] > hi)
            return i;
        lo = 0x80;
        hi = 0xBF;
    }
    return 0;
}

static size_t char_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

ce_status ce_utf8_append_lossy(ce_strbuf *out, const char *s, size_t len)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    size_t pos = 0, good = 0; /* s[good, pos) is valid and not yet copied */
    while (pos < len) {
        bool incomplete;
        size_t bad = ce_utf8_invalid_prefix(s + pos, len - pos, &incomplete);
        if (!bad) {
            pos += char_len((unsigned char)s[pos]);
            continue;
        }
        ce_status st = ce_strbuf_append(out, s + good, pos - good);
        if (st == CE_OK)
            st = ce_strbuf_append(out, fffd, 3);
        if (st != CE_OK)
            return st;
        pos += bad;
        good = pos;
    }
    return ce_strbuf_append(out, s + good, pos - good);
}

static bool utf8_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

void ce_byte_level_trim(const char *text, size_t lead, size_t trail, bool first,
                        bool add_prefix_space, size_t *start, size_t *end)
{
    if (lead && first && add_prefix_space && lead == 1)
        lead = 0;
    size_t s = *start, e = *end;
    for (; lead && s < e; lead--) /* offsets move by characters, as HF's do */
        for (s++; s < e && utf8_cont(text[s]); s++)
            ;
    if (trail && e >= trail)
        for (; trail && e > s; trail--)
            for (e--; e > s && utf8_cont(text[e]); e--)
                ;
    *start = s;
    *end = e;
}
