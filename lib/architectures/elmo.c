/* ELMo as a model family: load, per-session scratch and carried LSTM state,
 * and the forward pass from words. Every position of a run (sentence
 * boundaries included) gets every layer in one buffer [L + 1][P][2 * proj]:
 * plane 0 is [e, e], plane l the forward and backward outputs of layer l.
 * The plane of layer l is layer l + 1's input, and the words' rows are copied
 * to the session's hidden states at the end. */
#include <stdlib.h>
#include <string.h>

#include "architectures/elmo.h"
#include "core/error.h"
#include "tokenizers/elmo_chars.h"

typedef struct seq_key {
    size_t len, index;
} seq_key;

typedef struct elmo_state {
    const elmo_model *m;
    /* carried state, per (direction, layer): c [keep_rows][dim], h [keep_rows][proj] */
    float **keep_c, **keep_h;
    size_t keep_rows;
    /* scratch of a run, grown to the largest one seen */
    size_t cap_pos, cap_seqs;
    int32_t *ids;  /* [P][max_chars] */
    float *act;    /* [P][cnn_width] x 3 */
    float *cnn;    /* ce_elmo_cnn_scratch_floats() */
    float *layers; /* [L + 1][P][2 * proj] */
    elmo_lstm_scratch lstm;
    size_t *start, *len, *order;
    seq_key *keys;
    size_t positions; /* of the last run; 0 before */
} elmo_state;

static void model_free(elmo_model *m)
{
    if (!m)
        return;
    ce_elmo_config_free(&m->cfg);
    free(m->cnn_w);
    free(m->cnn_b);
    free(m->highway);
    free(m->cells);
    free(m->owned);
    free(m->recurrent);
    free(m->cnn);
    ce_lin_list_free(&m->lins);
    free(m);
}

static ce_status elmo_load(const ce_json *config, const char *source, ce_weights *w, uint64_t seed,
                           void **model_data, ce_model_dims *dims)
{
    elmo_model *m = calloc(1, sizeof *m);
    if (!m)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: out of memory");
    ce_status st = ce_elmo_parse_config(config, source, &m->cfg);
    if (st == CE_OK)
        st = ce_elmo_bind_weights(m, w, seed);
    if (st == CE_OK)
        st = ce_elmo_prepare_recurrent(m);
    if (st == CE_OK)
        st = ce_elmo_list_linears(m);
    if (st != CE_OK) {
        model_free(m);
        return st;
    }
    const elmo_config *c = &m->cfg;
    *dims = (ce_model_dims){
        .num_layers = c->n_layers,
        .hidden_size = 2 * c->proj_dim,
        .num_output_layers = c->n_layers + 1,
        .intermediate_size = c->lstm_dim,
        .parameters = ce_elmo_parameter_count(c),
    };
    /* the recurrent weights' reordered copy (elmo_weights.c) counts too */
    int64_t copy = 2 * c->n_layers * 4 * c->lstm_dim * c->proj_dim;
    dims->weight_bytes = (dims->parameters + copy) * (int64_t)sizeof(float);
    *model_data = m;
    return CE_OK;
}

static void elmo_free(void *model_data)
{
    model_free(model_data);
}

static void scratch_release(elmo_state *s)
{
    free(s->ids);
    free(s->act);
    free(s->cnn);
    free(s->layers);
    free(s->lstm.xw);
    free(s->lstm.gates);
    free(s->lstm.cell);
    free(s->lstm.c);
    free(s->lstm.h);
    free(s->start);
    free(s->len);
    free(s->order);
    free(s->keys);
}

static void elmo_session_free(void *state)
{
    elmo_state *s = state;
    if (!s)
        return;
    scratch_release(s);
    for (int64_t i = 0; i < 2 * s->m->cfg.n_layers; i++) { /* either may be NULL (OOM) */
        free(s->keep_c ? s->keep_c[i] : NULL);
        free(s->keep_h ? s->keep_h[i] : NULL);
    }
    free(s->keep_c);
    free(s->keep_h);
    free(s);
}

