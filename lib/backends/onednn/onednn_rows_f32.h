/* Internal: rows times a float32 (or bf16) weight in oneDNN's blocked layout
 * on AVX-512's FMAs (onednn_rows_f32.c), the onednn backend's float32
 * products of two rows and more, and its bf16 ones where FMAs are faster
 * than VDPBF16PS and there is no AMX. */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_ROWS_F32_H
#define CE_BACKENDS_ONEDNN_ONEDNN_ROWS_F32_H

#include <oneapi/dnnl/dnnl.h>

#include "backends/onednn/onednn_parts.h"
#include "contextembed/backend.h"

/* Whether ce_dnnl_rows_f32 runs a weight of layout @p md here: float32 in
 * oneDNN's BA16a64b blocks (see ce_dnnl_gemv_fits) on a CPU with AVX-512, or
 * bf16 in its BA16a64b2a blocks on a CPU with AVX512-BF16 whose FMAs multiply
 * faster than its VDPBF16PS (ce_cpu_bf16_fma_faster). Thread-safe. */
int ce_dnnl_rows_f32_fits(const dnnl_memory_desc_t *md);

/* y = act(x W + bias (NULL: none) + (accumulate ? y : 0)) for @p rows rows of
 * x (row stride @p ldx), W the weight's data in layout @p md (one that
 * ce_dnnl_rows_f32_fits), y with row stride @p ldy; the sums start from zero
 * and take the bias and y last. A bf16 weight takes x's rows rounded to bf16
 * (each thread rounds the rows it reads into its scratch) and itself widened
 * a chunk at a time: exact products and float32 sums, as VDPBF16PS's. Split
 * over the context's threads (ctx starts with a ce_cpu_ctx), whose scratch
 * it uses. Returns 0, computing nothing, when that scratch cannot be had
 * (out of memory): the caller then takes oneDNN's matmul. */
int ce_dnnl_rows_f32(void *ctx, const dnnl_memory_desc_t *md, const void *w, const float *bias,
                     ce_backend_activation act, size_t rows, const float *x, size_t ldx,
                     int accumulate, float *y, size_t ldy);

/* ce_dnnl_rows_f32 (accumulate 0) for @p n products of the same x (their
 * weights all float32 or all bf16, in layouts that ce_dnnl_rows_f32_fits, of the same
 * inputs padded alike: the caller, ce_dnnl_linear_same_x, checks) in one
 * parallel region, the threads splitting their blocks of outputs as one
 * product's. Returns 0, computing nothing, for one row or more than 128
 * (split by rows, a product at a time costs nothing more), more than
 * CE_DNNL_SAME_X_MAX products, or when
 * scratch cannot be had: the caller then runs them one by one. */
int ce_dnnl_rows_f32_same_x(void *ctx, size_t n, const ce_dnnl_product *p, size_t rows,
                            const float *x, size_t ldx);

#endif
