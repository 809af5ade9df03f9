/* Internal: layers shared by the transformer families, written on the backend vtable. */
#ifndef CE_ARCH_LAYERS_H
#define CE_ARCH_LAYERS_H

#include <stddef.h>

#include "backends/backend_internal.h"

typedef enum ce_activation {
    CE_ACT_GELU_ERF,
    CE_ACT_GELU_TANH,
    CE_ACT_RELU,
} ce_activation;

/* Map a Hugging Face activation name ("gelu", "gelu_new", ...); -1 when unknown. */
int ce_activation_from_name(const char *name);

/* y[rows, out] = x[rows, in] * W^T + b, W stored [out, in] as torch.nn.Linear. */
void ce_linear(ce_backend *be, size_t rows, size_t in, size_t out, const float *x, const float *w,
               const float *b, float *y);

/* y[rows, out] = x[rows, in] * W + b, W stored [in, out] (GPT-2's Conv1D). */
void ce_conv1d(ce_backend *be, size_t rows, size_t in, size_t out, const float *x, const float *w,
               const float *b, float *y);

/* In place activation over n values. */
void ce_activate(ce_backend *be, ce_activation act, size_t n, float *x);

/* Multi-head attention of one sequence. q is [tq, heads*hd] (row stride ldq),
 * k and v are [tk, heads*hd] (strides ldk, ldv); ctx receives [tq, heads*hd]
 * (stride ldc). Scores are q.k * scale. scores is scratch of tq*tk floats.
 * With causal, query i sees keys j <= q_offset + i. */
typedef struct ce_attn_args {
    size_t tq, tk, heads, hd;
    const float *q, *k, *v;
    size_t ldq, ldk, ldv;
    float scale;
    int causal;
    size_t q_offset;
    float *scores, *ctx;
    size_t ldc;
} ce_attn_args;

void ce_attention(ce_backend *be, const ce_attn_args *a);

#endif
