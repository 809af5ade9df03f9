/* ELMo's context-independent token embeddings: character embedding, a
 * convolution per filter width (max over all positions, then the activation),
 * highway layers, projection. Convolutions run as one GEMM per filter and
 * chunk of tokens over an im2col copy: a window of w characters is w * dim
 * consecutive floats of the embedded word, which matches the rows of the
 * filter's HWIO weights [1, w, dim, num] read as [w * dim, num]. */
#include <string.h>

#include "architectures/elmo.h"

size_t ce_elmo_cnn_scratch_floats(const elmo_config *c)
{
    size_t per_token = (size_t)c->max_chars * (size_t)c->char_dim;
    size_t chars = ELMO_CNN_CHUNK * per_token;
    size_t cols = chars * (size_t)c->max_width;
    size_t conv = ELMO_CNN_CHUNK * (size_t)c->max_chars * (size_t)c->max_num;
    return chars + cols + conv;
}

/* Id 0 (no character) embeds to zero; id i >= 1 is row i - 1 of char_embed. */
static void embed_chars(const elmo_model *m, size_t n, const int32_t *ids, float *chars)
{
    size_t cd = (size_t)m->cfg.char_dim, count = n * (size_t)m->cfg.max_chars;
    for (size_t i = 0; i < count; i++) {
        if (ids[i] <= 0)
            memset(chars + i * cd, 0, cd * sizeof *chars);
        else
            memcpy(chars + i * cd, m->char_embed + (size_t)(ids[i] - 1) * cd, cd * sizeof *chars);
    }
}

/* Filter @p f over @p n tokens: out[t][0..num) = max over positions of the
 * convolution (bias included), before the activation. */
static void convolve(const elmo_model *m, ce_backend *be, size_t f, size_t n, const float *chars,
                     float *cols, float *conv, float *out, size_t ldo)
{
    const elmo_config *c = &m->cfg;
    size_t mc = (size_t)c->max_chars, cd = (size_t)c->char_dim;
    size_t w = (size_t)c->filters[f].width, num = (size_t)c->filters[f].num;
    size_t npos = mc - w + 1, k = w * cd;
    for (size_t t = 0; t < n; t++)
        for (size_t p = 0; p < npos; p++)
            memcpy(cols + (t * npos + p) * k, chars + (t * mc + p) * cd, k * sizeof *cols);
    ce_lin_apply(be, &m->cnn[f], n * npos, cols, k, 0.0f, conv, num);
    be->ops.max_rows(be->ctx, n, npos, num, conv, out, ldo);
}

static void char_cnn(const elmo_model *m, ce_backend *be, size_t n, const int32_t *ids, float *x,
                     float *scratch)
{
    const elmo_config *c = &m->cfg;
    size_t width = (size_t)c->cnn_width, mc = (size_t)c->max_chars;
    float *chars = scratch;
    float *cols = chars + ELMO_CNN_CHUNK * mc * (size_t)c->char_dim;
    float *conv = cols + ELMO_CNN_CHUNK * mc * (size_t)c->char_dim * (size_t)c->max_width;
    for (size_t t0 = 0; t0 < n; t0 += ELMO_CNN_CHUNK) {
        size_t cnt = n - t0 < ELMO_CNN_CHUNK ? n - t0 : ELMO_CNN_CHUNK;
        embed_chars(m, cnt, ids + t0 * mc, chars);
        size_t off = 0;
        for (size_t f = 0; f < c->n_filters; f++) {
            convolve(m, be, f, cnt, chars, cols, conv, x + t0 * width + off, width);
            off += (size_t)c->filters[f].num;
        }
    }
    if (c->tanh)
        be->ops.tanh(be->ctx, n * width, x);
    else
        be->ops.relu(be->ctx, n * width, x);
}

/* x = g * t + (1 - g) * x with g = sigmoid(x Wc + bc), t = relu(x Wt + bt). */
static void highway(const elmo_model *m, ce_backend *be, size_t n, float *x, float *g, float *t)
{
    size_t w = (size_t)m->cfg.cnn_width;
    for (int64_t h = 0; h < m->cfg.n_highway; h++) {
        const elmo_highway *hw = &m->highway[h];
        ce_lin_apply(be, &hw->carry, n, x, w, 0.0f, g, w);
        ce_lin_apply(be, &hw->transform, n, x, w, 0.0f, t, w);
        be->ops.gate_mix(be->ctx, n * w, g, t, x);
    }
}

void ce_elmo_token_embeddings(const elmo_model *m, ce_backend *be, size_t n, const int32_t *ids,
                              float *act, float *scratch, float *e, size_t lde)
{
    const elmo_config *c = &m->cfg;
    size_t w = (size_t)c->cnn_width;
    float *x = act, *g = act + n * w, *t = g + n * w;
    char_cnn(m, be, n, ids, x, scratch);
    highway(m, be, n, x, g, t);
    if (c->cnn_proj) {
        ce_lin_apply(be, &m->proj, n, x, w, 0.0f, e, lde);
        return;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(e + i * lde, x + i * w, w * sizeof *e);
}