static ce_status elmo_session_create(const void *model_data, void **state)
{
    const elmo_model *m = model_data;
    elmo_state *s = calloc(1, sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo session: out of memory");
    s->m = m;
    s->keep_c = calloc(2 * (size_t)m->cfg.n_layers, sizeof *s->keep_c);
    s->keep_h = calloc(2 * (size_t)m->cfg.n_layers, sizeof *s->keep_h);
    if (!s->keep_c || !s->keep_h) {
        elmo_session_free(s);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo session: out of memory");
    }
    *state = s;
    return CE_OK;
}

/* n elements of @p elem bytes, or NULL (also on overflow). */
static void *alloc_n(size_t n, size_t elem)
{
    return n && n <= SIZE_MAX / elem ? malloc(n * elem) : NULL;
}

/* Scratch for @p positions positions and @p seqs sentences, all or nothing. */
static ce_status reserve(elmo_state *s, size_t positions, size_t seqs)
{
    if (positions <= s->cap_pos && seqs <= s->cap_seqs)
        return CE_OK;
    const elmo_config *c = &s->m->cfg;
    size_t p = positions > s->cap_pos ? positions : s->cap_pos;
    size_t n = seqs > s->cap_seqs ? seqs : s->cap_seqs;
    size_t dim = (size_t)c->lstm_dim, proj = (size_t)c->proj_dim;
    elmo_state t = {0};
    t.ids = alloc_n(p, (size_t)c->max_chars * sizeof(int32_t));
    t.act = alloc_n(p, 3 * (size_t)c->cnn_width * sizeof(float));
    t.cnn = alloc_n(ce_elmo_cnn_scratch_floats(c), sizeof(float));
    t.layers = alloc_n(p, ((size_t)c->n_layers + 1) * 2 * proj * sizeof(float));
    t.lstm.xw = alloc_n(p, 4 * dim * sizeof(float));
    t.lstm.gates = alloc_n(n, 4 * dim * sizeof(float));
    t.lstm.cell = alloc_n(n, dim * sizeof(float));
    t.lstm.c = alloc_n(n, dim * sizeof(float));
    t.lstm.h = alloc_n(n, proj * sizeof(float));
    t.start = alloc_n(n, sizeof(size_t));
    t.len = alloc_n(n, sizeof(size_t));
    t.order = alloc_n(n, sizeof(size_t));
    t.keys = alloc_n(n, sizeof(seq_key));
    if (!t.ids || !t.act || !t.cnn || !t.layers || !t.lstm.xw || !t.lstm.gates || !t.lstm.cell ||
        !t.lstm.c || !t.lstm.h || !t.start || !t.len || !t.order || !t.keys) {
        scratch_release(&t);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: cannot allocate scratch for %zu positions",
                        positions);
    }
    scratch_release(s);
    s->ids = t.ids;
    s->act = t.act;
    s->cnn = t.cnn;
    s->layers = t.layers;
    s->lstm = t.lstm;
    s->start = t.start;
    s->len = t.len;
    s->order = t.order;
    s->keys = t.keys;
    s->cap_pos = p;
    s->cap_seqs = n;
    s->positions = 0;
    return CE_OK;
}

/* Carried state for @p rows batch rows; new rows start at zero. */
static ce_status reserve_keep(elmo_state *s, size_t rows)
{
    if (rows <= s->keep_rows)
        return CE_OK;
    const elmo_config *c = &s->m->cfg;
    size_t dims[2] = {(size_t)c->lstm_dim, (size_t)c->proj_dim};
    for (int64_t i = 0; i < 2 * c->n_layers; i++) {
        float **slot[2] = {&s->keep_c[i], &s->keep_h[i]};
        for (int k = 0; k < 2; k++) {
            float *p = rows <= SIZE_MAX / sizeof(float) / dims[k]
                           ? realloc(*slot[k], rows * dims[k] * sizeof(float))
                           : NULL;
            if (!p) /* blocks already grown stay valid: keep_rows is unchanged */
                return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: cannot allocate the LSTM state");
            memset(p + s->keep_rows * dims[k], 0, (rows - s->keep_rows) * dims[k] * sizeof *p);
            *slot[k] = p;
        }
    }
    s->keep_rows = rows;
    return CE_OK;
}

static void elmo_reset_state(void *state)
{
    elmo_state *s = state;
    const elmo_config *c = &s->m->cfg;
    for (int64_t i = 0; i < 2 * c->n_layers; i++) {
        if (s->keep_c[i])
            memset(s->keep_c[i], 0, s->keep_rows * (size_t)c->lstm_dim * sizeof(float));
        if (s->keep_h[i])
            memset(s->keep_h[i], 0, s->keep_rows * (size_t)c->proj_dim * sizeof(float));
    }
}

