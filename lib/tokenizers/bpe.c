/* Byte-level BPE: words cut by GPT-2's pattern, each byte a symbol, then the
 * lowest-ranked adjacent pair merged until none is left, as Hugging Face's
 * Word::merge_all does. Symbols form a linked list and candidate merges wait
 * in a min-heap keyed by (rank, position), so a word of n bytes costs
 * O(n log n), not O(n^2). */
#include "tokenizers/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/byte_level.h"

/* ---- merge table ----------------------------------------------------------- */

static uint64_t pair_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static size_t pair_hash(uint64_t k)
{
    k ^= k >> 33; /* murmur3's finaliser */
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k;
}

static const ce_bpe_merge *find_merge(const ce_bpe *bpe, int32_t a, int32_t b)
{
    if (!bpe->merges)
        return NULL;
    uint64_t key = pair_key(a, b);
    for (size_t i = pair_hash(key) & bpe->mask;; i = (i + 1) & bpe->mask) {
        if (bpe->merges[i].key == key)
            return &bpe->merges[i];
        if (bpe->merges[i].key == CE_BPE_EMPTY)
            return NULL;
    }
}

static ce_status grow_merges(ce_bpe *bpe)
{
    size_t cap = bpe->merges ? 2 * (bpe->mask + 1) : 1024;
    ce_bpe_merge *m = malloc(cap * sizeof *m);
    if (!m)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for BPE merges");
    for (size_t i = 0; i < cap; i++)
        m[i].key = CE_BPE_EMPTY;
    for (size_t i = 0; bpe->merges && i <= bpe->mask; i++) {
        if (bpe->merges[i].key == CE_BPE_EMPTY)
            continue;
        size_t j = pair_hash(bpe->merges[i].key) & (cap - 1);
        while (m[j].key != CE_BPE_EMPTY)
            j = (j + 1) & (cap - 1);
        m[j] = bpe->merges[i];
    }
    free(bpe->merges);
    bpe->merges = m;
    bpe->mask = cap - 1;
    return CE_OK;
}

static ce_status vocab_id(const ce_tokenizer *tok, const char *s, size_t len, const char *where,
                          int32_t *id)
{
    if (ce_strmap_get(&tok->vocab, s, len, id))
        return CE_OK;
    return ce_error(CE_ERR_FORMAT, "%s: merge uses \"%.*s\", which is not in the vocabulary", where,
                    len > 64 ? 64 : (int)len, s);
}

ce_status ce_bpe_add_merge(ce_tokenizer *tok, ce_bpe *bpe, const char *a, size_t alen,
                           const char *b, size_t blen, uint32_t rank, const char *where)
{
    int32_t ia, ib, iab;
    ce_status st = vocab_id(tok, a, alen, where, &ia);
    if (st == CE_OK)
        st = vocab_id(tok, b, blen, where, &ib);
    char stack[256];
    char *ab = alen + blen <= sizeof stack ? stack : malloc(alen + blen);
    if (st == CE_OK && !ab)
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for BPE merges");
    if (st == CE_OK) {
        memcpy(ab, a, alen);
        memcpy(ab + alen, b, blen);
        st = vocab_id(tok, ab, alen + blen, where, &iab);
    }
    if (ab != stack)
        free(ab);
    if (st == CE_OK && 2 * (bpe->n_merges + 1) > (bpe->merges ? bpe->mask + 1 : 0))
        st = grow_merges(bpe);
    if (st != CE_OK)
        return st;
    uint64_t key = pair_key(ia, ib);
    size_t i = pair_hash(key) & bpe->mask;
    while (bpe->merges[i].key != CE_BPE_EMPTY && bpe->merges[i].key != key)
        i = (i + 1) & bpe->mask;
    if (bpe->merges[i].key == CE_BPE_EMPTY)
        bpe->n_merges++;
    bpe->merges[i] = (ce_bpe_merge){key, rank, iab};
    return CE_OK;
}

ce_bpe *ce_bpe_new(ce_tokenizer *tok)
{
    ce_bpe *bpe = calloc(1, sizeof *bpe);
    if (!bpe)
        return NULL;
    bpe->unk_id = -1;
    bpe->use_regex = true;
    bpe->byte_decoder = true;
    for (int i = 0; i < 256; i++)
        bpe->byte_id[i] = -1;
    tok->ops = &ce_bpe_ops;
    tok->model = bpe;
    return bpe;
}

void ce_bpe_index_bytes(const ce_tokenizer *tok, ce_bpe *bpe)
{
    for (int b = 0; b < 256; b++) {
        char s[2];
        size_t n = ce_byte_level_put((uint8_t)b, s);
        if (!ce_strmap_get(&tok->vocab, s, n, &bpe->byte_id[b]))
            bpe->byte_id[b] = -1;
    }
}

