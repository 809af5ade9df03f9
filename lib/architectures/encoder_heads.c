/* Task heads of encoder checkpoints (BertForMaskedLM, *ForSequenceClassification,
 * ...): which ones a file carries, told apart by their tensor names as Hugging
 * Face's classes name them, and their forward passes on the last layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "architectures/encoder.h"
#include "architectures/tensor_specs.h"
#include "core/error.h"

/* The tensor "<name>.weight" (with @p prefix), or NULL. */
static const ce_tensor_info *find(const ce_weights *w, const char *prefix, const char *name)
{
    char full[256];
    if (!name)
        return NULL;
    snprintf(full, sizeof full, "%s%s.weight", prefix, name);
    return ce_weights_find(w, full);
}

/* "<name>.weight" or "<name>.bias" is in the file: the layer is meant to be
 * there, and binding then names whatever part of it is missing. */
static bool has_layer(const ce_weights *w, const char *prefix, const char *name)
{
    char full[256];
    if (!name)
        return false;
    snprintf(full, sizeof full, "%s%s.bias", prefix, name);
    return find(w, prefix, name) || ce_weights_find(w, full);
}

/* Rows of a classifier "<name>.weight" [rows, hidden]: the number of labels. */
static ce_status label_rows(const ce_weights *w, const char *name, int64_t hidden, int64_t *rows)
{
    const ce_tensor_info *t = find(w, "", name);
    if (!t)
        return ce_error(CE_ERR_NOT_FOUND, "tensor '%s.weight' is missing (its bias is there)",
                        name);
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[0] > 1000000 || t->shape[1] != hidden)
        return ce_error(CE_ERR_FORMAT, "tensor '%s.weight': expected [labels, %lld]", name,
                        (long long)hidden);
    *rows = t->shape[0];
    return CE_OK;
}

static void add_linear(ce_spec_list *l, ce_lin_list *lins, ce_lin *lin, const char *name,
                       int64_t out, int64_t in, ce_activation act)
{
    ce_specs_add_linear(l, &lin->w, &lin->b, &lin->src, name, out, in, out);
    ce_lin_setup(lins, lin, (size_t)in, (size_t)out, CE_TRANS, act, name);
}

static void add_mlm(ce_encoder *m, const ce_head_names *n, const ce_weights *w, ce_spec_list *l)
{
    ce_encoder_heads *h = &m->heads;
    int64_t d = m->cfg.hidden_size, v = m->cfg.vocab_size;
    ce_activation act = n->mlm_act < 0 ? m->cfg.activation : (ce_activation)n->mlm_act;
    h->mlm_eps = n->mlm_eps > 0 ? n->mlm_eps : m->cfg.layer_norm_eps;
    add_linear(l, &m->lins, &h->mlm_transform, n->mlm_transform, d, d, act);
    ce_specs_add_norm(l, &h->mlm_ln_g, &h->mlm_ln_b, n->mlm_norm, d);
    char name[192];
    if (find(w, "", n->mlm_decoder)) { /* untied */
        snprintf(name, sizeof name, "%s.weight", n->mlm_decoder);
        ce_specs_add(l, &h->mlm_decoder.w, name, v, d, CE_INIT_NORMAL);
        if (!l->failed)
            l->items[l->n - 1].deferred = &h->mlm_decoder.src;
    }
    ce_specs_add(l, &h->mlm_decoder.b, n->mlm_bias, v, 0, CE_INIT_ZERO);
    ce_lin_setup(&m->lins, &h->mlm_decoder, (size_t)d, (size_t)v, CE_TRANS, CE_ACT_NONE,
                 n->mlm_decoder ? n->mlm_decoder : "decoder");
    h->present |= 1u << CE_HEAD_MASKED_LM;
}

/* Which heads the file has: Hugging Face's classes differ in names only (a
 * token classifier is BERT's "classifier" without the pooler a sequence
 * classifier needs). The pooler sits under the encoder's prefix. */
