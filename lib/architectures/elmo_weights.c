/* ELMo tensors, named as in the original HDF5 file (tools/convert_elmo.py keeps
 * the names): char_embed, CNN/..., CNN_high_{h}/..., CNN_proj/...,
 * RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/{W_0, B, W_P_0}. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "architectures/elmo.h"
#include "core/error.h"
#include "core/rng.h"

typedef struct spec {
    const float **dst;
    char name[96];
    int ndim;
    int64_t shape[4];
    int bias; /* random init: zeros instead of normal */
} spec;

typedef struct spec_list {
    spec *items;
    size_t n;
} spec_list;

static void add(spec_list *l, const float **dst, int bias, int ndim, const int64_t *shape,
                const char *fmt, ...) CE_PRINTF(6, 7);

static void add(spec_list *l, const float **dst, int bias, int ndim, const int64_t *shape,
                const char *fmt, ...)
{
    spec *s = &l->items[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->dst = dst;
    s->ndim = ndim;
    memcpy(s->shape, shape, (size_t)ndim * sizeof *shape);
    s->bias = bias;
}

#define SHAPE(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static void add_tokens(spec_list *l, elmo_model *m)
{
    const elmo_config *c = &m->cfg;
    int64_t w = c->cnn_width;
    add(l, &m->char_embed, 0, SHAPE(ELMO_CHAR_ROWS, c->char_dim), "char_embed");
    for (size_t i = 0; i < c->n_filters; i++) {
        add(l, &m->cnn_w[i], 0, SHAPE(1, c->filters[i].width, c->char_dim, c->filters[i].num),
            "CNN/W_cnn_%zu", i);
        add(l, &m->cnn_b[i], 1, SHAPE(c->filters[i].num), "CNN/b_cnn_%zu", i);
    }
    for (int64_t h = 0; h < c->n_highway; h++) {
        elmo_highway *hw = &m->highway[h];
        add(l, &hw->w_carry, 0, SHAPE(w, w), "CNN_high_%lld/W_carry", (long long)h);
        add(l, &hw->w_transform, 0, SHAPE(w, w), "CNN_high_%lld/W_transform", (long long)h);
        add(l, &hw->b_carry, 1, SHAPE(w), "CNN_high_%lld/b_carry", (long long)h);
        add(l, &hw->b_transform, 1, SHAPE(w), "CNN_high_%lld/b_transform", (long long)h);
    }
    if (c->cnn_proj) {
        add(l, &m->proj_w, 0, SHAPE(w, c->proj_dim), "CNN_proj/W_proj");
        add(l, &m->proj_b, 1, SHAPE(c->proj_dim), "CNN_proj/b_proj");
    }
}

static void add_cells(spec_list *l, elmo_model *m)
{
    const elmo_config *c = &m->cfg;
    for (int d = 0; d < 2; d++)
        for (int64_t i = 0; i < c->n_layers; i++) {
            elmo_cell *cell = &m->cells[(size_t)d * (size_t)c->n_layers + (size_t)i];
            const char *fmt = "RNN_%d/RNN/MultiRNNCell/Cell%lld/LSTMCell/%s";
            add(l, &cell->w, 0, SHAPE(2 * c->proj_dim, 4 * c->lstm_dim), fmt, d, (long long)i,
                "W_0");
            add(l, &cell->b, 1, SHAPE(4 * c->lstm_dim), fmt, d, (long long)i, "B");
            if (c->lstm_proj)
                add(l, &cell->w_p, 0, SHAPE(c->lstm_dim, c->proj_dim), fmt, d, (long long)i,
                    "W_P_0");
        }
}

static size_t count_of(const spec *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->shape[i];
    return n;
}

static ce_status draw_random(elmo_model *m, spec_list *l, uint64_t seed)
{
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += count_of(&l->items[i]);
    m->owned = malloc(total * sizeof(float));
    if (!m->owned)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "random ELMo: cannot allocate %zu weights", total);
    ce_rng rng;
    ce_rng_seed(&rng, seed);
    float *p = m->owned;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = count_of(&l->items[i]);
        if (l->items[i].bias)
            memset(p, 0, n * sizeof *p);
        else
            ce_rng_normal(&rng, p, n, 0.0f, 0.02f);
        *l->items[i].dst = p;
        p += n;
    }
    return CE_OK;
}

