/* Internal: one row times a float32 or bf16 weight kept in oneDNN's blocked
 * layout (onednn_gemv.c), for decoding on the onednn backend. */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_GEMV_H
#define CE_BACKENDS_ONEDNN_ONEDNN_GEMV_H

#include <oneapi/dnnl/dnnl.h>

#include "backends/cpu/cpu_kernels.h"

/* Whether ce_dnnl_gemv runs a weight of layout @p md on this CPU: float32
 * blocked 16 inputs x 64 outputs (oneDNN's BA16a64b) with AVX-512, or bf16
 * in the same blocks of input pairs (BA16a64b2a) with AVX512-BF16. */
int ce_dnnl_gemv_fits(const dnnl_memory_desc_t *md);

/* y[0, out) = x W + bias (NULL: none) + (accumulate ? y : 0) for one row x
 * of md's dims[0] inputs (floats, or bf16 for a bf16 weight), W the weight's
 * data in layout @p md (one that ce_dnnl_gemv_fits); split over the
 * context's threads (ctx starts with a ce_cpu_ctx). The activation is the
 * caller's. */
void ce_dnnl_gemv(void *ctx, const dnnl_memory_desc_t *md, const void *w, const float *bias,
                  const void *x, int accumulate, float *y);

#endif
