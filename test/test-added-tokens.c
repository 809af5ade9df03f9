/* Added-token matching (lib/tokenizers/added_automaton.c, added_tokens.c):
 * the automaton against a plain reference (every position compared with
 * every token, as the matcher did before) on random token sets and texts,
 * with Hugging Face's single_word, lstrip / rstrip and skipped specials;
 * and complexity checks: encoding the same text with 100,000 added tokens
 * costs about what it costs with 1,000, and tokens 1,000 bytes long cost
 * about what tokens 10 bytes long cost. Speed targets belong in the
 * benchmarks; these only bound ratios, with generous margins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contextembed/tokenizer.h"
#include "test-util.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

/* ---- the reference: Hugging Face's rules, one position at a time ------------------- */

static uint32_t ref_cp_before(const char *s, size_t p, size_t *start)
{
    size_t q = p - 1;
    while (q > 0 && ((unsigned char)s[q] & 0xC0) == 0x80)
        q--;
    size_t pos = q;
    uint32_t cp = 0xFFFD;
    ce_utf8_next(s, p, &pos, &cp);
    *start = q;
    return cp;
}

static uint32_t ref_cp_at(const char *s, size_t len, size_t *pos)
{
    uint32_t cp = 0xFFFD;
    if (!ce_utf8_next(s, len, pos, &cp))
        (*pos)++;
    return cp;
}

/* The longest pattern at p, the first given among equal ones. */
static const ce_added_pattern *ref_match_at(const ce_added_pattern *pats, size_t n, const char *s,
                                            size_t len, size_t p)
{
    const ce_added_pattern *best = NULL;
    for (size_t k = 0; k < n; k++)
        if (pats[k].len && pats[k].len <= len - p && !memcmp(s + p, pats[k].s, pats[k].len) &&
            (!best || pats[k].len > best->len))
            best = &pats[k];
    return best;
}

static bool ref_next(const ce_added_pattern *pats, size_t n, const ce_added_token *tokens,
                     const char *s, size_t len, size_t *pos, size_t prev_end, bool skip_special,
                     size_t *start, size_t *end, const ce_added_token **token)
{
    for (size_t p = *pos; p < len;) {
        const ce_added_pattern *pat = ref_match_at(pats, n, s, len, p);
        if (!pat) {
            p++;
            continue;
        }
        size_t ms = p, me = p + pat->len, q, qs, next;
        p = me;
        const ce_added_token *t = &tokens[pat->token];
        if (skip_special && t->special)
            continue;
        if (t->single_word) {
            next = me;
            if ((ms > 0 && ce_unicode_is_word(ref_cp_before(s, ms, &q))) ||
                (me < len && ce_unicode_is_word(ref_cp_at(s, len, &next))))
                continue;
        }
        if (t->lstrip) {
            for (q = ms; q > 0 && ce_unicode_is_whitespace(ref_cp_before(s, q, &qs));)
                q = qs;
            ms = q > prev_end ? q : prev_end;
        }
        if (t->rstrip) {
            for (q = me, next = me; q < len && ce_unicode_is_whitespace(ref_cp_at(s, len, &next));)
                q = next;
            me = q;
        }
        *pos = p;
        *start = ms;
        *end = me;
        *token = t;
        return true;
    }
    *pos = len;
    return false;
}

/* ---- random token sets and texts ----------------------------------------------------- */

static const char *const pieces[] = {"a", "b", "c", " ", " ", "\xC3\xA9", "\xE3\x80\x80", "_", "."};
#define N_PIECES (sizeof pieces / sizeof *pieces)

static void random_string(char *out, size_t max_pieces, unsigned *seed)
{
    size_t n = 1 + (size_t)rand_r(seed) % max_pieces;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        strcat(out, pieces[rand_r(seed) % N_PIECES]);
}

static void random_text(char *out, size_t max_pieces, ce_added_pattern *pats, size_t n,
                        unsigned *seed)
{
    size_t k = (size_t)rand_r(seed) % (max_pieces + 1);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        if (n && rand_r(seed) % 3 == 0) { /* plenty of matches and near-matches */
            const ce_added_pattern *p = &pats[rand_r(seed) % n];
            strncat(out, p->s, p->len);
        } else {
            strcat(out, pieces[rand_r(seed) % N_PIECES]);
        }
    }
}

