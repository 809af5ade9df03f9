/* BertNormalizer (clean text, CJK spacing, strip accents, lowercase) over
 * code points that remember which original bytes they came from, so token
 * offsets point into the caller's text however lengths change. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/bert_chars.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"

void ce_nchar_buf_free(ce_nchar_buf *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}

static ce_status push(ce_nchar_buf *b, uint32_t cp, size_t start, size_t end)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        ce_nchar *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory normalising text");
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (ce_nchar){cp, start, end};
    return CE_OK;
}

/* Clean, space CJK, decompose: the steps that work one character at a time. */
static ce_status first_pass(const ce_bert_normalizer *cfg, const char *text, size_t start,
                            size_t end, ce_nchar_buf *out)
{
    size_t pos = start;
    while (pos < end) {
        size_t s = pos;
        uint32_t cp;
        if (!ce_utf8_next(text, end, &pos, &cp))
            return ce_error(CE_ERR_INVALID_UTF8, "invalid UTF-8 at byte %zu", s);
        unsigned cls = ce_bert_class(cp);
        if (cfg->clean_text) {
            if (cls & CE_BERT_DELETE)
                continue;
            if (cls & CE_BERT_SPACE)
                cp = ' ';
        }
        bool cjk = cfg->handle_chinese && (cls & CE_BERT_CJK);
        ce_status st = cjk ? push(out, ' ', s, pos) : CE_OK;
        if (st != CE_OK)
            return st;
        if (cfg->strip_accents) {
            uint32_t d[CE_BERT_MAX_NFD];
            size_t n = ce_bert_nfd(cp, d);
            for (size_t i = 0; i < n && st == CE_OK; i++)
                st = push(out, d[i], s, pos);
        } else {
            st = push(out, cp, s, pos);
        }
        if (st == CE_OK && cjk)
            st = push(out, ' ', s, pos);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

/* NFD's canonical ordering: stable sort of each run of non-starters by
 * combining class. Runs are short, insertion sort is fine. */
static void canonical_order(ce_nchar *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int ci = ce_bert_ccc(v[i].cp);
        if (ci == 0)
            continue;
        size_t j = i;
        ce_nchar x = v[i];
        while (j > 0) {
            int cj = ce_bert_ccc(v[j - 1].cp);
            if (cj == 0 || cj <= ci)
                break;
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

ce_status ce_bert_normalize(const ce_bert_normalizer *cfg, const char *text, size_t start,
                            size_t end, ce_nchar_buf *out)
{
    if (!cfg->strip_accents && !cfg->lowercase)
        return first_pass(cfg, text, start, end, out);
    ce_nchar_buf tmp = {0};
    ce_status st = first_pass(cfg, text, start, end, &tmp);
    if (st == CE_OK && cfg->strip_accents)
        canonical_order(tmp.v, tmp.n);
    for (size_t i = 0; st == CE_OK && i < tmp.n; i++) {
        const ce_nchar *c = &tmp.v[i];
        if (cfg->strip_accents && (ce_bert_class(c->cp) & CE_BERT_MN))
            continue;
        if (!cfg->lowercase) {
            st = push(out, c->cp, c->start, c->end);
            continue;
        }
        uint32_t low[CE_BERT_MAX_LOWER];
        size_t n = ce_bert_lower(c->cp, low);
        for (size_t k = 0; k < n && st == CE_OK; k++)
            st = push(out, low[k], c->start, c->end);
    }
    ce_nchar_buf_free(&tmp);
    return st;
}
