/* Internal: BERT-family encoder (Hugging Face BertModel semantics). */
#ifndef CE_ARCH_BERT_H
#define CE_ARCH_BERT_H

#include "architectures/arch.h"
#include "architectures/layers.h"

typedef struct bert_config {
    int64_t vocab_size;
    int64_t hidden_size;
    int64_t num_layers;
    int64_t num_heads;
    int64_t intermediate_size;
    int64_t max_positions;
    int64_t type_vocab_size;
    float layer_norm_eps;
    ce_activation activation;
} bert_config;

typedef struct bert_layer {
    ce_lin q, k, v, attn_out, inter, out;
    const float *attn_ln_g, *attn_ln_b, *out_ln_g, *out_ln_b;
} bert_layer;

typedef struct bert_model {
    bert_config cfg;
    const float *word_emb, *pos_emb, *type_emb, *emb_ln_g, *emb_ln_b;
    bert_layer *layers;
    ce_lin_list lins;
    float *owned; /* random weights (ce_model_open_random), else NULL */
} bert_model;

/* config.json -> bert_config, every value checked. */
ce_status ce_bert_parse_config(const ce_json *config, const char *source, bert_config *cfg);

/* Bind (or, with w == NULL, draw) every tensor the config implies. */
ce_status ce_bert_bind_weights(bert_model *m, ce_weights *w, uint64_t seed);

#endif
