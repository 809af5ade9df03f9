/* Internal: layers shared by the model families, written on the backend vtable. */
#ifndef CE_ARCH_LAYERS_H
#define CE_ARCH_LAYERS_H

#include <stddef.h>

#include "backends/backend_internal.h"
#include "io/weights.h"

typedef enum ce_activation {
    CE_ACT_GELU_ERF,
    CE_ACT_GELU_TANH,
    CE_ACT_RELU,
    CE_ACT_SIGMOID,
    CE_ACT_TANH,
    CE_ACT_NONE,
} ce_activation;

/* Map a Hugging Face activation name ("gelu", "gelu_new", ...); -1 when unknown. */
int ce_activation_from_name(const char *name);

/* In place activation over n values (CE_ACT_NONE: nothing). */
void ce_activate(ce_backend *be, ce_activation act, size_t n, float *x);

/* A constant weight a family multiplies by: y = act(x W^T + b + beta y).
 * w is stored [out, in] (layout CE_TRANS, torch.nn.Linear) or [in, out]
 * (CE_NO_TRANS, Conv1D), row stride ld. When the model was opened with a
 * backend that prepares weights, prepared holds that backend's form and the
 * raw w is no longer read by sessions of that backend. */
typedef struct ce_lin {
    const float *w, *b;
    size_t in, out, ld;
    ce_transpose layout;
    ce_activation act;
    char name[96];
    void *prepared;
    /* the file's tensor while w waits to be converted (deferred: see
     * ce_weights_defer_conversions), else NULL */
    const ce_tensor_info *src;
    /* w is also read outside this product (a tied LM head is the embedding
     * table): it stays in float32 whatever the precision. */
    int w_shared;
} ce_lin;

/* Every ce_lin of a model, in the order the family listed them. */
typedef struct ce_lin_list {
    ce_lin **items;
    size_t n, cap;
    int failed; /* an allocation failed while adding */
} ce_lin_list;

/* Describe @p lin (its w and b are bound later) and list it in @p list. */
void ce_lin_setup(ce_lin_list *list, ce_lin *lin, size_t in, size_t out, ce_transpose layout,
                  ce_activation act, const char *name);
void ce_lin_list_free(ce_lin_list *list);

/* Prepare every listed weight with the model's backend @p bm, in its
 * precision (a no-op when it does not prepare). Once a weight is prepared,
 * its resident pages in @p w's mappings are dropped (@p w may be NULL); below
 * f32, a float32 conversion buffer (an F16 or BF16 file) it alone used is
 * freed and its w set to NULL, since no session may then read it (a later
 * attempt with another backend then fails on that weight instead of reading
 * it). On failure every weight prepared so far is released and the error
 * names the backend and the tensor. */
ce_status ce_lins_prepare(ce_lin_list *list, const ce_backend_model *bm, ce_weights *w);
/* Release what ce_lins_prepare made. NULL-safe on both. */
void ce_lins_release(ce_lin_list *list, const ce_backend_model *bm);

/* y[rows, out] = act(x[rows, in] W^T + b + beta y), strides ldx / ldy; beta 0 or 1. */
void ce_lin_apply(ce_backend *be, const ce_lin *lin, size_t rows, const float *x, size_t ldx,
                  float beta, float *y, size_t ldy);

/* For each i < n: y[i] = act(x W_i^T + b_i) (ce_lin_apply with beta 0), the
 * weights all of x's width; the session's backend may run them as one (x
 * read once). y[i] has row stride ldy[i] and overlaps neither x nor the
 * other outputs. */
void ce_lins_apply_same_x(ce_backend *be, size_t n, const ce_lin *const *lins, size_t rows,
                          const float *x, size_t ldx, float *const *y, const size_t *ldy);

/* Multi-head attention of one sequence through the backend's attention slot.
 * q is [tq, heads*hd] (row stride ldq), k and v are [tk, heads*hd] (strides
 * ldk, ldv); ctx receives [tq, heads*hd] (stride ldc). Scores are q.k * scale.
 * With causal, query i sees keys j <= q_offset + i. */
typedef struct ce_attn_args {
    size_t tq, tk, heads, hd;
    const float *q, *k, *v;
    size_t ldq, ldk, ldv;
    float scale;
    int causal;
    size_t q_offset;
    float *ctx;
    size_t ldc;
} ce_attn_args;

void ce_attention(ce_backend *be, const ce_attn_args *a);

#endif
