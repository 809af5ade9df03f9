/* BERT's normaliser and pre-tokeniser against Hugging Face on every code
 * point: test/fixtures/tokenizers/bert-unicode/ holds what HF's Rust core does
 * (written by test/gen/gen_bert_unicode.mjs). Each code point U+0000..U+10FFFF
 * but the surrogates goes alone through ce_bert_normalize + ce_bert_pretokenize
 * under three configurations (uncased: lowercase + strip accents; cased:
 * neither; strip: strip accents only), and the words must be those the data
 * predicts, which the generator checked against HF for every one of them. The
 * multi-character probes (marks after letters and their order, decomposition
 * + lowercase, Hangul, full width, ...) carry HF's own words. This file reads
 * the data itself, so it does not share a line with the library's tables. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"
#include "tokenizers/bert_chars.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"

#define N_CP 0x110000
enum { DEL = 1, SPACE = 2, PUNCT = 4, CJK = 8, MN = 16 };

/* ---- the data, one entry per code point ------------------------------------- */

static uint8_t *cls;     /* D S P J M bits */
static uint8_t *ccc;     /* combining class */
static uint32_t *nfd_at; /* NFD of cp: nfd_pool[nfd_at[cp] .. + nfd_n[cp]); n 0 = itself */
static uint8_t *nfd_n;
static uint32_t *nfd_pool;
static size_t nfd_used, nfd_cap;
static uint32_t *lower1;           /* single lowercase, or 0 when not mapped */
static uint32_t lower_multi[8][4]; /* {cp, n, ...} */
static size_t n_lower_multi;
static uint32_t hangul_lo, hangul_hi;

static const char *const CONFIG_NAMES[3] = {"uncased", "cased", "strip"};
static const ce_bert_normalizer CONFIGS[3] = {
    {true, true, true, true}, {true, true, false, false}, {true, true, true, false}};

static char *data_path(const char *file)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/bert-unicode/%s", ce_test_fixtures(), file);
    return path;
}

static size_t hex_fields(const char *s, uint32_t *out, size_t cap)
{
    size_t n = 0;
    char *end;
    for (;;) {
        while (*s == ' ')
            s++;
        unsigned long v = strtoul(s, &end, 16);
        if (end == s)
            return n;
        if (n == cap)
            ck_abort_msg("more than %zu code points on a line", cap);
        out[n++] = (uint32_t)v;
        s = end;
    }
}

static void load_chars(void)
{
    size_t len;
    char *text = ce_test_read_file(data_path("hf_bert_chars.txt"), &len);
    ck_assert_msg(text != NULL, "cannot read %s", data_path("hf_bert_chars.txt"));
    cls = calloc(N_CP, 1);
    ccc = calloc(N_CP, 1);
    nfd_at = calloc(N_CP, sizeof *nfd_at);
    nfd_n = calloc(N_CP, 1);
    lower1 = calloc(N_CP, sizeof *lower1);
    ck_assert(cls && ccc && nfd_at && nfd_n && lower1);
    size_t records = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char tag = line[0];
        uint32_t f[8];
        size_t n = hex_fields(line + 1, f, 8);
        records++;
        const char *bits = "DSPJM";
        const char *b = strchr(bits, tag);
        if (b && tag) {
            ck_assert(n == 1 || n == 2);
            for (uint32_t cp = f[0]; cp <= f[n - 1]; cp++)
                cls[cp] |= (uint8_t)(1u << (b - bits));
        } else if (tag == 'C') {
            unsigned lo, hi, v;
            ck_assert_int_eq(sscanf(line + 1, "%x %x %u", &lo, &hi, &v), 3);
            for (uint32_t cp = lo; cp <= hi; cp++)
                ccc[cp] = (uint8_t)v;
        } else if (tag == 'H') {
            ck_assert_uint_eq(n, 2);
            hangul_lo = f[0], hangul_hi = f[1];
        } else if (tag == 'N') {
            ck_assert(n >= 2 && n <= 1 + CE_BERT_MAX_NFD);
            if (nfd_used + n > nfd_cap) {
                nfd_cap = nfd_cap ? 2 * nfd_cap : 4096;
                nfd_pool = realloc(nfd_pool, nfd_cap * sizeof *nfd_pool);
                ck_assert(nfd_pool != NULL);
            }
            nfd_at[f[0]] = (uint32_t)nfd_used;
            nfd_n[f[0]] = (uint8_t)(n - 1);
            memcpy(nfd_pool + nfd_used, f + 1, (n - 1) * sizeof *f);
            nfd_used += n - 1;
        } else if (tag == 'L') {
            unsigned lo, hi, step;
            int delta;
            ck_assert_int_eq(sscanf(line + 1, "%x %x %d %u", &lo, &hi, &delta, &step), 4);
            for (uint32_t cp = lo; cp <= hi; cp += step)
                lower1[cp] = (uint32_t)((int32_t)cp + delta);
        } else if (tag == 'X') {
            ck_assert(n >= 2 && n <= 1 + CE_BERT_MAX_LOWER && n_lower_multi < 8);
            lower_multi[n_lower_multi][0] = f[0];
            lower_multi[n_lower_multi][1] = (uint32_t)(n - 1);
            memcpy(&lower_multi[n_lower_multi][2], f + 1, (n - 1) * sizeof *f);
            n_lower_multi++;
        } else {
            ck_abort_msg("unknown record: %s", line);
        }
    }
    free(text);
    ck_assert_uint_gt(records, 1000);
    ck_assert(hangul_lo == 0xAC00 && hangul_hi == 0xD7A3);
}

