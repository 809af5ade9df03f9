/* Encoder tensors under the names a family gives, with or without a task
 * model's prefix ("bert." in BertForMaskedLM and friends); heads the encoder
 * does not use are ignored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "architectures/encoder.h"
#include "architectures/tensor_specs.h"
#include "core/error.h"

/* A torch.nn.Linear [out, in] with bias, bound from the file and listed for preparing. */
static void add_linear(ce_spec_list *l, ce_lin_list *lins, ce_lin *lin, const char *name,
                       int64_t out, int64_t in, ce_activation act)
{
    ce_specs_add_linear(l, &lin->w, &lin->b, &lin->src, name, out, in, out);
    ce_lin_setup(lins, lin, (size_t)in, (size_t)out, CE_TRANS, act, name);
}

static void add_layer(ce_spec_list *l, ce_encoder *m, const ce_encoder_names *nm, int64_t i)
{
    char n[192], pre[96];
    int64_t d = m->cfg.hidden_size, f = m->cfg.intermediate_size;
    ce_encoder_layer *ly = &m->layers[i];
    ce_lin_list *lins = &m->lins;
    snprintf(pre, sizeof pre, nm->layer, (long long)i);
#define NAME(s) (snprintf(n, sizeof n, "%s%s", pre, s), n)
    add_linear(l, lins, &ly->q, NAME(nm->q), d, d, CE_ACT_NONE);
    add_linear(l, lins, &ly->k, NAME(nm->k), d, d, CE_ACT_NONE);
    add_linear(l, lins, &ly->v, NAME(nm->v), d, d, CE_ACT_NONE);
    add_linear(l, lins, &ly->attn_out, NAME(nm->attn_out), d, d, CE_ACT_NONE);
    ce_specs_add_norm(l, &ly->attn_ln_g, &ly->attn_ln_b, NAME(nm->attn_norm), d);
    add_linear(l, lins, &ly->inter, NAME(nm->inter), f, d, m->cfg.activation);
    add_linear(l, lins, &ly->out, NAME(nm->out), d, f, CE_ACT_NONE);
    ce_specs_add_norm(l, &ly->out_ln_g, &ly->out_ln_b, NAME(nm->out_norm), d);
#undef NAME
}

static void build_specs(ce_encoder *m, const ce_encoder_names *nm, ce_spec_list *l)
{
    const ce_encoder_config *c = &m->cfg;
    int64_t d = c->hidden_size;
    ce_specs_add(l, &m->word_emb, nm->word, c->vocab_size, d, CE_INIT_NORMAL);
    ce_specs_add(l, &m->pos_emb, nm->position, c->position_rows, d, CE_INIT_NORMAL);
    if (c->sinusoidal && !l->failed) /* computed when absent */
        l->items[l->n - 1].optional = 1;
    if (c->type_vocab_size > 0)
        ce_specs_add(l, &m->type_emb, nm->token_type, c->type_vocab_size, d, CE_INIT_NORMAL);
    ce_specs_add_norm(l, &m->emb_ln_g, &m->emb_ln_b, nm->emb_norm, d);
    for (int64_t i = 0; i < c->num_layers; i++)
        add_layer(l, m, nm, i);
}

/* Bare names first; else the first task prefix under which the word embedding is found. */
static const char *detect_prefix(const ce_weights *w, const ce_encoder_names *nm)
{
    if (ce_weights_find(w, nm->word))
        return "";
    for (const char *const *p = nm->prefixes; p && *p; p++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", *p, nm->word);
        if (ce_weights_find(w, name))
            return *p;
    }
    return "";
}

/* Hugging Face's create_sinusoidal_embeddings: sin on even columns, cos on odd,
 * angle pos / 10000^(2 (j / 2) / dim), computed in double. */
static ce_status sinusoidal_table(ce_encoder *m)
{
    size_t rows = (size_t)m->cfg.position_rows, d = (size_t)m->cfg.hidden_size;
    float *t = malloc(rows * d * sizeof *t);
    if (!t)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "encoder: cannot allocate the position table");
    for (size_t p = 0; p < rows; p++)
        for (size_t j = 0; j < d; j++) {
            double angle = (double)p / pow(10000.0, 2.0 * (double)(j / 2) / (double)d);
            t[p * d + j] = (float)(j % 2 ? cos(angle) : sin(angle));
        }
    m->owned_pos = t;
    m->pos_emb = t;
    return CE_OK;
}

ce_status ce_encoder_bind_weights(ce_encoder *m, const ce_encoder_names *names, ce_weights *w,
                                  uint64_t seed)
{
    ce_spec_list l = {0};
    build_specs(m, names, &l);
    const char *prefix = w ? detect_prefix(w, names) : "";
    ce_status st = w ? ce_specs_bind(&l, w, prefix) : ce_specs_random(&l, seed, &m->owned);
    ce_specs_free(&l);
    if (st == CE_OK && !m->pos_emb)
        st = sinusoidal_table(m);
    if (st == CE_OK && w)
        st = ce_encoder_bind_heads(m, &names->heads, w, prefix);
    return st;
}
