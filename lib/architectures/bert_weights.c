/* BERT tensors: the names Hugging Face writes, with or without the "bert." prefix
 * (BertModel vs BertForMaskedLM and friends); heads the encoder does not use are ignored. */
#include <stdio.h>

#include "architectures/bert.h"
#include "architectures/tensor_specs.h"
#include "core/error.h"

/* A torch.nn.Linear [out, in] with bias, bound from the file and listed for preparing. */
static void add_linear(ce_spec_list *l, ce_lin_list *lins, ce_lin *lin, const char *name,
                       int64_t out, int64_t in, ce_activation act)
{
    ce_specs_add_affine(l, &lin->w, &lin->b, name, out, in, out);
    ce_lin_setup(lins, lin, (size_t)in, (size_t)out, CE_TRANS, act, name);
}

static void add_layer(ce_spec_list *l, bert_model *m, bert_layer *ly, int64_t i, int64_t d,
                      int64_t f)
{
    char n[128];
    ce_lin_list *lins = &m->lins;
#define NAME(s) (snprintf(n, sizeof n, "encoder.layer.%lld.%s", (long long)i, s), n)
    add_linear(l, lins, &ly->q, NAME("attention.self.query"), d, d, CE_ACT_NONE);
    add_linear(l, lins, &ly->k, NAME("attention.self.key"), d, d, CE_ACT_NONE);
    add_linear(l, lins, &ly->v, NAME("attention.self.value"), d, d, CE_ACT_NONE);
    add_linear(l, lins, &ly->attn_out, NAME("attention.output.dense"), d, d, CE_ACT_NONE);
    ce_specs_add_norm(l, &ly->attn_ln_g, &ly->attn_ln_b, NAME("attention.output.LayerNorm"), d);
    add_linear(l, lins, &ly->inter, NAME("intermediate.dense"), f, d, m->cfg.activation);
    add_linear(l, lins, &ly->out, NAME("output.dense"), d, f, CE_ACT_NONE);
    ce_specs_add_norm(l, &ly->out_ln_g, &ly->out_ln_b, NAME("output.LayerNorm"), d);
#undef NAME
}

static void build_specs(bert_model *m, ce_spec_list *l)
{
    const bert_config *c = &m->cfg;
    int64_t d = c->hidden_size;
    ce_specs_add(l, &m->word_emb, "embeddings.word_embeddings.weight", c->vocab_size, d,
                 CE_INIT_NORMAL);
    ce_specs_add(l, &m->pos_emb, "embeddings.position_embeddings.weight", c->max_positions, d,
                 CE_INIT_NORMAL);
    ce_specs_add(l, &m->type_emb, "embeddings.token_type_embeddings.weight", c->type_vocab_size, d,
                 CE_INIT_NORMAL);
    ce_specs_add_norm(l, &m->emb_ln_g, &m->emb_ln_b, "embeddings.LayerNorm", d);
    for (int64_t i = 0; i < c->num_layers; i++)
        add_layer(l, m, &m->layers[i], i, d, c->intermediate_size);
}

/* BertModel checkpoints name tensors "embeddings...."; task models nest the
 * encoder under "bert.". */
static const char *detect_prefix(const ce_weights *w)
{
    if (!ce_weights_find(w, "embeddings.word_embeddings.weight") &&
        ce_weights_find(w, "bert.embeddings.word_embeddings.weight"))
        return "bert.";
    return "";
}

ce_status ce_bert_bind_weights(bert_model *m, ce_weights *w, uint64_t seed)
{
    ce_spec_list l = {0};
    build_specs(m, &l);
    ce_status st = w ? ce_specs_bind(&l, w, detect_prefix(w)) : ce_specs_random(&l, seed, &m->owned);
    ce_specs_free(&l);
    return st;
}
