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

/* Rows of a classifier "<name>.weight" [rows, hidden]: the number of labels. */
static ce_status label_rows(const ce_weights *w, const char *name, int64_t hidden, int64_t *rows)
{
    const ce_tensor_info *t = find(w, "", name);
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[0] > 1000000 || t->shape[1] != hidden)
        return ce_error(CE_ERR_FORMAT, "tensor '%s.weight': expected [labels, %lld]", name,
                        (long long)hidden);
    *rows = t->shape[0];
    return CE_OK;
}

static void add_linear(ce_spec_list *l, ce_lin_list *lins, ce_lin *lin, const char *name,
                       int64_t out, int64_t in, ce_activation act)
{
    ce_specs_add_affine(l, &lin->w, &lin->b, name, out, in, out);
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
    bool pooler = n->pooler && find(w, prefix, n->pooler);
    bool pre = n->seq_pre ? find(w, "", n->seq_pre) != NULL : pooler;
    bool nsp = pooler && find(w, "", n->nsp);
    bool seq = pre && find(w, "", n->seq_out);
    bool tok = find(w, "", n->tok_out) && !(seq && !strcmp(n->tok_out, n->seq_out));
    if (find(w, "", n->mlm_transform))
        add_mlm(m, n, w, l);
    if (pooler && (nsp || (seq && !n->seq_pre)))
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
    if (st == CE_OK && find(w, "", n->qa)) {
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
    if (st == CE_OK && !m->heads.mlm_decoder.w)
        m->heads.mlm_decoder.w = m->word_emb; /* tied */
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

/* transform, LayerNorm, decoder: out [tokens, vocab] */
static ce_status mlm_forward(const ce_encoder *m, ce_backend *be, const float *x, size_t tokens,
                             float *out)
{
    const ce_encoder_heads *h = &m->heads;
    size_t d = (size_t)m->cfg.hidden_size;
    float *t = malloc(tokens * d * sizeof *t);
    if (!t)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "masked LM head: out of memory");
    ce_lin_apply(be, &h->mlm_transform, tokens, x, d, 0.0f, t, d);
    be->ops.layer_norm(be->ctx, tokens, d, t, d, h->mlm_ln_g, h->mlm_ln_b, h->mlm_eps, t, d);
    ce_lin_apply(be, &h->mlm_decoder, tokens, t, d, 0.0f, out, h->mlm_decoder.out);
    free(t);
    return CE_OK;
}

/* a first-token layer, then the output layer: out [size] */
static ce_status first_token_forward(const ce_encoder *m, ce_backend *be, const ce_lin *first,
                                     const ce_lin *last, const float *x, float *out)
{
    size_t d = (size_t)m->cfg.hidden_size;
    float *t = malloc(d * sizeof *t);
    if (!t)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "classification head: out of memory");
    ce_lin_apply(be, first, 1, x, d, 0.0f, t, d);
    ce_lin_apply(be, last, 1, t, d, 0.0f, out, last->out);
    free(t);
    return CE_OK;
}

ce_status ce_encoder_head_forward(const void *model_data, ce_backend *be, ce_head head,
                                  const float *x, size_t tokens, float *out)
{
    const ce_encoder *m = model_data;
    const ce_encoder_heads *h = &m->heads;
    size_t d = (size_t)m->cfg.hidden_size;
    switch (head) {
    case CE_HEAD_MASKED_LM: return mlm_forward(m, be, x, tokens, out);
    case CE_HEAD_NEXT_SENTENCE: return first_token_forward(m, be, &h->pooler, &h->nsp, x, out);
    case CE_HEAD_SEQUENCE_CLASSIFICATION:
        return first_token_forward(m, be, h->seq_first, &h->seq_out, x, out);
    case CE_HEAD_TOKEN_CLASSIFICATION:
        ce_lin_apply(be, &h->tok_out, tokens, x, d, 0.0f, out, h->tok_out.out);
        return CE_OK;
    default:
        ce_lin_apply(be, &h->qa, tokens, x, d, 0.0f, out, 2);
        return CE_OK;
    }
}
