/* GPT-2: model lifecycle, per-session scratch and KV cache, the stateless batch forward
 * (hidden states as Hugging Face reports them) and incremental decoding. */
#include <stdlib.h>
#include <string.h>

#include "architectures/gpt2.h"
#include "core/error.h"

static ce_status gpt2_load(const ce_json *config, const char *source, ce_weights *w, uint64_t seed,
                           void **model_data, ce_model_dims *dims)
{
    gpt2_model *m = calloc(1, sizeof *m);
    if (!m)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "GPT-2: out of memory");
    ce_status st = ce_gpt2_parse_config(config, source, &m->cfg);
    if (st == CE_OK) {
        m->layers = calloc((size_t)m->cfg.n_layer, sizeof *m->layers);
        st = m->layers ? ce_gpt2_bind_weights(m, w, seed)
                       : ce_error(CE_ERR_OUT_OF_MEMORY, "GPT-2: out of memory");
    }
    if (st != CE_OK) {
        ce_lin_list_free(&m->lins);
        free(m->layers);
        free(m->owned);
        free(m);
        return st;
    }
    const gpt2_config *c = &m->cfg;
    int64_t d = c->n_embd, f = c->n_inner;
    int64_t per_layer = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d);
    *dims = (ce_model_dims){
        .num_layers = c->n_layer,
        .hidden_size = d,
        .num_heads = c->n_head,
        .vocab_size = c->vocab_size,
        .max_positions = c->n_positions,
        .num_output_layers = c->n_layer + 1,
        .intermediate_size = f,
        .type_vocab_size = 0,
        .parameters = (c->vocab_size + c->n_positions) * d + 2 * d + c->n_layer * per_layer +
                      (m->lm_head.w != m->wte ? c->vocab_size * d : 0),
    };
    dims->weight_bytes = dims->parameters * (int64_t)sizeof(float);
    *model_data = m;
    return CE_OK;
}

static void gpt2_free(void *model_data)
{
    gpt2_model *m = model_data;
    if (!m)
        return;
    ce_lin_list_free(&m->lins);
    free(m->layers);
    free(m->owned);
    free(m);
}

static void scratch_release(gpt2_state *s)
{
    free(s->x);
    free(s->h);
    free(s->qkv);
    free(s->ctx);
    free(s->ff);
}

static ce_status gpt2_session_create(const void *model_data, void **state)
{
    (void)model_data;
    gpt2_state *s = calloc(1, sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "GPT-2 session: out of memory");
    *state = s;
    return CE_OK;
}

static void gpt2_session_free(void *state)
{
    gpt2_state *s = state;
    if (!s)
        return;
    scratch_release(s);
    free(s->k_cache);
    free(s->v_cache);
    free(s);
}

ce_status ce_gpt2_reserve(gpt2_state *s, const gpt2_config *c, size_t rows)
{
    if (rows <= s->cap_rows)
        return CE_OK;
    gpt2_state n = {0};
    n.cap_rows = rows;
    size_t rd = n.cap_rows * (size_t)c->n_embd * sizeof(float);
    n.x = malloc(rd);
    n.h = malloc(rd);
    n.ctx = malloc(rd);
    n.qkv = malloc(3 * rd);
    n.ff = malloc(n.cap_rows * (size_t)c->n_inner * sizeof(float));
    if (!n.x || !n.h || !n.ctx || !n.qkv || !n.ff) {
        scratch_release(&n);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "GPT-2: cannot allocate scratch for %zu tokens", rows);
    }
    scratch_release(s);
    s->x = n.x, s->h = n.h, s->ctx = n.ctx, s->qkv = n.qkv, s->ff = n.ff;
    s->cap_rows = n.cap_rows;
    return CE_OK;
}

static ce_status gpt2_forward(const void *model_data, void *state, ce_backend *be,
                              const ce_batch *b, float *hidden)
{
    const gpt2_model *m = model_data;
    gpt2_state *s = state;
    ce_status st = ce_gpt2_reserve(s, &m->cfg, b->total);
    if (st != CE_OK)
        return st;
    size_t d = (size_t)m->cfg.n_embd, plane = b->total * d, layers = (size_t)m->cfg.n_layer;
    ce_gpt2_embed(m, be, b->ids, b->total, b, 0, hidden);
    for (size_t l = 0; l < layers; l++) {
        float *x = hidden + (l + 1) * plane;
        memcpy(x, hidden + l * plane, plane * sizeof(float));
        ce_gpt2_block(m, s, be, l, x, b->total, b, 0);
    }
    /* Hugging Face reports the last hidden state after ln_f */
    float *last = hidden + layers * plane;
    be->ops.layer_norm(be->ctx, b->total, d, last, d, m->lnf_g, m->lnf_b, m->cfg.layer_norm_eps,
                       last, d);
    return CE_OK;
}

static ce_lin_list *gpt2_linears(void *model_data)
{
    return &((gpt2_model *)model_data)->lins;
}

const ce_arch_ops ce_arch_gpt2 = {
    .name = "gpt2",
    .class_prefix = "GPT2",
    .load = gpt2_load,
    .free = gpt2_free,
    .linears = gpt2_linears,
    .session_create = gpt2_session_create,
    .session_free = gpt2_session_free,
    .forward = gpt2_forward,
    .append = ce_gpt2_append,
    .context_length = ce_gpt2_context_length,
    .rewind = ce_gpt2_rewind,
    .copy_state = ce_gpt2_copy_state,
};
