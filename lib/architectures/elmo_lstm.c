/* ELMo's LSTM (TensorFlow's LSTMCell with projection and clipping) over packed
 * sentences of different lengths, one direction of one layer per call.
 *
 * The input-to-gate product of every position of every sentence is one GEMM;
 * each time step then adds the recurrent product of the sentences still
 * running, one GEMM over those batch rows. Sentences are visited longest
 * first, so the rows still running are always a prefix and a finished row
 * keeps its final state, which is what a carried state needs. TF orders the
 * gates i, j, f, o; the backend's lstm_cell wants i, f, j, o: the input part
 * is gathered in that order, and the recurrent weights were reordered when
 * the model was loaded (elmo_weights.c). */
#include <string.h>

#include "architectures/elmo.h"

/* Position of the sentence in row @p k at step @p t: the backward direction
 * reads each sentence from its end. */
static size_t position(const elmo_seqs *q, size_t k, size_t t, int dir)
{
    size_t s = q->order[k];
    return q->start[s] + (dir ? q->len[s] - 1 - t : t);
}

/* One row of the input part in the backend's gate order i, f, j, o. */
static void gather_gates(const float *tf, size_t dim, float *dst)
{
    memcpy(dst, tf, dim * sizeof *dst);
    memcpy(dst + dim, tf + 2 * dim, dim * sizeof *dst);
    memcpy(dst + 2 * dim, tf + dim, dim * sizeof *dst);
    memcpy(dst + 3 * dim, tf + 3 * dim, dim * sizeof *dst);
}

static void load_state(const elmo_seqs *q, const elmo_lstm_scratch *s, size_t dim, size_t proj,
                       const float *keep_c, const float *keep_h)
{
    if (!keep_c) {
        memset(s->c, 0, q->n * dim * sizeof *s->c);
        memset(s->h, 0, q->n * proj * sizeof *s->h);
        return;
    }
    for (size_t k = 0; k < q->n; k++) {
        memcpy(s->c + k * dim, keep_c + q->order[k] * dim, dim * sizeof *s->c);
        memcpy(s->h + k * proj, keep_h + q->order[k] * proj, proj * sizeof *s->h);
    }
}

static void store_state(const elmo_seqs *q, const elmo_lstm_scratch *s, size_t dim, size_t proj,
                        float *keep_c, float *keep_h)
{
    for (size_t k = 0; keep_c && k < q->n; k++) {
        memcpy(keep_c + q->order[k] * dim, s->c + k * dim, dim * sizeof *s->c);
        memcpy(keep_h + q->order[k] * proj, s->h + k * proj, proj * sizeof *s->h);
    }
}

/* Gates of the first @p rows rows at step @p t: input part plus recurrent part. */
static void gates(const elmo_seqs *q, ce_backend *be, const elmo_cell *cell, size_t dim,
                  size_t proj, size_t rows, size_t t, int dir, const elmo_lstm_scratch *s)
{
    size_t g4 = 4 * dim;
    for (size_t k = 0; k < rows; k++)
        gather_gates(s->xw + position(q, k, t, dir) * g4, dim, s->gates + k * g4);
    ce_lin_apply(be, &cell->recurrent, rows, s->h, proj, 1.0f, s->gates, g4);
}

/* The cell update and projection of the first @p rows rows. */
static void step(const elmo_model *m, ce_backend *be, const elmo_cell *cell, size_t rows,
                 const elmo_lstm_scratch *s)
{
    const elmo_config *c = &m->cfg;
    size_t dim = (size_t)c->lstm_dim, proj = (size_t)c->proj_dim, g4 = 4 * dim;
    if (!c->lstm_proj) { /* proj == dim: the cell output is the state */
        be->ops.lstm_cell(be->ctx, rows, dim, s->gates, g4, 1.0f, c->cell_clip, s->c, dim, s->h,
                          proj);
        return;
    }
    be->ops.lstm_cell(be->ctx, rows, dim, s->gates, g4, 1.0f, c->cell_clip, s->c, dim, s->cell,
                      dim);
    ce_lin_apply(be, &cell->project, rows, s->cell, dim, 0.0f, s->h, proj);
    if (c->proj_clip > 0.0f)
        be->ops.clip(be->ctx, rows * proj, c->proj_clip, s->h);
}

void ce_elmo_lstm_run(const elmo_model *m, ce_backend *be, const elmo_seqs *q, int dir,
                      int64_t layer, float *layers, const elmo_lstm_scratch *s, float *keep_c,
                      float *keep_h)
{
    const elmo_config *c = &m->cfg;
    size_t dim = (size_t)c->lstm_dim, proj = (size_t)c->proj_dim, g4 = 4 * dim, ld = 2 * proj;
    size_t plane = q->positions * ld;
    const float *in = layers + (size_t)layer * plane + (size_t)dir * proj;
    float *out = layers + (size_t)(layer + 1) * plane + (size_t)dir * proj;
    const elmo_cell *cell = &m->cells[(size_t)dir * (size_t)c->n_layers + (size_t)layer];
    int skip = c->skip && layer > 0;

    ce_lin_apply(be, &cell->input, q->positions, in, ld, 0.0f, s->xw, g4);
    load_state(q, s, dim, proj, keep_c, keep_h);
    size_t rows = q->n;
    for (size_t t = 0; t < q->max_len; t++) {
        while (rows && q->len[q->order[rows - 1]] <= t)
            rows--;
        gates(q, be, cell, dim, proj, rows, t, dir, s);
        step(m, be, cell, rows, s);
        for (size_t k = 0; k < rows; k++) {
            size_t p = position(q, k, t, dir);
            if (skip)
                be->ops.add(be->ctx, proj, s->h + k * proj, in + p * ld, out + p * ld);
            else
                memcpy(out + p * ld, s->h + k * proj, proj * sizeof *out);
        }
    }
    store_state(q, s, dim, proj, keep_c, keep_h);
}
