/* WordPiece: greedy longest-match-first over the vocabulary, "##" on pieces
 * that continue a word, one [UNK] for a word that cannot be covered or is
 * longer than max_input_chars_per_word characters. And its decoder. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"

typedef struct wp_ctx {
    const ce_tokenizer *tok;
    const ce_wordpiece *wp;
    const ce_nchar *v;  /* normalised characters */
    const char *bytes;  /* their UTF-8 */
    const size_t *cpos; /* byte offset of character i in bytes (n + 1 entries) */
    char *key;          /* prefix followed by room for the longest word */
    ce_tok_list *out;
} wp_ctx;

static ce_status push_unk(wp_ctx *c, size_t a, size_t b)
{
    return ce_tok_list_push(c->out, c->wp->unk_id, c->v[a].start, c->v[b - 1].end);
}

/* One word, characters [a, b). */
static ce_status wp_word(void *vctx, size_t a, size_t b)
{
    wp_ctx *c = vctx;
    ce_tok_list_begin_word(c->out);
    if (b - a > c->wp->max_chars)
        return push_unk(c, a, b);
    size_t mark = c->out->n;
    for (size_t s = a; s < b;) {
        size_t plen = s > a ? c->wp->prefix_len : 0;
        const char *key = c->bytes + c->cpos[s];
        if (plen) {
            memcpy(c->key + plen, key, c->cpos[b] - c->cpos[s]);
            key = c->key;
        }
        size_t e = b;
        int32_t id = -1;
        for (; e > s; e--) {
            size_t klen = plen + c->cpos[e] - c->cpos[s];
            if (klen <= c->tok->max_vocab_len && ce_strmap_get(&c->tok->vocab, key, klen, &id))
                break;
        }
        if (e == s) { /* nothing matches here: the whole word is unknown */
            c->out->n = mark;
            return push_unk(c, a, b);
        }
        ce_status st = ce_tok_list_push(c->out, id, c->v[s].start, c->v[e - 1].end);
        if (st != CE_OK)
            return st;
        s = e;
    }
    return CE_OK;
}

static ce_status tokenize_range(wp_ctx *c, size_t a, size_t b)
{
    if (c->wp->bert_pretokenizer)
        return ce_bert_pretokenize(c->v, a, b, wp_word, c);
    return b > a ? wp_word(c, a, b) : CE_OK;
}

