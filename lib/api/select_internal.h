/* Internal: the fields behind ce_select and the readout it drives. */
#ifndef CE_API_SELECT_INTERNAL_H
#define CE_API_SELECT_INTERNAL_H

#include "contextembed/session.h"

#define CE_SELECT_MAX_LAYERS 4096

typedef enum { CE_SELECT_LAYERS, CE_SELECT_ALL, CE_SELECT_MIX } ce_select_mode;

struct ce_select {
    ce_select_mode mode;
    int32_t *layers; /* CE_SELECT_LAYERS: n_layers indices (may be negative) */
    int32_t one_layer[1];
    size_t n_layers;
    float *mix; /* CE_SELECT_MIX: n_mix raw weights */
    size_t n_mix;
    float gamma;
    int mix_layer_norm;
    ce_pool pool;
    int normalize; /* -1: not set (CE_POOL_DEFAULT then follows the model), else 0/1 */
};

/* What CE_POOL_DEFAULT means for a model: its own sentence pooling
 * (a sentence-transformers directory's Pooling and Normalize modules). */
typedef struct ce_model_pooling {
    unsigned modes; /* bits 1u << ce_pool; 0 when the model has none */
    int normalize;
    int64_t max_seq_length; /* 0 when the model does not set one */
    int lowercase;          /* do_lower_case: lower-case text before tokenizing */
} ce_model_pooling;

/* Pooling modes in the order sentence-transformers concatenates them. */
#define CE_POOL_MODES_MAX 6

void ce_select_init_default(ce_select *s);

/* A selection checked against a model: layer indices made absolute. */
typedef struct ce_readout {
    const ce_select *sel;
    ce_pool modes[CE_POOL_MODES_MAX]; /* pooling modes, concatenated; none when n_modes 0 */
    size_t n_modes;
    int normalize;
    size_t n_planes;  /* output layers (1 for a mix) */
    int32_t *layers;  /* n_planes absolute indices, unless a mix */
    double *weights;  /* softmax(mix) * gamma, n_layers_total of them, for a mix */
    size_t n_total;   /* model's output layers */
    double *mean, *inv_std; /* per layer, for a mix with layer norm (filled by write) */
} ce_readout;

/* Check @p sel against a model with @p n_out output layers and its own pooling
 * @p model (for CE_POOL_DEFAULT); allocates. */
ce_status ce_readout_prepare(const ce_select *sel, size_t n_out, const ce_model_pooling *model,
                             ce_readout *r);
void ce_readout_release(ce_readout *r);

/* Output shape of a sequence of @p tokens tokens of width @p dim. */
void ce_readout_shape(const ce_readout *r, size_t tokens, size_t dim, size_t shape[3], size_t *ndim);

/* Fill @p out from hidden states laid out [n_out][stride_tokens][dim], for the
 * sequence starting at row @p start with @p tokens rows. */
void ce_readout_write(ce_readout *r, const float *hidden, size_t stride_tokens, size_t dim,
                      size_t start, size_t tokens, float *out);

#endif
