/* One GPT-2 block (pre-LayerNorm, causal attention, MLP), on packed sequences or on the
 * KV cache, plus the embedding lookup both paths share. */
#include <math.h>
#include <string.h>

#include "architectures/gpt2.h"

void ce_gpt2_embed(const gpt2_model *m, ce_backend *be, const int32_t *ids, size_t rows,
                   const ce_batch *batch, size_t pos0, float *x)
{
    size_t d = (size_t)m->cfg.n_embd;
    if (!batch) {
        for (size_t r = 0; r < rows; r++)
            be->ops.add(be->ctx, d, m->wte + (size_t)ids[r] * d, m->wpe + (pos0 + r) * d, x + r * d);
        return;
    }
    for (size_t s = 0; s < batch->n_seqs; s++)
        for (size_t p = 0; p < batch->lengths[s]; p++) {
            size_t t = batch->starts[s] + p;
            be->ops.add(be->ctx, d, m->wte + (size_t)ids[t] * d, m->wpe + p * d, x + t * d);
        }
}

static float attn_scale(const gpt2_config *c, size_t layer)
{
    float scale = c->scale_attn_weights ? 1.0f / sqrtf((float)(c->n_embd / c->n_head)) : 1.0f;
    return c->scale_by_inverse_layer_idx ? scale / (float)(layer + 1) : scale;
}

/* Attention of the packed batch: each sequence sees only its own earlier tokens. */
static void attend_batch(const gpt2_model *m, gpt2_state *s, ce_backend *be, size_t layer,
                         const ce_batch *b)
{
    size_t d = (size_t)m->cfg.n_embd, heads = (size_t)m->cfg.n_head;
    for (size_t i = 0; i < b->n_seqs; i++) {
        const float *q = s->qkv + b->starts[i] * 3 * d;
        size_t len = b->lengths[i];
        ce_attn_args a = {len, len, heads, d / heads, q, q + d, q + 2 * d, 3 * d, 3 * d, 3 * d,
                          attn_scale(&m->cfg, layer), 1, 0, s->ctx + b->starts[i] * d, d};
        ce_attention(be, &a);
    }
}

/* Store this block's keys and values at cache_pos.., then attend over the whole cache. */
static void attend_cache(const gpt2_model *m, gpt2_state *s, ce_backend *be, size_t layer,
                         size_t rows, size_t cache_pos)
{
    size_t d = (size_t)m->cfg.n_embd, heads = (size_t)m->cfg.n_head;
    float *kc = s->k_cache + layer * s->cache_cap * d;
    float *vc = s->v_cache + layer * s->cache_cap * d;
    for (size_t r = 0; r < rows; r++) {
        memcpy(kc + (cache_pos + r) * d, s->qkv + r * 3 * d + d, d * sizeof(float));
        memcpy(vc + (cache_pos + r) * d, s->qkv + r * 3 * d + 2 * d, d * sizeof(float));
    }
    ce_attn_args a = {rows, cache_pos + rows, heads, d / heads, s->qkv, kc, vc, 3 * d, d, d,
                      attn_scale(&m->cfg, layer), 1, cache_pos, s->ctx, d};
    ce_attention(be, &a);
}

void ce_gpt2_block(const gpt2_model *m, gpt2_state *s, ce_backend *be, size_t layer, float *x,
                   size_t rows, const ce_batch *batch, size_t cache_pos)
{
    const gpt2_config *c = &m->cfg;
    const gpt2_layer *ly = &m->layers[layer];
    size_t d = (size_t)c->n_embd, f = (size_t)c->n_inner;
    be->ops.layer_norm(be->ctx, rows, d, x, d, ly->ln1_g, ly->ln1_b, c->layer_norm_eps, s->h, d);
    ce_lin_apply(be, &ly->attn, rows, s->h, d, 0.0f, s->qkv, 3 * d);
    if (batch)
        attend_batch(m, s, be, layer, batch);
    else
        attend_cache(m, s, be, layer, rows, cache_pos);
    /* the residual stream x summed by the products themselves */
    ce_lin_apply(be, &ly->proj, rows, s->ctx, d, 1.0f, x, d);
    be->ops.layer_norm(be->ctx, rows, d, x, d, ly->ln2_g, ly->ln2_b, c->layer_norm_eps, s->h, d);
    ce_lin_apply(be, &ly->fc, rows, s->h, d, 0.0f, s->ff, f);
    ce_lin_apply(be, &ly->fc2, rows, s->ff, f, 1.0f, x, d);
}
