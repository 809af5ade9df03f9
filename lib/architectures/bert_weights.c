/* BERT tensors: the names Hugging Face writes, with or without the "bert." prefix
 * (BertModel vs BertForMaskedLM and friends); heads the encoder does not use are ignored. */
#include <stdio.h>

#include "architectures/bert.h"
#include "architectures/tensor_specs.h"
#include "core/error.h"

static void add_layer(ce_spec_list *l, bert_layer *ly, int64_t i, int64_t d, int64_t f)
{
    char n[128];
#define NAME(s) (snprintf(n, sizeof n, "encoder.layer.%lld.%s", (long long)i, s), n)
    ce_specs_add_affine(l, &ly->q_w, &ly->q_b, NAME("attention.self.query"), d, d, d);
    ce_specs_add_affine(l, &ly->k_w, &ly->k_b, NAME("attention.self.key"), d, d, d);
    ce_specs_add_affine(l, &ly->v_w, &ly->v_b, NAME("attention.self.value"), d, d, d);
    ce_specs_add_affine(l, &ly->attn_out_w, &ly->attn_out_b, NAME("attention.output.dense"), d, d,
                        d);
    ce_specs_add_norm(l, &ly->attn_ln_g, &ly->attn_ln_b, NAME("attention.output.LayerNorm"), d);
    ce_specs_add_affine(l, &ly->inter_w, &ly->inter_b, NAME("intermediate.dense"), f, d, f);
    ce_specs_add_affine(l, &ly->out_w, &ly->out_b, NAME("output.dense"), d, f, d);
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
        add_layer(l, &m->layers[i], i, d, c->intermediate_size);
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
