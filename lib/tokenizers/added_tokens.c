/* Matching added tokens ([CLS], [MASK], user tokens) in text, the way
 * Hugging Face's AddedVocabulary does with its leftmost-longest aho-corasick
 * automaton: the longest token starting at each position comes from
 * added_automaton.c; here the matches are taken left to right and Hugging
 * Face's rules (single_word, lstrip / rstrip, skipped specials) applied. */
#include <stdlib.h>
#include <string.h>

#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

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

/* The end of the white space from @p at. A match inside the last run
 * (matches of a stripped " " may follow each other in one) reuses its end,
 * so a long run is walked once. */
static size_t space_run_end(ce_added_scan *scan, size_t at)
{
    if (scan->run_end && at >= scan->run_start && at <= scan->run_end)
        return scan->run_end;
    size_t q = at, next = at;
    while (q < scan->len && ce_unicode_is_whitespace(cp_at(scan->s, scan->len, &next)))
        q = next;
    scan->run_start = at;
    scan->run_end = q;
    return q;
}

bool ce_added_next(ce_added_scan *scan, const ce_added_token *tokens, size_t prev_end,
                   bool skip_special, size_t *start, size_t *end, const ce_added_token **token)
{
    const char *s = scan->s;
    size_t len = scan->len;
    while (scan->n_hits) {
        ce_added_hit h = scan->hits[--scan->n_hits];
        if (h.at < scan->pos) /* inside an earlier match, taken or dropped */
            continue;
        const ce_added_pattern *pat = &scan->set->pats[h.pat];
        size_t ms = h.at, me = h.at + pat->len;
        scan->pos = me;
        const ce_added_token *t = &tokens[pat->token];
        if (skip_special && t->special)
            continue;
        if (t->single_word && !is_single_word(s, len, ms, me))
            continue;
        if (t->lstrip) { /* the white space before, not what an earlier match took */
            size_t q = ms, qs;
            while (q > prev_end && ce_unicode_is_whitespace(cp_before(s, q, &qs)))
                q = qs;
            ms = q > prev_end ? q : prev_end;
        }
        if (t->rstrip)
            me = space_run_end(scan, me);
        *start = ms;
        *end = me;
        *token = t;
        return true;
    }
    scan->pos = len;
    return false;
}
