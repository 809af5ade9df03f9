/* Internal: rows times a bf16 weight in oneDNN's blocked layout on AMX tiles
 * (onednn_amx.c), the onednn backend's bf16 products of two rows and more. */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_AMX_H
#define CE_BACKENDS_ONEDNN_ONEDNN_AMX_H

#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

#include "backends/onednn/onednn_parts.h"
#include "contextembed/backend.h"

/* Whether ce_dnnl_amx_linear runs a weight of layout @p md here: bf16 in
 * oneDNN's BA16a64b2a blocks (see ce_dnnl_gemv_fits), a CPU with AMX-BF16 and
 * the process's permission to use the tile data (asked of Linux once, here).
 * Thread-safe. */
int ce_dnnl_amx_fits(const dnnl_memory_desc_t *md);

/* y = act(x W + bias (NULL: none) + (accumulate ? y : 0)) for @p rows float32 rows
 * of x (row stride @p ldx; each rounded to bf16 to nearest even, as
 * ce_cpu_bf16_row does), W the weight's data in layout @p md (one that
 * ce_dnnl_amx_fits), y float32 with row stride @p ldy; products accumulate
 * in float32. Split over the context's threads (ctx starts with a
 * ce_cpu_ctx), whose scratch it uses. Returns 0, computing nothing, when
 * that scratch cannot be had (out of memory), and for an activation when
 * the threads would split the rows (oneDNN's matmul, which fuses it, is
 * faster there): the caller then takes oneDNN's. */
int ce_dnnl_amx_linear(void *ctx, const dnnl_memory_desc_t *md, const uint16_t *w,
                       const float *bias, ce_backend_activation act, size_t rows, const float *x,
                       size_t ldx, int accumulate, float *y, size_t ldy);

/* ce_dnnl_amx_linear (accumulate 0) for @p n products of the same x (their
 * weights bf16, in layouts that ce_dnnl_amx_fits, of the same inputs padded
 * alike: the caller, ce_dnnl_linear_same_x, checks), its
 * rows rounded once by each thread and the products' outputs split between
 * the threads as one product's. Returns 0, computing nothing, for one row,
 * more than CE_DNNL_SAME_X_MAX products,
 * rows the threads would split by rows (as many chunks of 128 as threads),
 * or when scratch cannot be had: the caller then runs them one by one. */
int ce_dnnl_amx_same_x(void *ctx, size_t n, const ce_dnnl_product *p, size_t rows,
                       const float *x, size_t ldx);

#endif