/* A tensor the options do not account for means options and weights disagree
 * (a layer or filter count differs): refuse rather than guess. */
static ce_status check_unused(const spec_list *l, const ce_weights *w)
{
    for (size_t i = 0; i < ce_weights_count(w); i++) {
        const ce_tensor_info *t = ce_weights_at(w, i);
        size_t k = 0;
        while (k < l->n && strcmp(l->items[k].name, t->name))
            k++;
        if (k == l->n)
            return ce_error(CE_ERR_FORMAT,
                            "%s: tensor \"%s\" is not used by the options (n_layers, filters, "
                            "n_highway or projection_dim differ from the weights')",
                            t->file, t->name);
    }
    return CE_OK;
}

static ce_status bind_file(spec_list *l, ce_weights *w)
{
    for (size_t i = 0; i < l->n; i++) {
        spec *s = &l->items[i];
        ce_status st = ce_weights_get_f32(w, s->name, s->ndim, s->shape, s->dst);
        if (st != CE_OK)
            return st;
    }
    return check_unused(l, w);
}

static ce_status alloc_slots(elmo_model *m)
{
    const elmo_config *c = &m->cfg;
    m->cnn_w = calloc(c->n_filters, sizeof *m->cnn_w);
    m->cnn_b = calloc(c->n_filters, sizeof *m->cnn_b);
    m->highway = calloc((size_t)c->n_highway + 1, sizeof *m->highway);
    m->cells = calloc(2 * (size_t)c->n_layers, sizeof *m->cells);
    if (!m->cnn_w || !m->cnn_b || !m->highway || !m->cells)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: out of memory");
    return CE_OK;
}

ce_status ce_elmo_bind_weights(elmo_model *m, ce_weights *w, uint64_t seed)
{
    const elmo_config *c = &m->cfg;
    size_t cap = 3 + 2 * c->n_filters + 4 * (size_t)c->n_highway + 6 * (size_t)c->n_layers;
    spec_list l = {calloc(cap, sizeof(spec)), 0};
    ce_status st = l.items ? alloc_slots(m) : ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: out of memory");
    if (st == CE_OK) {
        add_tokens(&l, m);
        add_cells(&l, m);
        st = w ? bind_file(&l, w) : draw_random(m, &l, seed);
    }
    free(l.items);
    return st;
}

/* The recurrent half of W_0, transposed and with the gates in the backend's
 * order, copied once per model. Each time step multiplies a few rows of h by
 * it; read in place, its rows are 4 * lstm_dim floats apart (64 KB for the
 * original ELMo), a power-of-two stride on which BLIS ran that product at
 * 27-32 GFLOP/s against 55 for the transposed copy (32 x 16384 x 512, one
 * thread). The copy also spares swapping gate blocks at every step. */
static void transpose_cell(const elmo_config *c, const float *w, float *out)
{
    static const size_t from[4] = {0, 2, 1, 3}; /* i, f, j, o from TF's i, j, f, o */
    size_t dim = (size_t)c->lstm_dim, proj = (size_t)c->proj_dim, g4 = 4 * dim;
    const float *h_rows = w + proj * g4;
    for (size_t g = 0; g < 4; g++)
        for (size_t u0 = 0; u0 < dim; u0 += 64)
            for (size_t p0 = 0; p0 < proj; p0 += 64) /* 64 x 64 tiles stay in cache */
                for (size_t u = u0; u < dim && u < u0 + 64; u++)
                    for (size_t p = p0; p < proj && p < p0 + 64; p++)
                        out[(g * dim + u) * proj + p] = h_rows[p * g4 + from[g] * dim + u];
}

