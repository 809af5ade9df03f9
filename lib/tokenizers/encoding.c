/* The encoding result, the token and byte buffers it is built from,
 * longest-first truncation and the post-processor's layout. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/tokenizer.h"

ce_status ce_tok_list_push(ce_tok_list *l, int32_t id, size_t start, size_t end)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        int32_t *ids = realloc(l->ids, cap * sizeof *ids);
        if (!ids)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for tokens");
        l->ids = ids;
        size_t *offs = realloc(l->offs, cap * 2 * sizeof *offs);
        if (!offs)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for tokens");
        l->offs = offs;
        int32_t *words = realloc(l->words, cap * sizeof *words);
        if (!words)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for tokens");
        l->words = words;
        l->cap = cap;
    }
    l->ids[l->n] = id;
    l->words[l->n] = l->word;
    l->offs[2 * l->n] = start;
    l->offs[2 * l->n + 1] = end;
    l->n++;
    return CE_OK;
}

void ce_tok_list_begin_word(ce_tok_list *l)
{
    l->word = l->n_words < INT32_MAX ? l->n_words++ : l->n_words;
}

void ce_tok_list_free(ce_tok_list *l)
{
    free(l->ids);
    free(l->offs);
    free(l->words);
    memset(l, 0, sizeof *l);
}

ce_status ce_strbuf_append(ce_strbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for text");
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CE_OK;
}

void ce_strbuf_free(ce_strbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* One block for the five arrays; offsets first for alignment. At least one
 * slot each, so that an empty encoding still hands out valid pointers. */
ce_encoding *ce_encoding_alloc(size_t n)
{
    size_t m = n ? n : 1;
    if (m > SIZE_MAX / (2 * sizeof(size_t) + 4 * sizeof(int32_t)))
        return NULL;
    ce_encoding *e = malloc(sizeof *e + m * (2 * sizeof(size_t) + 4 * sizeof(int32_t)));
    if (!e)
        return NULL;
    e->n = n;
    e->offsets = (size_t *)(e + 1);
    e->ids = (int32_t *)(e->offsets + 2 * m);
    e->type_ids = e->ids + m;
    e->seq_ids = e->type_ids + m;
    e->word_ids = e->seq_ids + m;
    e->n_texts = 1;
    e->text_starts = e->one_text;
    e->one_text[0] = 0;
    e->one_text[1] = n;
    return e;
}

ce_encoding *ce_encoding_concat(ce_encoding *const *encs, size_t n_encs)
{
    size_t n = 0;
    for (size_t i = 0; i < n_encs; i++)
        n += encs[i]->n;
    size_t *starts = malloc((n_encs + 1) * sizeof *starts);
    ce_encoding *e = starts ? ce_encoding_alloc(n) : NULL;
    if (!e) {
        free(starts);
        return NULL;
    }
    e->n_texts = n_encs;
    e->text_starts = starts; /* freed with the encoding (ce_encoding_release) */
    size_t at = 0;
    for (size_t i = 0; i < n_encs; i++) {
        const ce_encoding *x = encs[i];
        starts[i] = at;
        memcpy(e->ids + at, x->ids, x->n * sizeof *e->ids);
        memcpy(e->type_ids + at, x->type_ids, x->n * sizeof *e->type_ids);
        memcpy(e->seq_ids + at, x->seq_ids, x->n * sizeof *e->seq_ids);
        memcpy(e->word_ids + at, x->word_ids, x->n * sizeof *e->word_ids);
        memcpy(e->offsets + 2 * at, x->offsets, 2 * x->n * sizeof *e->offsets);
        at += x->n;
    }
    starts[n_encs] = at;
    return e;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* HF's truncate_encodings with TruncationStrategy::LongestFirst, stride 0,
 * direction right. */
void ce_truncate_longest_first(ce_tok_list *a, ce_tok_list *b, size_t max_tokens)
{
    if (!b) {
        a->n = min_size(a->n, max_tokens);
        return;
    }
    if (max_tokens == 0) {
        a->n = b->n = 0;
        return;
    }
    if (a->n + b->n <= max_tokens)
        return;
    size_t n1 = a->n, n2 = b->n;
    bool swap = n1 > n2;
    if (swap) {
        size_t t = n1;
        n1 = n2;
        n2 = t;
    }
    /* n1 is the shorter: keep it whole when it fits, give the rest to the other */
    if (n1 > max_tokens)
        n2 = n1;
    else
        n2 = max_tokens - n1 > n1 ? max_tokens - n1 : n1;
    if (n1 + n2 > max_tokens) {
        n1 = max_tokens / 2;
        n2 = n1 + max_tokens % 2;
    }
    if (swap) {
        size_t t = n1;
        n1 = n2;
        n2 = t;
    }
    a->n = min_size(a->n, n1);
    b->n = min_size(b->n, n2);
}

static void put(ce_encoding *e, size_t i, int32_t id, int32_t type, int32_t seq, int32_t word,
                size_t start, size_t end)
{
    e->ids[i] = id;
    e->type_ids[i] = type;
    e->seq_ids[i] = seq;
    e->word_ids[i] = word;
    e->offsets[2 * i] = start;
    e->offsets[2 * i + 1] = end;
}

ce_status ce_template_apply(const ce_template *t, const ce_tok_list *a, const ce_tok_list *b,
                            bool add_special, ce_encoding **out)
{
    size_t n = 0;
    for (size_t p = 0; p < t->n; p++) {
        const ce_piece *pc = &t->pieces[p];
        if (pc->kind == CE_PIECE_SPECIAL)
            n += add_special ? pc->n_ids : 0;
        else
            n += pc->kind == CE_PIECE_A ? a->n : (b ? b->n : 0);
    }
    ce_encoding *e = ce_encoding_alloc(n);
    if (!e)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for an encoding of %zu tokens", n);
    size_t i = 0;
    for (size_t p = 0; p < t->n; p++) {
        const ce_piece *pc = &t->pieces[p];
        if (pc->kind == CE_PIECE_SPECIAL) {
            for (size_t k = 0; add_special && k < pc->n_ids; k++)
                put(e, i++, pc->ids[k], pc->type_id, -1, -1, 0, 0);
            continue;
        }
        const ce_tok_list *src = pc->kind == CE_PIECE_A ? a : b;
        int32_t seq = pc->kind == CE_PIECE_A ? 0 : 1;
        for (size_t k = 0; src && k < src->n; k++)
            put(e, i++, src->ids[k], pc->type_id, seq, src->words[k], src->offs[2 * k],
                src->offs[2 * k + 1]);
    }
    *out = e;
    return CE_OK;
}
