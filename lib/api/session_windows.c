/* Sliding windows (CE_LONG_WINDOW): a sequence longer than an encoder takes is
 * run as overlapping windows, each with the template's leading and trailing
 * special tokens, and read back as one sequence in which every token has the
 * vector of the window where it has the most context on both sides (the rule
 * of Hugging Face's question answering, _check_is_max_context). */
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"
#include "tokenizers/template_ends.h"

/* One window: content tokens [start, start + len) of a sequence, between its
 * n_lead leading and n_trail trailing special tokens. A sequence that fits is
 * one window with everything as content. */
typedef struct window {
    size_t seq, start, len, n_lead, n_trail;
} window;

typedef struct plan {
    window *w;
    size_t n, cap, tokens, max_len;
} plan;

static bool add_window(plan *p, window w)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        window *v = realloc(p->w, cap * sizeof *v);
        if (!v)
            return false;
        p->w = v;
        p->cap = cap;
    }
    p->w[p->n++] = w;
    size_t len = w.n_lead + w.len + w.n_trail;
    p->tokens += len;
    if (len > p->max_len)
        p->max_len = len;
    return true;
}

/* The template's specials count only when the sequence really starts and ends with them. */
static void ends_of(const ce_model *m, const int32_t *ids, size_t len, size_t *n_lead,
                    size_t *n_trail)
{
    int32_t lead[CE_TEMPLATE_ENDS_MAX], trail[CE_TEMPLATE_ENDS_MAX];
    size_t nl, nt;
    ce_tokenizer_template_ends(m->tokenizer, lead, &nl, trail, &nt);
    bool ok = nl + nt < len && !memcmp(ids, lead, nl * sizeof *ids) &&
              !memcmp(ids + len - nt, trail, nt * sizeof *ids);
    *n_lead = ok ? nl : 0;
    *n_trail = ok ? nt : 0;
}

/* Windows of one long sequence: content windows of c tokens, consecutive ones
 * sharing @p overlap, the last one possibly shorter (as a tokenizer's
 * overflowing tokens with a stride). */
static ce_status plan_long(const ce_session *s, size_t seq, const int32_t *ids, size_t len,
                           plan *p)
{
    size_t max = (size_t)s->model->dims.max_positions, nl, nt;
    ends_of(s->model, ids, len, &nl, &nt);
    size_t overlap = s->settings.window_stride ? (size_t)s->settings.window_stride : max / 4;
    if (nl + nt >= max || overlap >= max - nl - nt)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "window stride %zu is not smaller than the %zu tokens a window holds "
                        "besides its special tokens", overlap, max - nl - nt);
    size_t c = max - nl - nt, content = len - nl - nt, step = c - overlap;
    for (size_t start = 0;; start += step) {
        size_t n = content - start < c ? content - start : c;
        if (!add_window(p, (window){seq, nl + start, n, nl, nt}))
            return ce_error(CE_ERR_OUT_OF_MEMORY, "windows: out of memory");
        if (start + n >= content)
            return CE_OK;
    }
}

static bool grow(void **p, size_t n, size_t elem)
{
    void *q = realloc(*p, (n ? n : 1) * elem);
    if (q)
        *p = q;
    return q != NULL;
}

static ce_status reserve_windows(ce_session *s, const plan *p)
{
    ce_session_windows *w = &s->win;
    size_t planes = (size_t)s->model->dims.num_output_layers;
    size_t d = (size_t)s->model->dims.hidden_size;
    if (p->n > w->cap_seqs) {
        if (!grow((void **)&w->lengths, p->n, sizeof(size_t)) ||
            !grow((void **)&w->starts, p->n, sizeof(size_t)))
            return ce_error(CE_ERR_OUT_OF_MEMORY, "windows: out of memory");
        w->cap_seqs = p->n;
    }
    if (p->tokens > w->cap_tokens) {
        if (!grow((void **)&w->ids, p->tokens, sizeof(int32_t)) ||
            !grow((void **)&w->types, p->tokens, sizeof(int32_t)) ||
            !grow((void **)&w->hidden, planes * p->tokens * d, sizeof(float)))
            return ce_error(CE_ERR_OUT_OF_MEMORY, "windows: cannot allocate %zu tokens",
                            p->tokens);
        w->cap_tokens = p->tokens;
    }
    return CE_OK;
}

/* The windows as a packed batch: each is lead + content slice + trail of its
 * sequence, as packed in s->ids / s->type_ids. */