static size_t want_nfd(uint32_t cp, uint32_t *out)
{
    if (cp >= hangul_lo && cp <= hangul_hi) {
        uint32_t s = cp - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + (s % 588) / 28;
        out[2] = 0x11A7 + t;
        return t ? 3 : 2;
    }
    if (!nfd_n[cp]) {
        out[0] = cp;
        return 1;
    }
    memcpy(out, nfd_pool + nfd_at[cp], nfd_n[cp] * sizeof *out);
    return nfd_n[cp];
}

static size_t want_lower(uint32_t cp, uint32_t *out)
{
    for (size_t i = 0; i < n_lower_multi; i++) {
        if (lower_multi[i][0] == cp) {
            memcpy(out, &lower_multi[i][2], lower_multi[i][1] * sizeof *out);
            return lower_multi[i][1];
        }
    }
    out[0] = lower1[cp] ? lower1[cp] : cp;
    return 1;
}

/* What HF's normaliser makes of cp alone under configuration c. */
static size_t want_normalized(uint32_t cp, int c, uint32_t *out)
{
    const ce_bert_normalizer *cfg = &CONFIGS[c];
    if (cls[cp] & DEL)
        return 0;
    if (cls[cp] & SPACE) {
        out[0] = ' ';
        return 1;
    }
    uint32_t body[CE_BERT_MAX_NFD * CE_BERT_MAX_LOWER], d[CE_BERT_MAX_NFD];
    size_t n = 0, nd = cfg->strip_accents ? want_nfd(cp, d) : (d[0] = cp, 1);
    for (size_t i = 0; i < nd; i++) {
        if (cfg->strip_accents && (cls[d[i]] & MN))
            continue;
        n += cfg->lowercase ? want_lower(d[i], body + n) : (body[n] = d[i], 1);
    }
    size_t k = 0;
    if (cls[cp] & CJK)
        out[k++] = ' ';
    memcpy(out + k, body, n * sizeof *out);
    k += n;
    if (cls[cp] & CJK)
        out[k++] = ' ';
    return k;
}

/* ---- the library's words -------------------------------------------------- */

typedef struct words {
    size_t a[64], b[64], n;
} words;

static ce_status on_word(void *ctx, size_t a, size_t b)
{
    words *w = ctx;
    if (w->n == 64)
        return CE_ERR_INVALID_ARGUMENT;
    w->a[w->n] = a;
    w->b[w->n] = b;
    w->n++;
    return CE_OK;
}

/* "U+0041 U+0301" for messages */
static const char *show(const uint32_t *v, size_t n)
{
    static char buf[4][512];
    static int which;
    char *o = buf[which++ & 3];
    size_t k = 0;
    o[0] = '\0';
    for (size_t i = 0; i < n && k < 480; i++)
        k += (size_t)snprintf(o + k, 512 - k, "%sU+%04X", i ? " " : "", (unsigned)v[i]);
    return o;
}

/* Normalise + pre-tokenise text under configuration c: the words' code
 * points, one after the other, with 0x110000 (no code point) between words;
 * SIZE_MAX when a call fails or cap is too small. (No ck_assert in the loops
 * of millions: Check reports every passing one through a pipe.) */
static size_t library_words(const char *text, size_t len, int c, uint32_t *out, size_t cap,
                            ce_nchar_buf *nb)
{
    nb->n = 0;
    words w = {.n = 0};
    if (ce_bert_normalize(&CONFIGS[c], text, 0, len, nb) != CE_OK ||
        ce_bert_pretokenize(nb->v, 0, nb->n, on_word, &w) != CE_OK)
        return SIZE_MAX;
    size_t k = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (k + (i > 0) + (w.b[i] - w.a[i]) > cap)
            return SIZE_MAX;
        if (i)
            out[k++] = 0x110000; /* separator: not a code point */
        for (size_t j = w.a[i]; j < w.b[i]; j++)
            out[k++] = nb->v[j].cp;
    }
    return k;
}

