/* The encode and decode pipelines shared by every tokenizer kind: check the
 * UTF-8, cut added tokens out of the raw text, let the kind tokenise the
 * stretches between them, truncate, lay out the template. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/byte_level.h"
#include "tokenizers/input_case.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

static ce_status check_utf8(const char *text, size_t len, const char *which)
{
    size_t bad = ce_utf8_valid_prefix(text, len);
    if (bad != len)
        return ce_error(CE_ERR_INVALID_UTF8, "%s: invalid UTF-8 at byte %zu", which, bad);
    return CE_OK;
}

/* Spaces (white space or ByteLevel's '\u0120') at the start, or the end, of text[a, b). */
static size_t count_spaces(const char *text, size_t a, size_t b, bool from_end)
{
    size_t lead = 0, run = 0, pos = a;
    bool other = false;
    uint32_t cp;
    while (pos < b && ce_utf8_next(text, b, &pos, &cp)) {
        bool space = cp == 0x120 || ce_unicode_is_whitespace(cp);
        other |= !space;
        lead += space && !other;
        run = space ? run + 1 : 0;
    }
    return from_end ? run : lead;
}

/* An added token's span as ByteLevel's trim_offsets leaves it: the white
 * space lstrip / rstrip took in is not part of it (HF trims every token). */
static void trim_added(const ce_tokenizer *tok, const char *text, const ce_tok_list *out,
                       size_t *ms, size_t *me)
{
    size_t lead = count_spaces(text, *ms, *me, false), trail = count_spaces(text, *ms, *me, true);
    if (lead == 0 && trail == 0)
        return;
    ce_byte_level_trim(text, lead, trail, out->n == 0 || *ms == 0, tok->pp_add_prefix_space, ms,
                       me);
}

static ce_status encode_sequence(const ce_tokenizer *tok, const char *text, size_t len,
                                 bool skip_special, ce_tok_list *out)
{
    size_t prev = 0, ms, me;
    const ce_added_token *t;
    ce_added_scan scan;
    ce_status st = ce_added_scan_start(&scan, &tok->raw_set, text, len);
    while (st == CE_OK && ce_added_next(&scan, tok->added, prev, skip_special, &ms, &me, &t)) {
        st = ms > prev ? tok->ops->encode_segment(tok, text, prev, ms, skip_special, out) : CE_OK;
        size_t ts = ms, te = me;
        if (tok->pp_trim_offsets)
            trim_added(tok, text, out, &ts, &te);
        ce_tok_list_begin_word(out);
        if (st == CE_OK)
            st = ce_tok_list_push(out, t->id, ts, te);
        prev = me;
    }
    ce_added_scan_free(&scan);
    if (st != CE_OK)
        return st;
    return len > prev ? tok->ops->encode_segment(tok, text, prev, len, skip_special, out) : CE_OK;
}

/* text lower-cased as Python's str.lower() (full mapping); lo_start[i] /
 * lo_end[i] give the original span of the character lowered byte i came from. */
typedef struct lowered {
    char *s;
    size_t len;
    size_t *start, *end;
} lowered;

static void lowered_free(lowered *l)
{
    free(l->s);
    free(l->start);
    free(l->end);
}

static ce_status lower_text(const char *text, size_t len, lowered *l)
{
    size_t cap = len * 3 + 1; /* a character lowers to at most 2 of at most 3 bytes per input byte */
    l->s = malloc(cap);
    l->start = malloc(cap * sizeof *l->start);
    l->end = malloc(cap * sizeof *l->end);
    l->len = 0;
    if (!l->s || !l->start || !l->end)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory lower-casing %zu bytes", len);
    uint32_t cp, low[2];
    for (size_t pos = 0, a = 0; pos < len && ce_utf8_next(text, len, &pos, &cp); a = pos) {
        size_t n = ce_unicode_lower(cp, low);
        for (size_t k = 0; k < n; k++) {
            size_t w = ce_utf8_put(l->s + l->len, low[k]);
            for (size_t j = 0; j < w; j++) {
                l->start[l->len + j] = a;
                l->end[l->len + j] = pos;
            }
            l->len += w;
        }
    }
    return CE_OK;
}

static ce_status encode_lowered(const ce_tokenizer *tok, const char *text, size_t len,
                                bool skip_special, ce_tok_list *out)
{
    lowered l = {0};
    size_t first = out->n;
    ce_status st = lower_text(text, len, &l);
    if (st == CE_OK)
        st = encode_sequence(tok, l.s, l.len, skip_special, out);
    for (size_t i = first; st == CE_OK && i < out->n; i++) {
        size_t *o = out->offs + 2 * i;
        size_t s = o[0] < l.len ? l.start[o[0]] : len;
        size_t e = o[1] > o[0] ? l.end[o[1] - 1] : s;
        o[0] = s;
        o[1] = e;
    }
    lowered_free(&l);
    return st;
}

void ce_tokenizer_lowercase_input(ce_tokenizer *tok)
{
    tok->lowercase_input = true;
}

static ce_status encode_text(const ce_tokenizer *tok, const char *text, size_t len,
                             bool skip_special, ce_tok_list *out)
{
    if (tok->lowercase_input)
        return encode_lowered(tok, text, len, skip_special, out);
    return encode_sequence(tok, text, len, skip_special, out);
}

ce_status ce_tokenizer_encode_impl(const ce_tokenizer *tok, const char *text, size_t text_len,
                                   const char *pair, size_t pair_len, uint32_t flags,
                                   size_t max_length, ce_encoding **out)
{
    bool add_special = flags & CE_ENCODE_ADD_SPECIAL;
    bool skip_special = flags & CE_ENCODE_SPECIAL_AS_TEXT;
    const ce_template *tpl = pair ? &tok->pair : &tok->single;
    size_t n_special = add_special ? tpl->n_special : 0;
    if (max_length && max_length < n_special)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "max_length %zu leaves no room for the %zu special tokens", max_length,
                        n_special);
    ce_status st = check_utf8(text, text_len, "text");
    if (st == CE_OK && pair)
        st = check_utf8(pair, pair_len, "pair");
    if (st != CE_OK)
        return st;
    ce_tok_list a = {0}, b = {0};
    st = encode_text(tok, text, text_len, skip_special, &a);
    if (st == CE_OK && pair)
        st = encode_text(tok, pair, pair_len, skip_special, &b);
    if (st == CE_OK && max_length)
        ce_truncate_longest_first(&a, pair ? &b : NULL, max_length - n_special);
    if (st == CE_OK)
        st = ce_template_apply(tpl, &a, pair ? &b : NULL, add_special, out);
    ce_tok_list_free(&a);
    ce_tok_list_free(&b);
    return st;
}

ce_status ce_tokenizer_decode_impl(const ce_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                   uint32_t flags, ce_strbuf *out)
{
    ce_str *tokens = malloc((n_ids ? n_ids : 1) * sizeof *tokens);
    if (!tokens)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory decoding %zu ids", n_ids);
    size_t n = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= tok->n_ids || !tok->ids[id].s) {
            free(tokens);
            return ce_error(CE_ERR_OUT_OF_RANGE, "ids[%zu] = %d is not a token id (0..%zu)", i,
                            (int)id, tok->n_ids - 1);
        }
        if ((flags & CE_DECODE_SKIP_SPECIAL) && tok->ids[id].special)
            continue;
        tokens[n++] = (ce_str){tok->ids[id].s, tok->ids[id].len};
    }
    ce_status st = tok->ops->decode(tok, tokens, n, out);
    free(tokens);
    return st;
}