START_TEST(test_same_as_reference)
{
    unsigned seed = 12345;
    char contents[16][64], text[4096];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)rand_r(&seed) % 12;
        ce_added_token tokens[16];
        ce_added_pattern pats[16];
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && rand_r(&seed) % 6 == 0) /* a duplicate content */
                strcpy(contents[i], contents[rand_r(&seed) % i]);
            else
                random_string(contents[i], 4, &seed);
            unsigned f = (unsigned)rand_r(&seed);
            tokens[i] = (ce_added_token){.content = contents[i], .len = strlen(contents[i]),
                                         .id = (int32_t)i, .special = f & 1,
                                         .single_word = (f >> 1) % 3 == 0, .lstrip = (f >> 3) & 1,
                                         .rstrip = (f >> 4) & 1};
            pats[i] = (ce_added_pattern){contents[i], strlen(contents[i]), (uint32_t)i};
        }
        if (n && rand_r(&seed) % 10 == 0)
            pats[0].len = 0; /* an empty token is ignored */
        ce_added_set set;
        ck_assert_int_eq(ce_added_set_build(&set, pats, n), CE_OK);
        random_text(text, 40, pats, n, &seed);
        size_t len = strlen(text);
        bool skip = rand_r(&seed) % 4 == 0;
        ce_added_scan scan;
        ck_assert_int_eq(ce_added_scan_start(&scan, &set, text, len), CE_OK);
        size_t pos = 0, prev = 0, s1, e1, s2, e2;
        const ce_added_token *t1, *t2;
        for (;;) {
            bool a = ref_next(pats, n, tokens, text, len, &pos, prev, skip, &s1, &e1, &t1);
            bool b = ce_added_next(&scan, tokens, prev, skip, &s2, &e2, &t2);
            ck_assert_msg(a == b, "iteration %d: text \"%s\": match %d vs %d", iter, text, a, b);
            if (!a)
                break;
            ck_assert_msg(s1 == s2 && e1 == e2 && t1 == t2,
                          "iteration %d: text \"%s\": [%zu, %zu) token %d vs [%zu, %zu) token %d",
                          iter, text, s1, e1, t1->id, s2, e2, t2->id);
            prev = e1;
        }
        ce_added_scan_free(&scan);
        ce_added_set_free(&set);
    }
}
END_TEST

/* A token that is a suffix or a prefix of another, and Hugging Face's examples. */
START_TEST(test_known_cases)
{
    static const struct {
        const char *tokens[4], *text;
        size_t spans[8]; /* start, end, ... of the matches, then 0, 0 */
        int ids[4];
    } cases[] = {
        {{"abcd", "bc", NULL}, "abcx", {1, 3, 0, 0}, {1}},
        {{"abcd", "bc", NULL}, "abcd", {0, 4, 0, 0}, {0}},
        {{"a", "abc", NULL}, "abx abc", {0, 1, 4, 7, 0, 0}, {0, 1}},
        {{"ab", "b", "bcd"}, "abcd", {0, 2, 0, 0}, {0}},
        {{"[MASK]", "[MASK", NULL}, "x [MASK] [MASK", {2, 8, 9, 14, 0, 0}, {0, 1}},
        {{"\xC3\xA9t\xC3\xA9", "t", NULL}, "\xC3\xA9t\xC3\xA9", {0, 5, 0, 0}, {0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        ce_added_token tokens[4];
        ce_added_pattern pats[4];
        size_t n = 0;
        for (; n < 4 && cases[c].tokens[n]; n++) {
            size_t len = strlen(cases[c].tokens[n]);
            tokens[n] = (ce_added_token){.content = cases[c].tokens[n], .len = len, .id = (int)n};
            pats[n] = (ce_added_pattern){cases[c].tokens[n], len, (uint32_t)n};
        }
        ce_added_set set;
        ck_assert_int_eq(ce_added_set_build(&set, pats, n), CE_OK);
        ce_added_scan scan;
        const char *text = cases[c].text;
        ck_assert_int_eq(ce_added_scan_start(&scan, &set, text, strlen(text)), CE_OK);
        size_t k = 0, s, e, prev = 0;
        const ce_added_token *t;
        while (ce_added_next(&scan, tokens, prev, false, &s, &e, &t)) {
            ck_assert_uint_eq(s, cases[c].spans[2 * k]);
            ck_assert_uint_eq(e, cases[c].spans[2 * k + 1]);
            ck_assert_int_eq(t->id, cases[c].ids[k]);
            prev = e;
            k++;
        }
        ck_assert_uint_eq(cases[c].spans[2 * k + 1], 0);
        ce_added_scan_free(&scan);
        ce_added_set_free(&set);
    }
}
END_TEST

/* ---- complexity ------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char tmpdir[] = "/tmp/ce-test-added-XXXXXX";

/* A WordPiece tokenizer.json: x, y, z and n added special tokens "<tK>"
 * (ids from 6, matched in the raw text). */
static ce_tokenizer *open_with_added(size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/added-%zu.json", tmpdir, n);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": "
          "{\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"x\": 3, \"y\": 4, \"z\": 5}},\n"
          "\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},\n"
          "\"added_tokens\": [\n",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{\"id\":%zu,\"content\":\"<t%zu>\",\"special\":true}", i ? ",\n" : "",
                i + 6, i);
    fputs("]}\n", f);
    fclose(f);
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(path, &tok) == CE_OK, "%s", ce_last_error());
    unlink(path);
    return tok;
}

/* About @p bytes of "x <t5> y <t17> ..." using tokens "<t0>" .. "<t{n_used - 1}>";
 * *ids gets the ids it must encode to. */
static char *added_text(size_t bytes, size_t n_used, int32_t **ids, size_t *n_ids)
{
    char *text = malloc(bytes + 64);
    *ids = malloc((bytes / 2 + 1) * sizeof **ids);
    size_t len = 0, n = 0;
    unsigned seed = 7;
    while (len < bytes) {
        if (rand_r(&seed) % 2) {
            size_t k = (size_t)rand_r(&seed) % n_used;
            len += (size_t)sprintf(text + len, "<t%zu> ", k);
            (*ids)[n++] = (int32_t)(k + 6);
        } else {
            int w = rand_r(&seed) % 3;
            len += (size_t)sprintf(text + len, "%c ", "xyz"[w]);
            (*ids)[n++] = 3 + w;
        }
    }
    text[len] = '\0';
    *n_ids = n;
    return text;
}

/* The fastest of three encodings of @p text, checking the ids each time. */
static double encode_time(const ce_tokenizer *tok, const char *text, const int32_t *ids,
                          size_t n_ids)
{
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        ce_encoding *enc = NULL;
        double t0 = now();
        ck_assert_int_eq(ce_tokenizer_encode(tok, text, strlen(text), NULL, 0, 0, 0, &enc), CE_OK);
        double t = now() - t0;
        best = t < best ? t : best;
        ck_assert_uint_eq(ce_encoding_length(enc), n_ids);
        ck_assert_mem_eq(ce_encoding_ids(enc), ids, n_ids * sizeof *ids);
        ce_encoding_free(enc);
    }
    return best;
}