/* Index of the character starting at byte offset off of the normalised text. */
static size_t char_at(const size_t *cpos, size_t n, size_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cpos[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Added tokens with normalized == true, looked for in the normalised text. */
static ce_status split_normalized(wp_ctx *c, size_t n, size_t blen, bool skip_special)
{
    const ce_tokenizer *tok = c->tok;
    size_t prev = 0, ms, me;
    const ce_added_token *t;
    ce_added_scan scan;
    ce_status st = ce_added_scan_start(&scan, &tok->norm_set, c->bytes, blen);
    while (st == CE_OK && ce_added_next(&scan, tok->added, prev, skip_special, &ms, &me, &t)) {
        size_t ca = char_at(c->cpos, n, ms), cb = char_at(c->cpos, n, me);
        st = tokenize_range(c, char_at(c->cpos, n, prev), ca);
        ce_tok_list_begin_word(c->out);
        if (st == CE_OK)
            st = ce_tok_list_push(c->out, t->id, c->v[ca].start, c->v[cb - 1].end);
        prev = me;
    }
    ce_added_scan_free(&scan);
    return st == CE_OK ? tokenize_range(c, char_at(c->cpos, n, prev), n) : st;
}

static ce_status wp_encode_segment(const ce_tokenizer *tok, const char *text, size_t start,
                                   size_t end, bool skip_special, ce_tok_list *out)
{
    const ce_wordpiece *wp = tok->model;
    ce_nchar_buf nb = {0};
    ce_status st = ce_bert_normalize(&wp->norm, text, start, end, &nb);
    if (st != CE_OK || nb.n == 0) {
        ce_nchar_buf_free(&nb);
        return st;
    }
    char *bytes = malloc(4 * nb.n + 1);
    size_t *cpos = malloc((nb.n + 1) * sizeof *cpos);
    char *key = malloc(wp->prefix_len + 4 * nb.n + 1);
    if (!bytes || !cpos || !key) {
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory tokenising %zu characters", nb.n);
    } else {
        size_t blen = 0;
        for (size_t i = 0; i < nb.n; i++) {
            cpos[i] = blen;
            blen += ce_utf8_put(bytes + blen, nb.v[i].cp);
        }
        cpos[nb.n] = blen;
        memcpy(key, wp->prefix, wp->prefix_len);
        wp_ctx c = {tok, wp, nb.v, bytes, cpos, key, out};
        st = tok->norm_set.n ? split_normalized(&c, nb.n, blen, skip_special)
                             : tokenize_range(&c, 0, nb.n);
    }
    free(bytes);
    free(cpos);
    free(key);
    ce_nchar_buf_free(&nb);
    return st;
}

static ce_status wp_normalize_pattern(const ce_tokenizer *tok, const char *s, size_t len,
                                      ce_strbuf *out)
{
    const ce_wordpiece *wp = tok->model;
    ce_nchar_buf nb = {0};
    ce_status st = ce_bert_normalize(&wp->norm, s, 0, len, &nb);
    for (size_t i = 0; st == CE_OK && i < nb.n; i++) {
        char u[4];
        st = ce_strbuf_append(out, u, ce_utf8_put(u, nb.v[i].cp));
    }
    ce_nchar_buf_free(&nb);
    return st;
}

/* Replace every from by to (to no longer than from), left to right. */
static size_t replace_all(char *s, size_t len, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), r = 0, w = 0;
    while (r < len) {
        if (len - r >= fl && memcmp(s + r, from, fl) == 0) {
            memmove(s + w, to, tl);
            w += tl;
            r += fl;
        } else {
            s[w++] = s[r++];
        }
    }
    return w;
}

size_t ce_wordpiece_cleanup(char *s, size_t len)
{
    static const char *const rules[][2] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
        {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
        {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        len = replace_all(s, len, rules[i][0], rules[i][1]);
    return len;
}

/* HF's WordPiece decoder works per token: strip the prefix or prepend a
 * space, then clean that piece up (so "y ' all" keeps its spaces). */
static ce_status wp_decode(const ce_tokenizer *tok, const ce_str *tokens, size_t n, ce_strbuf *out)
{
    const ce_wordpiece *wp = tok->model;
    ce_strbuf piece = {0};
    ce_status st = ce_strbuf_append(out, "", 0);
    for (size_t i = 0; st == CE_OK && i < n; i++) {
        const char *s = tokens[i].s;
        size_t len = tokens[i].len;
        piece.len = 0;
        if (!wp->wordpiece_decoder) {
            st = i ? ce_strbuf_append(out, " ", 1) : CE_OK;
            if (st == CE_OK)
                st = ce_strbuf_append(out, s, len);
            continue;
        }
        if (i != 0) {
            if (len >= wp->dec_prefix_len && !memcmp(s, wp->dec_prefix, wp->dec_prefix_len)) {
                s += wp->dec_prefix_len;
                len -= wp->dec_prefix_len;
            } else {
                st = ce_strbuf_append(&piece, " ", 1);
            }
        }
        if (st == CE_OK)
            st = ce_strbuf_append(&piece, s, len);
        if (st == CE_OK && wp->cleanup)
            piece.len = ce_wordpiece_cleanup(piece.data, piece.len);
        if (st == CE_OK)
            st = ce_strbuf_append(out, piece.data, piece.len);
    }
    ce_strbuf_free(&piece);
    return st;
}

static void wp_free(void *model)
{
    free(model);
}

const ce_tokenizer_ops ce_wordpiece_ops = {
    .kind = "wordpiece",
    .encode_segment = wp_encode_segment,
    .normalize_pattern = wp_normalize_pattern,
    .decode = wp_decode,
    .free_model = wp_free,
};
