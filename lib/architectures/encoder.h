/* Internal: the post-LayerNorm Transformer encoder that BERT, RoBERTa and
 * DistilBERT share (Hugging Face BertModel semantics). A family file parses its
 * config into a ce_encoder_config, names its tensors in a ce_encoder_names and
 * calls ce_encoder_load; the forward pass and sessions are common. */
#ifndef CE_ARCH_ENCODER_H
#define CE_ARCH_ENCODER_H

#include "architectures/arch.h"
#include "architectures/layers.h"

typedef struct ce_encoder_config {
    int64_t vocab_size;
    int64_t hidden_size;
    int64_t num_layers;
    int64_t num_heads;
    int64_t intermediate_size;
    int64_t position_rows;   /* rows of the position table (max_position_embeddings) */
    int64_t position_offset; /* position id of a sequence's first token (RoBERTa: pad + 1) */
    /* RoBERTa: a token with this id sits at position offset - 1 and is not
     * counted by the tokens after it, as Hugging Face computes positions from
     * the padding mask; -1 when positions simply count tokens */
    int64_t position_pad_id;
    int64_t type_vocab_size; /* 0: no token type embedding */
    int sinusoidal;          /* positions computed when the file has no table (DistilBERT) */
    float layer_norm_eps;
    ce_activation activation;
} ce_encoder_config;

/* Where a family keeps its task heads (Hugging Face's *For* models). Head
 * tensors are named at the top level of the file, except the pooler, which
 * sits under the encoder's prefix. NULL: the family has no such part. */
typedef struct ce_head_names {
    /* masked LM: transform (dense + activation + LayerNorm), then the decoder,
     * tied to the word embeddings unless the file stores its weight */
    const char *mlm_transform, *mlm_norm, *mlm_decoder, *mlm_bias;
    int mlm_act;   /* a ce_activation, or -1 for the encoder's own */
    float mlm_eps; /* 0: the encoder's LayerNorm epsilon */
    const char *pooler; /* BERT: dense + tanh on the first token */
    const char *nsp;    /* next-sentence layer on the pooler */
    /* sequence classification: seq_pre (dense + seq_pre_act on the first
     * token; NULL: the pooler) then seq_out */
    const char *seq_pre, *seq_out;
    ce_activation seq_pre_act;
    const char *tok_out; /* per-token classifier */
    const char *qa;      /* per-token start / end layer */
} ce_head_names;

/* Where a family keeps its tensors. Layer names are "<layer><part>" with
 * <layer> a printf format taking the layer index (long long). */
typedef struct ce_encoder_names {
    const char *word, *position, *token_type; /* full tensor names */
    const char *emb_norm;                     /* LayerNorm prefix (".weight", ".bias") */
    const char *layer;
    const char *q, *k, *v, *attn_out, *attn_norm, *inter, *out, *out_norm;
    /* prefixes of task checkpoints (BertForMaskedLM's "bert.", ...), NULL-ended;
     * the bare names are tried first */
    const char *const *prefixes;
    ce_head_names heads;
} ce_encoder_names;

/* The heads a checkpoint carries, bound when their tensors are present. */
typedef struct ce_encoder_heads {
    unsigned present; /* bits 1 << ce_head */
    ce_lin mlm_transform, mlm_decoder;
    const float *mlm_ln_g, *mlm_ln_b;
    float mlm_eps;
    ce_lin pooler, nsp, seq_pre, seq_out, tok_out, qa;
    const ce_lin *seq_first; /* &pooler or &seq_pre */
} ce_encoder_heads;

typedef struct ce_encoder_layer {
    ce_lin q, k, v, attn_out, inter, out;
    const float *attn_ln_g, *attn_ln_b, *out_ln_g, *out_ln_b;
} ce_encoder_layer;

typedef struct ce_encoder {
    ce_encoder_config cfg;
    const float *word_emb, *pos_emb, *type_emb, *emb_ln_g, *emb_ln_b;
    ce_encoder_layer *layers;
    ce_lin_list lins;
    float *owned;     /* random weights (ce_model_open_random), else NULL */
    float *owned_pos; /* a computed sinusoidal table, else NULL */
    ce_encoder_heads heads;
} ce_encoder;

/* Checks shared by every family's config (head split, sizes); @p source names
 * the config in messages. */
ce_status ce_encoder_check_config(const ce_encoder_config *c, const char *source);

/* Build the encoder of @p cfg from @p w (or random from @p seed when w is NULL)
 * with the tensor names @p names: the ce_arch_ops load of every encoder family. */
ce_status ce_encoder_load(const ce_encoder_config *cfg, const ce_encoder_names *names,
                          ce_weights *w, uint64_t seed, void **model_data, ce_model_dims *dims);

/* Bind (or, with w == NULL, draw) every tensor; internal to ce_encoder_load. */
ce_status ce_encoder_bind_weights(ce_encoder *m, const ce_encoder_names *names, ce_weights *w,
                                  uint64_t seed);

/* Find and bind the heads of @p w (none for random models); internal to
 * ce_encoder_load. @p prefix is the encoder's task prefix. */
ce_status ce_encoder_bind_heads(ce_encoder *m, const ce_head_names *names, ce_weights *w,
                                const char *prefix);

unsigned ce_encoder_heads_present(const void *model_data);
size_t ce_encoder_head_size(const void *model_data, ce_head head);
ce_status ce_encoder_head_forward(const void *model_data, void *state, ce_backend *be,
                                  ce_head head, const float *x, size_t tokens, float *out);

/* The session's scratch of at least @p tokens x hidden floats, free between
 * runs (the heads use it after a run). */
float *ce_encoder_scratch(void *state, size_t tokens);

void ce_encoder_free(void *model_data);
ce_lin_list *ce_encoder_linears(void *model_data);
ce_status ce_encoder_session_create(const void *model_data, void **state);
void ce_encoder_session_free(void *state);
ce_status ce_encoder_forward(const void *model_data, void *state, ce_backend *be,
                             const ce_batch *batch, float *hidden);

/* BERT's config.json keys read into @p cfg (RoBERTa uses the same keys);
 * type_vocab_size defaults to @p type_default when absent. */
ce_status ce_bert_parse_config(const ce_json *config, const char *source, int64_t type_default,
                               ce_encoder_config *cfg);

/* BERT's tensor names (RoBERTa's are the same but for the task prefix). */
const ce_encoder_names *ce_bert_names(void);

/* The ce_arch_ops members every encoder family shares. */
#define CE_ENCODER_OPS                                                                            \
    .free = ce_encoder_free, .linears = ce_encoder_linears,                                       \
    .session_create = ce_encoder_session_create, .session_free = ce_encoder_session_free,         \
    .forward = ce_encoder_forward, .caps = CE_CAP_BIDIRECTIONAL,                                  \
    .heads = ce_encoder_heads_present, .head_size = ce_encoder_head_size,                         \
    .head_forward = ce_encoder_head_forward

#endif
