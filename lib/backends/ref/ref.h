/* Internal: the reference kernels, plain portable C and the ground truth.
 *
 * Signatures are the slots of ce_backend_ops; ctx is ignored (any backend's
 * context may be passed, see backend_internal.h). Other backends call these
 * directly for the cases they do not accelerate. */
#ifndef CE_BACKENDS_REF_REF_H
#define CE_BACKENDS_REF_REF_H

#include <stddef.h>
#include <stdint.h>

#include "contextembed/backend.h"

void ce_ref_gemm(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
                 size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                 float beta, float *c, size_t ldc, const float *bias);

void ce_ref_layer_norm(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                       const float *gamma, const float *beta, float eps, float *y, size_t ldy);

void ce_ref_softmax(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                    size_t n_valid, int causal, size_t q_offset);

void ce_ref_gelu_erf(void *ctx, size_t n, float *x);
void ce_ref_gelu_tanh(void *ctx, size_t n, float *x);
void ce_ref_add(void *ctx, size_t n, const float *a, const float *b, float *y);
void ce_ref_scale(void *ctx, size_t n, float alpha, float *x);
void ce_ref_relu(void *ctx, size_t n, float *x);
void ce_ref_sigmoid(void *ctx, size_t n, float *x);
void ce_ref_tanh(void *ctx, size_t n, float *x);

void ce_ref_lstm_cell(void *ctx, size_t batch, size_t cell, const float *gates, size_t ld_gates,
                      float forget_bias, float cell_clip, float *c, size_t ldc, float *h,
                      size_t ldh);

void ce_ref_attention(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                      const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                      size_t ldv, float scale, int causal, size_t q_offset, float *out,
                      size_t ldo);
void ce_ref_max_rows(void *ctx, size_t groups, size_t rows, size_t cols, const float *x, float *y,
                     size_t ldy);
void ce_ref_gate_mix(void *ctx, size_t n, const float *g, const float *t, float *x);
void ce_ref_clip(void *ctx, size_t n, float limit, float *x);

/* ---- weight-only int8 (ref_int8.c), the quantisation every backend shares ---- */

/* Inputs per quantisation group (one scale per output and group). */
#define CE_INT8_GROUP 64

/* The precision @p d asks for (f32 when its struct_size predates the member). */
static inline ce_precision ce_linear_desc_precision(const ce_linear_desc *d)
{
    return d->struct_size > offsetof(ce_linear_desc, precision) ? d->precision
                                                                : CE_PRECISION_F32;
}

/* Element (output @p o, input @p i) of @p d's weight, whatever its layout. */
static inline float ce_linear_desc_weight(const ce_linear_desc *d, size_t o, size_t i)
{
    return d->layout == CE_TRANS ? d->weight[o * d->ld + i] : d->weight[i * d->ld + o];
}

typedef struct ce_int8_quant {
    size_t in, out;
    size_t group, groups; /* inputs per group (the last may have fewer), groups per output */
    int8_t *q;            /* [out][in] */
    float *scale;         /* [out][groups] */
} ce_int8_quant;

/* The group size for rows of @p in inputs: CE_INT8_GROUP, or in when shorter. */
size_t ce_int8_group(size_t in);
/* Quantise @p d's weight ([out][in] whatever its layout); on success *out
 * owns its arrays (ce_int8_quant_free). */
ce_status ce_int8_quantize(const ce_linear_desc *d, ce_int8_quant *out);
void ce_int8_quant_free(ce_int8_quant *q);

/* ---- bf16 (ref_bf16.c): float32 -> bf16 to nearest even, NaN kept ---- */

uint16_t ce_bf16_from_f32(float f); /* back: ce_bf16_to_f32 in io/half.h */
/* @p d's weight as bf16 [out][in] whatever its layout; on success *out is
 * the caller's (free()). */
ce_status ce_bf16_convert(const ce_linear_desc *d, uint16_t **out);

/* ---- the reference backend's prepared weights (ref_linear.c) ---- */

typedef struct ce_ref_weight {
    ce_precision precision; /* CE_PRECISION_INT8 or CE_PRECISION_BF16 */
    size_t in, out;
    ce_int8_quant q;  /* int8 */
    uint16_t *bf16;   /* bf16: [out][in] */
    float *bias;      /* [out], or NULL */
    ce_backend_activation act;
} ce_ref_weight;

/* The reference products on prepared weights: y = x W^T + bias (+ beta y),
 * then the activation; bf16 rounds every activation to bf16 as well. */
void ce_ref_int8_linear(const ce_ref_weight *w, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy);
void ce_ref_bf16_linear(const ce_ref_weight *w, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy);
void ce_ref_activate(ce_backend_activation act, size_t n, float *y);

/* The reference backend's linear slots: int8 and bf16 weights (f32 runs gemm). */
ce_status ce_ref_linear_prepare(void *model_state, const ce_linear_desc *d, void **prepared);
void ce_ref_linear_release(void *model_state, void *prepared);
void ce_ref_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                   float beta, float *y, size_t ldy);

/* Number of unmasked leading columns of softmax row @p row (shared by every
 * backend so that the masking rule is written once). */
size_t ce_softmax_row_valid(size_t cols, size_t n_valid, int causal, size_t q_offset, size_t row);

#endif