/* 1 MB with 1,000 and with 100,000 added tokens sharing their first byte:
 * the matcher compared each '<' with each of them (700 KB took 25 s with
 * 100,000). Only the ratio is asserted: the time itself is printed. */
START_TEST(test_many_added_tokens)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ce_tokenizer *few = open_with_added(1000), *many = open_with_added(100000);
    int32_t *ids;
    size_t n_ids;
    char *text = added_text(1024 * 1024, 1000, &ids, &n_ids);
    double t_few = encode_time(few, text, ids, n_ids), t_many = encode_time(many, text, ids, n_ids);
    printf("1 MB: %.3f s with 1,000 added tokens, %.3f s with 100,000\n", t_few, t_many);
    ck_assert_msg(t_many < 4 * t_few + 0.05, "100,000 added tokens: %.3f s, 1,000: %.3f s", t_many,
                  t_few);
    free(text);
    free(ids);
    ce_tokenizer_free(few);
    ce_tokenizer_free(many);
    rmdir(tmpdir);
}
END_TEST

static double scan_time(const ce_added_set *set, const char *text, size_t len, size_t *hits)
{
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        ce_added_scan scan;
        double t0 = now();
        ck_assert_int_eq(ce_added_scan_start(&scan, set, text, len), CE_OK);
        double t = now() - t0;
        best = t < best ? t : best;
        *hits = scan.n_hits;
        ce_added_scan_free(&scan);
    }
    return best;
}

/* Tokens "aaa...ab" of 10 and of 1,000 bytes in 1 MB of 'a' (and one 'b'):
 * a matcher that tries each position with a trie walks 1,000 bytes a
 * position; the automaton steps once a byte. */
START_TEST(test_long_added_tokens)
{
    size_t len = 1 << 20, hits[2];
    char *text = malloc(len);
    memset(text, 'a', len);
    text[len / 2] = 'b';
    double t[2];
    for (int k = 0; k < 2; k++) {
        size_t plen = k ? 1000 : 10;
        char *contents = malloc(100 * plen);
        ce_added_pattern pats[100];
        for (size_t i = 0; i < 100; i++) {
            char *c = contents + i * plen;
            memset(c, 'a', plen);
            c[plen - 1 - i % 5] = 'b'; /* a few distinct positions of the 'b' */
            pats[i] = (ce_added_pattern){c, plen, (uint32_t)i};
        }
        ce_added_set set;
        ck_assert_int_eq(ce_added_set_build(&set, pats, 100), CE_OK);
        t[k] = scan_time(&set, text, len, &hits[k]);
        ce_added_set_free(&set);
        free(contents);
    }
    printf("1 MB: %.4f s with tokens of 10 bytes, %.4f s with tokens of 1,000\n", t[0], t[1]);
    ck_assert_uint_eq(hits[0], 5);
    ck_assert_uint_eq(hits[1], 5);
    ck_assert_msg(t[1] < 4 * t[0] + 0.05, "tokens of 1,000 bytes: %.4f s, of 10: %.4f s", t[1],
                  t[0]);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("added-tokens");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_same_as_reference);
    tcase_add_test(tc, test_known_cases);
    tcase_add_test(tc, test_many_added_tokens);
    tcase_add_test(tc, test_long_added_tokens);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
