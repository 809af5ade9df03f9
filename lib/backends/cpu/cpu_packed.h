/* Internal: the library's own prepared linear layers (cpu_packed.c), for CPU
 * backends whose GEMM cannot keep a weight packed between calls. */
#ifndef CE_BACKENDS_CPU_CPU_PACKED_H
#define CE_BACKENDS_CPU_CPU_PACKED_H

#include "contextembed/backend.h"

typedef struct ce_packed_weight ce_packed_weight;

/* Whether this CPU runs the packed kernel (x86-64 with AVX2 and FMA). */
int ce_cpu_packed_supported(void);

/* Pack @p d's weight and copy its bias; on success *out is the caller's
 * (ce_cpu_packed_release). Only when ce_cpu_packed_supported(). */
ce_status ce_cpu_packed_prepare(const ce_linear_desc *d, ce_packed_weight **out);
void ce_cpu_packed_release(ce_packed_weight *w);

/* y = x W^T + bias + beta y (beta 0 or 1) for @p rows rows on the context's
 * threads; the activation is not applied (ce_cpu_linear does that). */
void ce_cpu_packed_linear(void *ctx, const ce_packed_weight *w, size_t rows, const float *x,
                          size_t ldx, float beta, float *y, size_t ldy);

/* The linear_prepare / linear_release / linear slots on top of the above,
 * with the activation by the shared kernels. */
ce_status ce_cpu_linear_prepare(void *model_state, const ce_linear_desc *desc, void **prepared);
void ce_cpu_linear_release(void *model_state, void *prepared);
void ce_cpu_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                   float beta, float *y, size_t ldy);

#endif
