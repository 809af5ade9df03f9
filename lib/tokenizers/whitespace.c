/* The "whitespace" tokenizer kind: words are the maximal runs of characters
 * that Python's str.isspace() rejects, which is how the ELMo references
 * tokenise (sentence.strip().split()). That is Unicode's White_Space plus the
 * information separators U+001C..U+001F. Ids are -1: ELMo reads the words'
 * characters, not a vocabulary. */
#include "tokenizers/whitespace.h"

#include "core/error.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

static bool is_space(uint32_t cp)
{
    return (cp >= 0x1C && cp <= 0x1F) || ce_unicode_is_whitespace(cp);
}

static ce_status ws_encode_segment(const ce_tokenizer *tok, const char *text, size_t start,
                                   size_t end, bool skip_special, ce_tok_list *out)
{
    (void)tok;
    (void)skip_special;
    size_t pos = start, word = start;
    bool in_word = false;
    while (pos < end) {
        size_t at = pos;
        uint32_t cp;
        if (!ce_utf8_next(text, end, &pos, &cp)) /* checked before: cannot happen */
            return ce_error(CE_ERR_INVALID_UTF8, "text: invalid UTF-8 at byte %zu", at);
        if (is_space(cp) && in_word) {
            ce_tok_list_begin_word(out);
            ce_status st = ce_tok_list_push(out, -1, word, at);
            if (st != CE_OK)
                return st;
            in_word = false;
        } else if (!is_space(cp) && !in_word) {
            word = at;
            in_word = true;
        }
    }
    if (!in_word)
        return CE_OK;
    ce_tok_list_begin_word(out);
    return ce_tok_list_push(out, -1, word, end);
}

/* Words joined by single spaces (only reachable with no ids: none is valid). */
static ce_status ws_decode(const ce_tokenizer *tok, const ce_str *tokens, size_t n, ce_strbuf *out)
{
    (void)tok;
    ce_status st = ce_strbuf_append(out, "", 0);
    for (size_t i = 0; st == CE_OK && i < n; i++) {
        if (i)
            st = ce_strbuf_append(out, " ", 1);
        if (st == CE_OK)
            st = ce_strbuf_append(out, tokens[i].s, tokens[i].len);
    }
    return st;
}

static void ws_free(void *model)
{
    (void)model;
}

static const ce_tokenizer_ops whitespace_ops = {
    .kind = "whitespace",
    .encode_segment = ws_encode_segment,
    .normalize_pattern = NULL,
    .decode = ws_decode,
    .free_model = ws_free,
};

ce_status ce_whitespace_tokenizer_create(ce_tokenizer **out)
{
    ce_tokenizer *tok = ce_tokenizer_new();
    if (!tok)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "whitespace tokenizer: out of memory");
    tok->ops = &whitespace_ops;
    ce_status st = ce_template_from_json(tok, NULL, "whitespace tokenizer");
    if (st == CE_OK)
        st = ce_tokenizer_finish(tok, "whitespace tokenizer");
    if (st != CE_OK) {
        ce_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return CE_OK;
}