static ce_status add_heads(ce_encoder *m, const ce_head_names *n, const ce_weights *w,
                           const char *prefix, ce_spec_list *pooler_specs, ce_spec_list *l)
{
    ce_encoder_heads *h = &m->heads;
    int64_t d = m->cfg.hidden_size, rows;
    bool pooler = has_layer(w, prefix, n->pooler);
    bool pre = n->seq_pre ? has_layer(w, "", n->seq_pre) : pooler;
    bool nsp = has_layer(w, "", n->nsp);
    bool seq = pre && has_layer(w, "", n->seq_out);
    bool tok = has_layer(w, "", n->tok_out) && !(seq && !strcmp(n->tok_out, n->seq_out));
    if (has_layer(w, "", n->mlm_transform) || has_layer(w, "", n->mlm_norm) ||
        (n->mlm_bias && ce_weights_find(w, n->mlm_bias)))
        add_mlm(m, n, w, l);
    if (nsp || (seq && !n->seq_pre)) /* binding names the pooler when it is missing */
        add_linear(pooler_specs, &m->lins, &h->pooler, n->pooler, d, d, CE_ACT_TANH);
    if (seq && n->seq_pre)
        add_linear(l, &m->lins, &h->seq_pre, n->seq_pre, d, d, n->seq_pre_act);
    h->seq_first = n->seq_pre ? &h->seq_pre : &h->pooler;
    if (nsp) {
        add_linear(l, &m->lins, &h->nsp, n->nsp, 2, d, CE_ACT_NONE);
        h->present |= 1u << CE_HEAD_NEXT_SENTENCE;
    }
    ce_status st = seq ? label_rows(w, n->seq_out, d, &rows) : CE_OK;
    if (seq && st == CE_OK) {
        add_linear(l, &m->lins, &h->seq_out, n->seq_out, rows, d, CE_ACT_NONE);
        h->present |= 1u << CE_HEAD_SEQUENCE_CLASSIFICATION;
    }
    if (tok && st == CE_OK && (st = label_rows(w, n->tok_out, d, &rows)) == CE_OK) {
        add_linear(l, &m->lins, &h->tok_out, n->tok_out, rows, d, CE_ACT_NONE);
        h->present |= 1u << CE_HEAD_TOKEN_CLASSIFICATION;
    }
    if (st == CE_OK && has_layer(w, "", n->qa)) {
        add_linear(l, &m->lins, &h->qa, n->qa, 2, d, CE_ACT_NONE);
        h->present |= 1u << CE_HEAD_QUESTION_ANSWERING;
    }
    return st;
}

ce_status ce_encoder_bind_heads(ce_encoder *m, const ce_head_names *names, ce_weights *w,
                                const char *prefix)
{
    ce_spec_list pooler_specs = {0}, l = {0};
    ce_status st = add_heads(m, names, w, prefix, &pooler_specs, &l);
    if (st == CE_OK && m->lins.failed)
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "encoder heads: out of memory");
    if (st == CE_OK)
        st = ce_specs_bind(&pooler_specs, w, prefix);
    if (st == CE_OK)
        st = ce_specs_bind(&l, w, "");
    if (st == CE_OK && !m->heads.mlm_decoder.w && !m->heads.mlm_decoder.src) {
        m->heads.mlm_decoder.w = m->word_emb; /* tied */
        m->heads.mlm_decoder.w_shared = 1;
    }
    ce_specs_free(&pooler_specs);
    ce_specs_free(&l);
    if (st != CE_OK)
        m->heads.present = 0;
    return st;
}

unsigned ce_encoder_heads_present(const void *model_data)
{
    return ((const ce_encoder *)model_data)->heads.present;
}

size_t ce_encoder_head_size(const void *model_data, ce_head head)
{
    const ce_encoder *m = model_data;
    switch (head) {
    case CE_HEAD_MASKED_LM: return (size_t)m->cfg.vocab_size;
    case CE_HEAD_SEQUENCE_CLASSIFICATION: return m->heads.seq_out.out;
    case CE_HEAD_TOKEN_CLASSIFICATION: return m->heads.tok_out.out;
    default: return 2;
    }
}

/* transform, LayerNorm, decoder: out [tokens, vocab]; t is [tokens, hidden] scratch */
static void mlm_forward(const ce_encoder *m, ce_backend *be, const float *x, size_t tokens,
                        float *t, float *out)
{
    const ce_encoder_heads *h = &m->heads;
    size_t d = (size_t)m->cfg.hidden_size;
    ce_lin_apply(be, &h->mlm_transform, tokens, x, d, 0.0f, t, d);
    be->ops.layer_norm(be->ctx, tokens, d, t, d, h->mlm_ln_g, h->mlm_ln_b, h->mlm_eps, t, d);
    ce_lin_apply(be, &h->mlm_decoder, tokens, t, d, 0.0f, out, h->mlm_decoder.out);
}

ce_status ce_encoder_head_forward(const void *model_data, void *state, ce_backend *be,
                                  ce_head head, const float *x, size_t tokens, float *out)
{
    const ce_encoder *m = model_data;
    const ce_encoder_heads *h = &m->heads;
    size_t d = (size_t)m->cfg.hidden_size;
    float *t = ce_encoder_scratch(state, tokens);
    if (!t) /* the run that made x had at least as many tokens */
        return ce_error(CE_ERR_STATE, "encoder head: no scratch for %zu tokens", tokens);
    switch (head) {
    case CE_HEAD_MASKED_LM: mlm_forward(m, be, x, tokens, t, out); break;
    case CE_HEAD_NEXT_SENTENCE: /* pooler, then the layer on it */
        ce_lin_apply(be, &h->pooler, 1, x, d, 0.0f, t, d);
        ce_lin_apply(be, &h->nsp, 1, t, d, 0.0f, out, 2);
        break;
    case CE_HEAD_SEQUENCE_CLASSIFICATION:
        ce_lin_apply(be, h->seq_first, 1, x, d, 0.0f, t, d);
        ce_lin_apply(be, &h->seq_out, 1, t, d, 0.0f, out, h->seq_out.out);
        break;
    case CE_HEAD_TOKEN_CLASSIFICATION:
        ce_lin_apply(be, &h->tok_out, tokens, x, d, 0.0f, out, h->tok_out.out);
        break;
    default: ce_lin_apply(be, &h->qa, tokens, x, d, 0.0f, out, 2); break;
    }
    return CE_OK;
}
