/* GPT-2 incremental decoding: a per-layer KV cache that grows with the context (never past
 * n_positions), so a prompt then one token at a time costs one pass over each new token. */
#include <stdlib.h>
#include <string.h>

#include "architectures/gpt2.h"
#include "core/error.h"

/* Grow the cache to hold @p need positions, keeping the first @p keep of each layer. */
static ce_status cache_reserve(gpt2_state *s, const gpt2_config *c, size_t need, size_t keep)
{
    if (need <= s->cache_cap)
        return CE_OK;
    size_t cap = s->cache_cap ? s->cache_cap * 2 : 64;
    if (cap < need)
        cap = need;
    if (cap > (size_t)c->n_positions)
        cap = (size_t)c->n_positions;
    size_t d = (size_t)c->n_embd, layers = (size_t)c->n_layer;
    float *k = malloc(layers * cap * d * sizeof(float));
    float *v = malloc(layers * cap * d * sizeof(float));
    if (!k || !v) {
        free(k);
        free(v);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "GPT-2: cannot allocate a KV cache of %zu positions",
                        cap);
    }
    for (size_t l = 0; l < layers && keep; l++) {
        memcpy(k + l * cap * d, s->k_cache + l * s->cache_cap * d, keep * d * sizeof(float));
        memcpy(v + l * cap * d, s->v_cache + l * s->cache_cap * d, keep * d * sizeof(float));
    }
    free(s->k_cache);
    free(s->v_cache);
    s->k_cache = k;
    s->v_cache = v;
    s->cache_cap = cap;
    return CE_OK;
}

ce_status ce_gpt2_append(const void *model_data, void *state, ce_backend *be, const int32_t *ids,
                         size_t n, int all_logits, float *logits)
{
    const gpt2_model *m = model_data;
    gpt2_state *s = state;
    const gpt2_config *c = &m->cfg;
    size_t pos0 = s->ctx_len, d = (size_t)c->n_embd;
    ce_status st = cache_reserve(s, c, pos0 + n, pos0);
    if (st == CE_OK)
        st = ce_gpt2_reserve(s, c, n);
    if (st != CE_OK)
        return st;
    ce_gpt2_embed(m, be, ids, n, NULL, pos0, s->x);
    for (size_t l = 0; l < (size_t)c->n_layer; l++)
        ce_gpt2_block(m, s, be, l, s->x, n, NULL, pos0);
    size_t rows = all_logits ? n : 1;
    const float *src = all_logits ? s->x : s->x + (n - 1) * d;
    be->ops.layer_norm(be->ctx, rows, d, src, d, m->lnf_g, m->lnf_b, c->layer_norm_eps, s->h, d);
    ce_lin_apply(be, &m->lm_head, rows, s->h, d, 0.0f, logits, (size_t)c->vocab_size);
    s->ctx_len = pos0 + n;
    return CE_OK;
}

size_t ce_gpt2_context_length(const void *state)
{
    return ((const gpt2_state *)state)->ctx_len;
}

void ce_gpt2_rewind(void *state, size_t length)
{
    gpt2_state *s = state;
    if (length < s->ctx_len)
        s->ctx_len = length;
}

ce_status ce_gpt2_copy_state(const void *model_data, void *dst_state, const void *src_state)
{
    const gpt2_model *m = model_data;
    gpt2_state *dst = dst_state;
    const gpt2_state *src = src_state;
    size_t len = src->ctx_len, d = (size_t)m->cfg.n_embd;
    ce_status st = cache_reserve(dst, &m->cfg, len, 0);
    if (st != CE_OK)
        return st;
    for (size_t l = 0; l < (size_t)m->cfg.n_layer && len; l++) {
        memcpy(dst->k_cache + l * dst->cache_cap * d, src->k_cache + l * src->cache_cap * d,
               len * d * sizeof(float));
        memcpy(dst->v_cache + l * dst->cache_cap * d, src->v_cache + l * src->cache_cap * d,
               len * d * sizeof(float));
    }
    dst->ctx_len = len;
    return CE_OK;
}