/* The data's words of a normalised text, joined as library_words does. */
static size_t predicted_words(const uint32_t *norm, size_t n, uint32_t *out)
{
    size_t k = 0;
    bool in_word = false, any = false;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = norm[i];
        if (cls[x] & (SPACE | PUNCT)) {
            in_word = false;
            if (cls[x] & SPACE)
                continue;
            if (any)
                out[k++] = 0x110000;
            out[k++] = x;
            any = true;
            continue;
        }
        if (!in_word && any)
            out[k++] = 0x110000;
        out[k++] = x;
        in_word = any = true;
    }
    return k;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_every_code_point)
{
    int c = _i;
    ce_nchar_buf nb = {0};
    size_t checked = 0, bad = 0;
    for (uint32_t cp = 0; cp < N_CP; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char text[4];
        size_t len = ce_utf8_put(text, cp);
        uint32_t want_norm[16], want[32], got[64];
        size_t nw = want_normalized(cp, c, want_norm);
        size_t nwords = predicted_words(want_norm, nw, want);
        size_t ng = library_words(text, len, c, got, 64, &nb);
        /* the normalised characters themselves, and their spans */
        bool ok = nb.n == nw;
        for (size_t i = 0; ok && i < nw; i++)
            ok = nb.v[i].cp == want_norm[i] && nb.v[i].start == 0 && nb.v[i].end == len;
        ok = ok && ng == nwords && memcmp(got, want, ng * sizeof *got) == 0;
        if (!ok && bad++ < 20) {
            uint32_t norm[16];
            for (size_t i = 0; i < nb.n && i < 16; i++)
                norm[i] = nb.v[i].cp;
            fprintf(stderr, "%s U+%04X: normalised to [%s], HF [%s]\n", CONFIG_NAMES[c],
                    (unsigned)cp, show(norm, nb.n < 16 ? nb.n : 16), show(want_norm, nw));
        }
        checked++;
    }
    ce_nchar_buf_free(&nb);
    fprintf(stderr, "%s: %zu code points, %zu differ from Hugging Face\n", CONFIG_NAMES[c], checked,
            bad);
    ck_assert_uint_eq(checked, 1112064);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* The tables one by one, including the combining classes, which one code
 * point alone never shows. */
START_TEST(test_tables)
{
    size_t bad = 0;
    for (uint32_t cp = 0; cp < N_CP; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        uint32_t d[CE_BERT_MAX_NFD], wd[CE_BERT_MAX_NFD], l[CE_BERT_MAX_LOWER],
            wl[CE_BERT_MAX_LOWER];
        size_t nd = ce_bert_nfd(cp, d), nwd = want_nfd(cp, wd);
        size_t nl = ce_bert_lower(cp, l), nwl = want_lower(cp, wl);
        bool ok = ce_bert_class(cp) == cls[cp] && ce_bert_ccc(cp) == ccc[cp] && nd == nwd &&
                  memcmp(d, wd, nd * sizeof *d) == 0 && nl == nwl &&
                  memcmp(l, wl, nl * sizeof *l) == 0;
        if (!ok && bad++ < 20)
            fprintf(stderr, "U+%04X: class %u/%u ccc %d/%d nfd [%s]/[%s] lower [%s]/[%s]\n",
                    (unsigned)cp, ce_bert_class(cp), cls[cp], ce_bert_ccc(cp), ccc[cp], show(d, nd),
                    show(wd, nwd), show(l, nl), show(wl, nwl));
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(ce_bert_class(0x110000), 0);
}
END_TEST

START_TEST(test_probes)
{
    size_t len;
    char *text = ce_test_read_file(data_path("hf_bert_probes.txt"), &len);
    ck_assert_msg(text != NULL, "cannot read %s", data_path("hf_bert_probes.txt"));
    ce_nchar_buf nb = {0};
    char utf8[512];
    size_t ulen = 0, probes = 0, checks = 0, bad = 0;
    uint32_t input[128];
    size_t n_input = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        if (line[0] == 'T') {
            n_input = hex_fields(line + 1, input, 128);
            ulen = 0;
            for (size_t i = 0; i < n_input; i++)
                ulen += ce_utf8_put(utf8 + ulen, input[i]);
            probes++;
            continue;
        }
        const char *which = strchr("UCS", line[0]);
        ck_assert_msg(which && line[0] && (line[1] == ' ' || line[1] == '\0'), "bad line: %s",
                      line);
        int c = (int)(which - "UCS");
        uint32_t want[256], got[256];
        size_t nw = 0;
        for (const char *p = line + 1; *p;) {
            const char *slash = strchr(p, '/');
            size_t seg = slash ? (size_t)(slash - p) : strlen(p);
            char part[1024];
            ck_assert_uint_lt(seg, sizeof part);
            memcpy(part, p, seg);
            part[seg] = '\0';
            if (nw)
                want[nw++] = 0x110000;
            nw += hex_fields(part, want + nw, 256 - nw);
            p += seg + (slash ? 1 : 0);
        }
        size_t ng = library_words(utf8, ulen, c, got, 256, &nb);
        checks++;
        if ((ng != nw || memcmp(got, want, ng * sizeof *got) != 0) && bad++ < 20)
            fprintf(stderr, "%s [%s]: words [%s], HF [%s]\n", CONFIG_NAMES[c], show(input, n_input),
                    show(got, ng), show(want, nw));
    }
    ce_nchar_buf_free(&nb);
    free(text);
    fprintf(stderr, "probes: %zu texts, %zu checks, %zu differ from Hugging Face\n", probes, checks,
            bad);
    ck_assert_uint_gt(probes, 100);
    ck_assert_uint_eq(checks, 3 * probes);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bert-unicode");
    TCase *tc = tcase_create("hf");
    tcase_add_unchecked_fixture(tc, load_chars, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_every_code_point, 0, 3);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_probes);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
