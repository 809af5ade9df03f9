/* Internal: the library's own bf16 linear layers (cpu_bf16_gemm.c), for CPU
 * backends without a bf16 GEMM of their own ("blis"). */
#ifndef CE_BACKENDS_CPU_CPU_BF16_GEMM_H
#define CE_BACKENDS_CPU_CPU_BF16_GEMM_H

#include "contextembed/backend.h"

typedef struct ce_bf16_weight ce_bf16_weight;

/* Whether this CPU runs the bf16 kernel (x86-64 with AVX512-BF16). */
int ce_cpu_bf16_supported(void);

/* Round @p d's weight to bf16 (nearest even) and pack it, copying the bias;
 * on success *out is the caller's (ce_cpu_bf16_release). CE_ERR_UNSUPPORTED
 * without AVX512-BF16, CE_ERR_OUT_OF_MEMORY. */
ce_status ce_cpu_bf16_prepare(const ce_linear_desc *d, ce_bf16_weight **out);
void ce_cpu_bf16_release(ce_bf16_weight *w);

/* y = act(x W^T + bias + beta y) (beta 0 or 1), x's rows rounded to bf16
 * first, on the context's threads. Should the context's bf16 buffer for x
 * not grow (out of memory), y's rows are NaN: never another precision. */
void ce_cpu_bf16_linear(void *ctx, const ce_bf16_weight *w, size_t rows, const float *x,
                        size_t ldx, float beta, float *y, size_t ldy);

#endif
