/* Matching added tokens ([CLS], [MASK], user tokens) in text, the way
 * Hugging Face's AddedVocabulary does with its leftmost-longest aho-corasick
 * automaton. Added-token sets are small (a handful to a few thousand), so a
 * first-byte index with longest-first buckets is enough. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

typedef struct sort_item {
    ce_added_pattern pat;
    size_t order;
} sort_item;

static int cmp_items(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    unsigned ca = (unsigned char)a->pat.s[0], cb = (unsigned char)b->pat.s[0];
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (a->pat.len != b->pat.len)
        return a->pat.len > b->pat.len ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

ce_status ce_added_set_build(ce_added_set *set, ce_added_pattern *pats, size_t n)
{
    memset(set, 0, sizeof *set);
    sort_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for added tokens");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (pats[i].len == 0) /* HF ignores empty tokens */
            continue;
        items[m].pat = pats[i];
        items[m].order = i;
        m++;
    }
    qsort(items, m, sizeof *items, cmp_items);
    set->pats = calloc(m ? m : 1, sizeof *set->pats);
    if (!set->pats) {
        free(items);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for added tokens");
    }
    for (size_t i = 0; i < m; i++)
        set->pats[i] = items[i].pat;
    free(items);
    set->n = m;
    size_t k = 0;
    for (unsigned b = 0; b <= 256; b++) {
        while (k < m && (unsigned char)set->pats[k].s[0] < b)
            k++;
        set->first[b] = (uint32_t)k;
    }
    return CE_OK;
}

void ce_added_set_free(ce_added_set *set)
{
    free(set->pats);
    memset(set, 0, sizeof *set);
}

/* The code point that ends at s[p] (p > 0, s valid UTF-8); *start gets its offset. */
static uint32_t cp_before(const char *s, size_t p, size_t *start)
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

static uint32_t cp_at(const char *s, size_t len, size_t *pos)
{
    uint32_t cp = 0xFFFD;
    if (!ce_utf8_next(s, len, pos, &cp))
        (*pos)++;
    return cp;
}

static bool is_single_word(const char *s, size_t len, size_t start, size_t end)
{
    size_t q;
    if (start > 0 && ce_unicode_is_word(cp_before(s, start, &q)))
        return false;
    size_t pos = end;
    if (end < len && ce_unicode_is_word(cp_at(s, len, &pos)))
        return false;
    return true;
}

static const ce_added_pattern *match_at(const ce_added_set *set, const char *s, size_t len,
                                        size_t p)
{
    unsigned b = (unsigned char)s[p];
    for (uint32_t k = set->first[b]; k < set->first[b + 1]; k++) {
        const ce_added_pattern *pat = &set->pats[k];
        if (pat->len <= len - p && memcmp(s + p, pat->s, pat->len) == 0)
            return pat;
    }
    return NULL;
}

bool ce_added_next(const ce_added_set *set, const ce_added_token *tokens, const char *s, size_t len,
                   size_t *pos, size_t prev_end, bool skip_special, size_t *start, size_t *end,
                   const ce_added_token **token)
{
    size_t p = *pos;
    while (set->n && p < len) {
        const ce_added_pattern *pat = match_at(set, s, len, p);
        if (!pat) {
            p++;
            continue;
        }
        size_t ms = p, me = p + pat->len;
        p = me;
        const ce_added_token *t = &tokens[pat->token];
        if (skip_special && t->special)
            continue;
        if (t->single_word && !is_single_word(s, len, ms, me))
            continue;
        if (t->lstrip) {
            size_t q = ms, qs;
            while (q > 0 && ce_unicode_is_whitespace(cp_before(s, q, &qs)))
                q = qs;
            ms = q > prev_end ? q : prev_end;
        }
        if (t->rstrip) {
            size_t q = me, next = me;
            while (q < len && ce_unicode_is_whitespace(cp_at(s, len, &next)))
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
