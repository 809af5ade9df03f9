/* Internal: GPT-2 family decoder (Hugging Face GPT2Model / GPT2LMHeadModel semantics). */
#ifndef CE_ARCH_GPT2_H
#define CE_ARCH_GPT2_H

#include "architectures/arch.h"
#include "architectures/layers.h"

typedef struct gpt2_config {
    int64_t vocab_size;
    int64_t n_embd;
    int64_t n_layer;
    int64_t n_head;
    int64_t n_positions;
    int64_t n_inner;
    float layer_norm_eps;
    ce_activation activation;
    int scale_attn_weights;
    int scale_by_inverse_layer_idx;
    int tie_word_embeddings;
} gpt2_config;

typedef struct gpt2_layer {
    const float *ln1_g, *ln1_b;
    ce_lin attn; /* Conv1D [D, 3D] */
    ce_lin proj; /* [D, D] */
    const float *ln2_g, *ln2_b;
    ce_lin fc;   /* [D, F], with the activation */
    ce_lin fc2;  /* [F, D] */
} gpt2_layer;

typedef struct gpt2_model {
    gpt2_config cfg;
    const float *wte, *wpe, *lnf_g, *lnf_b;
    ce_lin lm_head; /* [V, D]: wte unless the checkpoint has its own */
    gpt2_layer *layers;
    ce_lin_list lins;
    float *owned;
} gpt2_model;

/* Per-session scratch and KV cache. */
typedef struct gpt2_state {
    size_t cap_rows;
    float *x, *h, *qkv, *ctx, *ff;
    size_t cache_cap;        /* positions the cache holds per layer */
    float *k_cache, *v_cache; /* [n_layer][cache_cap][D] */
    size_t ctx_len;
} gpt2_state;

ce_status ce_gpt2_parse_config(const ce_json *config, const char *source, gpt2_config *cfg);
ce_status ce_gpt2_bind_weights(gpt2_model *m, ce_weights *w, uint64_t seed);

/* Scratch for @p rows rows. */
ce_status ce_gpt2_reserve(gpt2_state *s, const gpt2_config *c, size_t rows);

/* One block on rows x[rows, D] (in place). With @p batch, attention runs within
 * each packed sequence; without, this block's K/V rows are stored in the cache
 * at cache_pos.. and the rows attend over the whole cache. */
void ce_gpt2_block(const gpt2_model *m, gpt2_state *s, ce_backend *be, size_t layer, float *x,
                   size_t rows, const ce_batch *batch, size_t cache_pos);

/* x[rows, D] = wte[ids] + wpe[pos0 + i] (positions restart per sequence with a batch). */
void ce_gpt2_embed(const gpt2_model *m, ce_backend *be, const int32_t *ids, size_t rows,
                   const ce_batch *batch, size_t pos0, float *x);

/* Incremental decoding (gpt2_decode.c), the ops table's decoder slots. */
ce_status ce_gpt2_append(const void *model_data, void *state, ce_backend *be, const int32_t *ids,
                         size_t n, int all_logits, float *logits);
size_t ce_gpt2_context_length(const void *state);
void ce_gpt2_rewind(void *state, size_t length);
ce_status ce_gpt2_copy_state(const void *model_data, void *dst, const void *src);

extern const ce_arch_ops ce_arch_gpt2;

#endif
