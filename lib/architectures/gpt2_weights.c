/* GPT-2 tensors: GPT2Model names, or GPT2LMHeadModel's "transformer." prefix; the LM head is
 * tied to wte unless lm_head.weight exists. Causal-mask buffers (h.*.attn.bias) are ignored. */
#include <stdio.h>

#include "architectures/gpt2.h"
#include "architectures/tensor_specs.h"
#include "core/error.h"

/* A Conv1D [in, out] with bias, bound from the file and listed for preparing. */
static void add_conv1d(ce_spec_list *l, ce_lin_list *lins, ce_lin *lin, const char *name,
                       int64_t in, int64_t out, ce_activation act)
{
    ce_specs_add_linear(l, &lin->w, &lin->b, &lin->src, name, in, out, out);
    ce_lin_setup(lins, lin, (size_t)in, (size_t)out, CE_NO_TRANS, act, name);
}

static void add_layer(ce_spec_list *l, gpt2_model *m, gpt2_layer *ly, int64_t i, int64_t d,
                      int64_t f)
{
    char n[128];
    ce_lin_list *lins = &m->lins;
#define NAME(s) (snprintf(n, sizeof n, "h.%lld.%s", (long long)i, s), n)
    ce_specs_add_norm(l, &ly->ln1_g, &ly->ln1_b, NAME("ln_1"), d);
    add_conv1d(l, lins, &ly->attn, NAME("attn.c_attn"), d, 3 * d, CE_ACT_NONE);
    add_conv1d(l, lins, &ly->proj, NAME("attn.c_proj"), d, d, CE_ACT_NONE);
    ce_specs_add_norm(l, &ly->ln2_g, &ly->ln2_b, NAME("ln_2"), d);
    add_conv1d(l, lins, &ly->fc, NAME("mlp.c_fc"), d, f, m->cfg.activation);
    add_conv1d(l, lins, &ly->fc2, NAME("mlp.c_proj"), f, d, CE_ACT_NONE);
#undef NAME
}

static void build_specs(gpt2_model *m, ce_spec_list *l)
{
    const gpt2_config *c = &m->cfg;
    ce_specs_add(l, &m->wte, "wte.weight", c->vocab_size, c->n_embd, CE_INIT_NORMAL);
    ce_specs_add(l, &m->wpe, "wpe.weight", c->n_positions, c->n_embd, CE_INIT_NORMAL);
    for (int64_t i = 0; i < c->n_layer; i++)
        add_layer(l, m, &m->layers[i], i, c->n_embd, c->n_inner);
    ce_specs_add_norm(l, &m->lnf_g, &m->lnf_b, "ln_f", c->n_embd);
}

static const char *detect_prefix(const ce_weights *w)
{
    if (!ce_weights_find(w, "wte.weight") && ce_weights_find(w, "transformer.wte.weight"))
        return "transformer.";
    return "";
}

/* lm_head.weight sits outside the "transformer." prefix in GPT2LMHeadModel. */
static ce_status bind_head(gpt2_model *m, ce_weights *w)
{
    m->lm_head.w = m->wte;
    if (!ce_weights_find(w, "lm_head.weight")) {
        if (!m->cfg.tie_word_embeddings)
            return ce_error(CE_ERR_NOT_FOUND,
                            "tie_word_embeddings is false but the weights have no 'lm_head.weight'");
        return CE_OK;
    }
    int64_t shape[2] = {m->cfg.vocab_size, m->cfg.n_embd};
    return ce_weights_get_f32_deferred(w, "lm_head.weight", 2, shape, &m->lm_head.w,
                                       &m->lm_head.src);
}

ce_status ce_gpt2_bind_weights(gpt2_model *m, ce_weights *w, uint64_t seed)
{
    ce_spec_list l = {0};
    build_specs(m, &l);
    ce_status st = w ? ce_specs_bind(&l, w, detect_prefix(w)) : ce_specs_random(&l, seed, &m->owned);
    ce_specs_free(&l);
    size_t d = (size_t)m->cfg.n_embd, v = (size_t)m->cfg.vocab_size;
    ce_lin_setup(&m->lins, &m->lm_head, d, v, CE_TRANS, CE_ACT_NONE, "lm_head.weight");
    if (st == CE_OK && w)
        st = bind_head(m, w);
    else if (st == CE_OK)
        m->lm_head.w = m->wte;
    m->lm_head.b = NULL;
    m->lm_head.w_shared = m->lm_head.w == m->wte; /* tied: the embedding table too */
    return st;
}