static void bpe_free(void *model)
{
    ce_bpe *bpe = model;
    if (bpe)
        free(bpe->merges);
    free(bpe);
}

/* ---- one word ------------------------------------------------------------------ */

typedef struct sym {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    uint32_t mlen;      /* bytes of its byte-level characters; 0: merged away */
} sym;

typedef struct cand {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} cand;

/* Scratch of one encode call, grown as needed and reused across its words. */
typedef struct work {
    const ce_tokenizer *tok;
    const ce_bpe *bpe;
    const char *text; /* the whole text; offsets are into it */
    size_t seg_end;   /* end of the stretch being encoded (a character boundary) */
    ce_tok_list *out;
    sym *syms;
    size_t cap_syms;
    cand *heap;
    size_t n_heap, cap_heap;
    char *buf; /* " " + a stretch, with add_prefix_space */
    size_t cap_buf;
} work;

static bool cand_less(const cand *a, const cand *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static ce_status heap_push(work *w, cand c)
{
    if (w->n_heap == w->cap_heap) {
        size_t cap = w->cap_heap ? 2 * w->cap_heap : 64;
        cand *h = realloc(w->heap, cap * sizeof *h);
        if (!h)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory merging a word");
        w->heap = h;
        w->cap_heap = cap;
    }
    size_t i = w->n_heap++;
    while (i > 0 && cand_less(&c, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = c;
    return CE_OK;
}

static ce_status push_pair(work *w, int32_t pos)
{
    const sym *s = &w->syms[pos];
    if (s->next < 0)
        return CE_OK;
    const ce_bpe_merge *m = find_merge(w->bpe, s->id, w->syms[s->next].id);
    return m ? heap_push(w, (cand){m->rank, (uint32_t)pos, m->new_id}) : CE_OK;
}

static void sift_down(cand *h, size_t n, size_t i)
{
    cand x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && cand_less(&h[c + 1], &h[c]))
            c++;
        if (!cand_less(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* The word's first candidates, heapified at once (O(n), not n pushes). */
static ce_status first_candidates(work *w, size_t n)
{
    w->n_heap = 0;
    if (n > w->cap_heap) {
        cand *h = realloc(w->heap, n * sizeof *h);
        if (!h)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory merging a word");
        w->heap = h;
        w->cap_heap = n;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const ce_bpe_merge *m = find_merge(w->bpe, w->syms[i].id, w->syms[i + 1].id);
        if (m)
            w->heap[w->n_heap++] = (cand){m->rank, (uint32_t)i, m->new_id};
    }
    for (size_t i = w->n_heap / 2; i-- > 0;)
        sift_down(w->heap, w->n_heap, i);
    return CE_OK;
}

/* Word::merge_all: a popped candidate is stale when its symbol was merged
 * away or the pair there now merges into something else. */
static ce_status merge_all(work *w, size_t n)
{
    ce_status st = first_candidates(w, n);
    while (st == CE_OK && w->n_heap) {
        cand c = w->heap[0];
        w->heap[0] = w->heap[--w->n_heap];
        if (w->n_heap)
            sift_down(w->heap, w->n_heap, 0);
        sym *s = &w->syms[c.pos];
        if (s->mlen == 0 || s->next < 0)
            continue;
        sym *r = &w->syms[s->next];
        const ce_bpe_merge *m = find_merge(w->bpe, s->id, r->id);
        if (!m || m->new_id != c.new_id)
            continue;
        s->id = c.new_id;
        s->mlen += r->mlen;
        r->mlen = 0;
        s->next = r->next;
        if (s->next >= 0)
            w->syms[s->next].prev = (int32_t)c.pos;
        if (s->prev >= 0)
            st = push_pair(w, s->prev);
        if (st == CE_OK)
            st = push_pair(w, (int32_t)c.pos);
    }
    return st;
}

static ce_status reserve_syms(work *w, size_t n)
{
    if (n <= w->cap_syms)
        return CE_OK;
    if (n > INT32_MAX)
        return ce_error(CE_ERR_TOO_LONG, "a word of %zu bytes is too long", n);
    sym *s = realloc(w->syms, n * sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for a word of %zu bytes", n);
    w->syms = s;
    w->cap_syms = n;
    return CE_OK;
}

/* The word's bytes as symbols (Word built by BPE::merge_word): characters
 * outside the vocabulary become the unknown token (consecutive ones fused
 * with fuse_unk) or, with no unknown token, vanish. */
static size_t make_symbols(work *w, const unsigned char *s, size_t len)
{
    const ce_bpe *bpe = w->bpe;
    size_t n = 0;
    bool last_unk = false;
    for (size_t i = 0; i < len; i++) {
        int32_t id = bpe->byte_id[s[i]];
        uint32_t mlen = ce_byte_level_char(s[i]) < 0x80 ? 1 : 2;
        if (id < 0) {
            if (bpe->unk_id < 0)
                continue;
            if (bpe->fuse_unk && last_unk) {
                w->syms[n - 1].mlen += mlen;
                continue;
            }
            id = bpe->unk_id;
        }
        last_unk = id == bpe->unk_id && bpe->byte_id[s[i]] < 0;
        w->syms[n] = (sym){id, (int32_t)n - 1, (int32_t)n + 1, mlen};
        n++;
    }
    if (n)
        w->syms[n - 1].next = -1;
    return n;
}

/* Where a word of the (possibly space-prefixed) stretch lies in the text. */
typedef struct span_map {
    const unsigned char *word; /* the word's bytes */
    size_t len;
    size_t base;      /* text offset of word byte 0 (the byte after the prefix space) */
    bool prefixed;    /* word byte 0 is the added prefix space */
    size_t first_end; /* with prefixed: end of the text's first character */
} span_map;

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Text span of word bytes [a, b]: whole characters, the prefix space taking
 * the place of the first character as HF's NormalizedString::prepend does. */
static void text_span(const work *w, const span_map *m, size_t a, size_t b, size_t *start,
                      size_t *end)
{
    const unsigned char *t = (const unsigned char *)w->text;
    size_t pa = m->prefixed ? (a ? m->base + a - 1 : m->base) : m->base + a;
    while (pa > 0 && is_cont(t[pa]))
        pa--;
    size_t pb;
    if (m->prefixed && b == 0) {
        pb = m->first_end;
    } else {
        pb = (m->prefixed ? m->base + b - 1 : m->base + b) + 1;
        while (pb < w->seg_end && is_cont(t[pb]))
            pb++;
    }
    *start = pa;
    *end = pb;
}

static size_t count_g(const char *s, size_t len, bool from_end)
{
    size_t n = 0;
    while (len >= 2 * (n + 1)) {
        const char *c = from_end ? s + len - 2 * (n + 1) : s + 2 * n;
        if ((unsigned char)c[0] != 0xC4 || (unsigned char)c[1] != 0xA0) /* 'Ġ' */
            break;
        n++;
    }
    return n;
}

/* The ByteLevel post-processor's trim_offsets: leading and trailing spaces
 * ('Ġ') of a token are left out of its offsets (HF's process_offsets). */
static void trim_span(const work *w, int32_t id, size_t *start, size_t *end)
{
    const ce_id_entry *e = &w->tok->ids[id];
    size_t lead = count_g(e->s, e->len, false), trail = count_g(e->s, e->len, true);
    bool first = w->out->n == 0 || *start == 0;
    ce_byte_level_trim(w->text, lead, trail, first, w->tok->pp_add_prefix_space, start, end);
}

/* Emit the merged symbols. Their offsets are the running sums of their
 * lengths in byte-level characters, as HF computes them (so a vanished
 * character shifts the ones after it, exactly as there). */
static ce_status emit(work *w, const span_map *m, size_t n)
{
    size_t mpos = 0, k = 0, kpos = 0; /* word byte k starts at kpos in characters */
    for (int32_t i = n ? 0 : -1; i >= 0; i = w->syms[i].next) {
        size_t a_pos = mpos, b_pos = mpos + w->syms[i].mlen - 1;
        mpos += w->syms[i].mlen;
        /* the byte holding character position a_pos, then b_pos */
        size_t ka, kb;
        for (;; k++) {
            size_t ml = ce_byte_level_char(m->word[k]) < 0x80 ? 1 : 2;
            if (kpos + ml > a_pos)
                break;
            kpos += ml;
        }
        ka = k;
        for (;; k++) {
            size_t ml = ce_byte_level_char(m->word[k]) < 0x80 ? 1 : 2;
            if (kpos + ml > b_pos)
                break;
            kpos += ml;
        }
        kb = k;
        size_t start, end;
        text_span(w, m, ka, kb, &start, &end);
        if (w->tok->pp_trim_offsets)
            trim_span(w, w->syms[i].id, &start, &end);
        ce_status st = ce_tok_list_push(w->out, w->syms[i].id, start, end);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

/* ignore_merges: the whole word, when the vocabulary has it. */
static bool whole_word(work *w, const span_map *m, int32_t *id)
{
    char stack[512];
    if (2 * m->len > sizeof stack)
        return false; /* longer than any sensible vocabulary entry */
    size_t n = 0;
    for (size_t i = 0; i < m->len; i++)
        n += ce_byte_level_put(m->word[i], stack + n);
    return n <= w->tok->max_vocab_len && ce_strmap_get(&w->tok->vocab, stack, n, id);
}

static ce_status bpe_word(work *w, const span_map *m)
{
    int32_t id;
    ce_tok_list_begin_word(w->out);
    if (w->bpe->ignore_merges && whole_word(w, m, &id)) {
        size_t start, end;
        text_span(w, m, 0, m->len - 1, &start, &end);
        if (w->tok->pp_trim_offsets)
            trim_span(w, id, &start, &end);
        return ce_tok_list_push(w->out, id, start, end);
    }
    ce_status st = reserve_syms(w, m->len);
    if (st != CE_OK)
        return st;
    size_t n = make_symbols(w, m->word, m->len);
    st = merge_all(w, n);
    return st == CE_OK ? emit(w, m, n) : st;
}

/* ---- a stretch of text ----------------------------------------------------------- */

static size_t first_char_end(const char *text, size_t a, size_t b)
{
    size_t e = a + 1;
    while (e < b && is_cont((unsigned char)text[e]))
        e++;
    return e;
}

/* text[a, b): no added token in it. */
static ce_status encode_piece(work *w, size_t a, size_t b)
{
    if (a == b)
        return CE_OK;
    const char *s = w->text + a;
    size_t len = b - a;
    span_map m = {.base = a};
    if (w->bpe->add_prefix_space && s[0] != ' ') {
        if (len + 1 > w->cap_buf) {
            char *nb = realloc(w->buf, len + 1);
            if (!nb)
                return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for %zu bytes", len);
            w->buf = nb;
            w->cap_buf = len + 1;
        }
        w->buf[0] = ' ';
        memcpy(w->buf + 1, s, len);
        s = w->buf;
        len++;
        m.prefixed = true;
        m.first_end = first_char_end(w->text, a, b);
    }
    ce_status st = CE_OK;
    for (size_t pos = 0; pos < len && st == CE_OK;) {
        size_t end = w->bpe->use_regex ? ce_byte_level_word_end(s, len, pos) : len;
        span_map wm = m;
        wm.word = (const unsigned char *)s + pos;
        wm.len = end - pos;
        if (m.prefixed && pos > 0) { /* past the prefix space: plain text offsets */
            wm.prefixed = false;
            wm.base = a + pos - 1;
        } else if (!m.prefixed) {
            wm.base = a + pos;
        }
        st = bpe_word(w, &wm);
        pos = end;
    }
    return st;
}

/* Added tokens with normalized == true: there is no normaliser, so they are
 * matched in the raw stretch, which is what HF does in the normalised one. */
static ce_status bpe_encode_segment(const ce_tokenizer *tok, const char *text, size_t start,
                                    size_t end, bool skip_special, ce_tok_list *out)
{
    work w = {.tok = tok, .bpe = tok->model, .text = text, .seg_end = end, .out = out};
    const char *s = text + start;
    size_t len = end - start, prev = 0, ms, me;
    const ce_added_token *t;
    ce_added_scan scan;
    ce_status st = ce_added_scan_start(&scan, &tok->norm_set, s, len);
    while (st == CE_OK && ce_added_next(&scan, tok->added, prev, skip_special, &ms, &me, &t)) {
        st = encode_piece(&w, start + prev, start + ms);
        ce_tok_list_begin_word(out);
        if (st == CE_OK)
            st = ce_tok_list_push(out, t->id, start + ms, start + me);
        prev = me;
    }
    ce_added_scan_free(&scan);
    if (st == CE_OK)
        st = encode_piece(&w, start + prev, end);
    free(w.syms);
    free(w.heap);
    free(w.buf);
    return st;
}

/* ---- decoding --------------------------------------------------------------------- */

static ce_status bpe_decode_token(const ce_tokenizer *tok, ce_str token, bool first, ce_strbuf *out)
{
    const ce_bpe *bpe = tok->model;
    if (bpe->byte_decoder)
        return ce_byte_level_token_bytes(token.s, token.len, out);
    ce_status st = first ? CE_OK : ce_strbuf_append(out, " ", 1);
    return st == CE_OK ? ce_strbuf_append(out, token.s, token.len) : st;
}

/* HF's ByteLevel decoder: all tokens' bytes, then one lossy UTF-8 pass. */
static ce_status bpe_decode(const ce_tokenizer *tok, const ce_str *tokens, size_t n, ce_strbuf *out)
{
    ce_strbuf bytes = {0};
    ce_status st = ce_strbuf_append(out, "", 0);
    for (size_t i = 0; st == CE_OK && i < n; i++)
        st = bpe_decode_token(tok, tokens[i], i == 0, &bytes);
    if (st == CE_OK)
        st = ce_utf8_append_lossy(out, bytes.data ? bytes.data : "", bytes.len);
    ce_strbuf_free(&bytes);
    return st;
}

const ce_tokenizer_ops ce_bpe_ops = {
    .kind = "bpe",
    .encode_segment = bpe_encode_segment,
    .normalize_pattern = NULL,
    .decode = bpe_decode,
    .free_model = bpe_free,
    .decode_token = bpe_decode_token,
};