static void pack_windows(ce_session *s, const plan *p)
{
    ce_session_windows *w = &s->win;
    size_t dst = 0;
    for (size_t k = 0; k < p->n; k++) {
        const window *x = &p->w[k];
        size_t base = s->starts[x->seq], end = base + s->lengths[x->seq];
        const size_t from[3] = {base, base + x->start, end - x->n_trail};
        const size_t count[3] = {x->n_lead, x->len, x->n_trail};
        w->lengths[k] = x->n_lead + x->len + x->n_trail;
        w->starts[k] = dst;
        for (int part = 0; part < 3; part++) {
            memcpy(w->ids + dst, s->ids + from[part], count[part] * sizeof *w->ids);
            memcpy(w->types + dst, s->type_ids + from[part], count[part] * sizeof *w->types);
            dst += count[part];
        }
    }
}

/* Row of window k holding position q of its sequence, with q's context score
 * there (min of left and right content context, longer windows winning ties). */
static double context_score(const window *x, size_t q)
{
    size_t left = q - x->start, right = x->start + x->len - 1 - q;
    return (double)(left < right ? left : right) + 0.01 * (double)x->len;
}

/* Copy all planes of window row @p row to sequence position @p q. */
static void copy_row(ce_session *s, size_t total_w, size_t seq, size_t q, size_t wstart,
                     size_t row)
{
    size_t planes = (size_t)s->model->dims.num_output_layers;
    size_t d = (size_t)s->model->dims.hidden_size;
    for (size_t l = 0; l < planes; l++)
        memcpy(s->hidden + (l * s->total + s->starts[seq] + q) * d,
               s->win.hidden + (l * total_w + wstart + row) * d, d * sizeof(float));
}

/* Windows [k0, k1) belong to one sequence: give each of its positions the row
 * of its best window. */
static void stitch_sequence(ce_session *s, const plan *p, size_t k0, size_t k1, size_t total_w)
{
    const window *first = &p->w[k0], *last = &p->w[k1 - 1];
    size_t seq = first->seq, len = s->lengths[seq];
    for (size_t q = 0; q < len; q++) {
        size_t best = k0, row;
        if (q < first->n_lead) {
            row = q;
        } else if (q >= len - last->n_trail) {
            best = k1 - 1;
            row = last->n_lead + last->len + (q - (len - last->n_trail));
        } else {
            double best_score = -1.0;
            for (size_t k = k0; k < k1; k++) {
                const window *x = &p->w[k];
                if (q < x->start || q >= x->start + x->len)
                    continue;
                double sc = context_score(x, q);
                if (sc > best_score) {
                    best_score = sc;
                    best = k;
                }
            }
            row = p->w[best].n_lead + (q - p->w[best].start);
        }
        copy_row(s, total_w, seq, q, s->win.starts[best], row);
    }
}

ce_status ce_session_run_windows(ce_session *s, size_t n_seqs, size_t total)
{
    if (s->model->arch->append)
        return ce_error(CE_ERR_UNSUPPORTED, "sliding windows are for encoders: a %s model "
                        "predicts from the left only (score it with a stride instead)",
                        s->model->arch->name);
    plan p = {0};
    const int32_t *ids = s->ids;
    size_t max = (size_t)s->model->dims.max_positions;
    ce_status st = CE_OK;
    for (size_t i = 0; st == CE_OK && i < n_seqs; i++) {
        const int32_t *seq_ids = ids + s->starts[i];
        if (s->lengths[i] <= max)
            st = add_window(&p, (window){i, 0, s->lengths[i], 0, 0})
                     ? CE_OK
                     : ce_error(CE_ERR_OUT_OF_MEMORY, "windows: out of memory");
        else
            st = plan_long(s, i, seq_ids, s->lengths[i], &p);
    }
    if (st == CE_OK)
        st = reserve_windows(s, &p);
    if (st == CE_OK) {
        pack_windows(s, &p);
        ce_session_pick_threads(s);
        ce_batch b = {p.n, s->win.lengths, s->win.starts, p.tokens, p.max_len, s->win.ids,
                      s->win.types};
        st = s->model->arch->forward(s->model->arch_data, s->arch_state, s->backend, &b,
                                     s->win.hidden);
    }
    s->total = total;
    for (size_t k0 = 0, k1; st == CE_OK && k0 < p.n; k0 = k1) {
        for (k1 = k0 + 1; k1 < p.n && p.w[k1].seq == p.w[k0].seq;)
            k1++;
        stitch_sequence(s, &p, k0, k1, p.tokens);
    }
    free(p.w);
    return st;
}