ce_status ce_elmo_prepare_recurrent(elmo_model *m)
{
    const elmo_config *c = &m->cfg;
    size_t per = 4 * (size_t)c->lstm_dim * (size_t)c->proj_dim, n = 2 * (size_t)c->n_layers;
    m->recurrent = malloc(n * per * sizeof(float));
    if (!m->recurrent)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: cannot allocate %zu recurrent weights",
                        n * per);
    for (size_t i = 0; i < n; i++) {
        transpose_cell(c, m->cells[i].w, m->recurrent + i * per);
        m->cells[i].w_h_t = m->recurrent + i * per;
    }
    return CE_OK;
}

static void lin(elmo_model *m, ce_lin *l, const float *w, const float *b, size_t in, size_t out,
                ce_transpose layout, ce_activation act, const char *name)
{
    ce_lin_setup(&m->lins, l, in, out, layout, act, name);
    l->w = w;
    l->b = b;
}

static void list_cell(elmo_model *m, elmo_cell *cell, int dir, int64_t layer)
{
    const elmo_config *c = &m->cfg;
    size_t dim = (size_t)c->lstm_dim, proj = (size_t)c->proj_dim;
    char n[96];
    snprintf(n, sizeof n, "RNN_%d/RNN/MultiRNNCell/Cell%lld/LSTMCell/W_0", dir, (long long)layer);
    lin(m, &cell->input, cell->w, cell->b, proj, 4 * dim, CE_NO_TRANS, CE_ACT_NONE, n);
    lin(m, &cell->recurrent, cell->w_h_t, NULL, proj, 4 * dim, CE_TRANS, CE_ACT_NONE, n);
    if (c->lstm_proj) {
        snprintf(n, sizeof n, "RNN_%d/RNN/MultiRNNCell/Cell%lld/LSTMCell/W_P_0", dir,
                 (long long)layer);
        lin(m, &cell->project, cell->w_p, NULL, dim, proj, CE_NO_TRANS, CE_ACT_NONE, n);
    }
}

ce_status ce_elmo_list_linears(elmo_model *m)
{
    const elmo_config *c = &m->cfg;
    size_t w = (size_t)c->cnn_width, cd = (size_t)c->char_dim;
    char n[96];
    m->cnn = calloc(c->n_filters ? c->n_filters : 1, sizeof *m->cnn);
    if (!m->cnn)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: out of memory");
    for (size_t i = 0; i < c->n_filters; i++) {
        snprintf(n, sizeof n, "CNN/W_cnn_%zu", i);
        lin(m, &m->cnn[i], m->cnn_w[i], m->cnn_b[i], (size_t)c->filters[i].width * cd,
            (size_t)c->filters[i].num, CE_NO_TRANS, CE_ACT_NONE, n);
    }
    for (int64_t h = 0; h < c->n_highway; h++) {
        elmo_highway *hw = &m->highway[h];
        snprintf(n, sizeof n, "CNN_high_%lld/W_carry", (long long)h);
        lin(m, &hw->carry, hw->w_carry, hw->b_carry, w, w, CE_NO_TRANS, CE_ACT_SIGMOID, n);
        snprintf(n, sizeof n, "CNN_high_%lld/W_transform", (long long)h);
        lin(m, &hw->transform, hw->w_transform, hw->b_transform, w, w, CE_NO_TRANS, CE_ACT_RELU,
            n);
    }
    if (c->cnn_proj)
        lin(m, &m->proj, m->proj_w, m->proj_b, w, (size_t)c->proj_dim, CE_NO_TRANS, CE_ACT_NONE,
            "CNN_proj/W_proj");
    for (int d = 0; d < 2; d++)
        for (int64_t i = 0; i < c->n_layers; i++)
            list_cell(m, &m->cells[(size_t)d * (size_t)c->n_layers + (size_t)i], d, i);
    return m->lins.failed ? ce_error(CE_ERR_OUT_OF_MEMORY, "ELMo: out of memory") : CE_OK;
}