static int by_length(const void *a, const void *b)
{
    const seq_key *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Sentence s with its boundaries at positions [start[s], start[s] + len[s]). */
static void plan(elmo_state *s, const ce_batch *b, elmo_seqs *q)
{
    for (size_t i = 0; i < b->n_seqs; i++) {
        s->start[i] = b->starts[i] + 2 * i;
        s->len[i] = b->lengths[i] + 2;
        s->keys[i] = (seq_key){s->len[i], i};
    }
    qsort(s->keys, b->n_seqs, sizeof *s->keys, by_length);
    for (size_t i = 0; i < b->n_seqs; i++)
        s->order[i] = s->keys[i].index;
    *q = (elmo_seqs){b->n_seqs, s->start,          s->len,
                     s->order,  b->max_length + 2, b->total + 2 * b->n_seqs};
}

static void char_ids(elmo_state *s, const ce_batch *b, const char *text, const size_t *offsets)
{
    size_t mc = (size_t)s->m->cfg.max_chars;
    for (size_t i = 0; i < b->n_seqs; i++) {
        int32_t *row = s->ids + s->start[i] * mc;
        ce_elmo_boundary_char_ids(0, mc, row);
        for (size_t w = 0; w < b->lengths[i]; w++) {
            const size_t *o = offsets + 2 * (b->starts[i] + w);
            ce_elmo_word_char_ids(text + o[0], o[1] - o[0], mc, row + (1 + w) * mc);
        }
        ce_elmo_boundary_char_ids(1, mc, row + (b->lengths[i] + 1) * mc);
    }
}

/* Every layer's rows of the words (not the boundaries) into hidden. */
static void copy_words(const elmo_state *s, const ce_batch *b, float *hidden)
{
    size_t width = 2 * (size_t)s->m->cfg.proj_dim, positions = s->positions;
    for (int64_t l = 0; l <= s->m->cfg.n_layers; l++)
        for (size_t i = 0; i < b->n_seqs; i++)
            memcpy(hidden + ((size_t)l * b->total + b->starts[i]) * width,
                   s->layers + ((size_t)l * positions + s->start[i] + 1) * width,
                   b->lengths[i] * width * sizeof *hidden);
}

static ce_status elmo_forward_words(const void *model_data, void *state, ce_backend *be,
                                    const ce_batch *b, const char *text, const size_t *offsets,
                                    int carry_state, float *hidden)
{
    const elmo_model *m = model_data;
    elmo_state *s = state;
    size_t positions = b->total + 2 * b->n_seqs, proj = (size_t)m->cfg.proj_dim;
    ce_status st = reserve(s, positions, b->n_seqs);
    if (st == CE_OK && carry_state)
        st = reserve_keep(s, b->n_seqs);
    if (st != CE_OK)
        return st;
    elmo_seqs q;
    plan(s, b, &q);
    char_ids(s, b, text, offsets);
    ce_elmo_token_embeddings(m, be, positions, s->ids, s->act, s->cnn, s->layers, 2 * proj);
    for (size_t p = 0; p < positions; p++)
        memcpy(s->layers + (2 * p + 1) * proj, s->layers + 2 * p * proj, proj * sizeof(float));
    for (int dir = 0; dir < 2; dir++)
        for (int64_t l = 0; l < m->cfg.n_layers; l++) {
            size_t i = (size_t)dir * (size_t)m->cfg.n_layers + (size_t)l;
            ce_elmo_lstm_run(m, be, &q, dir, l, s->layers, &s->lstm,
                             carry_state ? s->keep_c[i] : NULL, carry_state ? s->keep_h[i] : NULL);
        }
    s->positions = positions;
    copy_words(s, b, hidden);
    return CE_OK;
}

const float *ce_elmo_state_positions(const void *state, size_t *positions)
{
    const elmo_state *s = state;
    *positions = s->positions;
    return s->positions ? s->layers : NULL;
}

static ce_lin_list *elmo_linears(void *model_data)
{
    return &((elmo_model *)model_data)->lins;
}

const ce_arch_ops ce_arch_elmo = {
    .name = "elmo",
    .caps = CE_CAP_BIDIRECTIONAL,
    .load = elmo_load,
    .free = elmo_free,
    .linears = elmo_linears,
    .session_create = elmo_session_create,
    .session_free = elmo_session_free,
    .forward_words = elmo_forward_words,
    .reset_state = elmo_reset_state,
};
