/* Internal: the sum of a product's parts, for the onednn backend's kernels
 * that split a product by inputs (onednn_rows_f32.c, onednn_amx.c). */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_PARTS_H
#define CE_BACKENDS_ONEDNN_ONEDNN_PARTS_H

#include <stddef.h>

#include <oneapi/dnnl/dnnl.h>

#include "backends/cpu/cpu_kernels.h"
#include "contextembed/backend.h"

/* A product split by inputs: part i's sums are p[i], rows x out, dense. */
typedef struct ce_dnnl_parts {
    size_t parts, rows, out, ldy;
    float *p[CE_CPU_MAX_THREADS];
    const float *bias; /* NULL: none */
    float *y;
    int accumulate;
    ce_backend_activation act;
} ce_dnnl_parts;

/* Whether a product of @p in inputs and @p out outputs, left with idle
 * threads when split by rows, is worth splitting by inputs: x wide enough
 * (BERT's and GPT-2's 3072 -> 768) that each thread reading only its part
 * of it pays for the parts' sum. */
static inline int ce_dnnl_split_by_inputs(size_t in, size_t out)
{
    return in >= 2 * out && in >= 512;
}

/* Rows per chunk when @p rows are split by rows between @p nt threads in
 * chunks of at most @p max rows (a multiple of @p align): as many chunks as
 * that needs, rounded up to a multiple of nt, and of equal size, so that no
 * thread runs one chunk more than another (384 rows in chunks of 128 went
 * two to one). */
static inline size_t ce_dnnl_row_chunk(size_t rows, size_t max, size_t nt, size_t align)
{
    size_t chunks = (rows + max - 1) / max;
    chunks = (chunks + nt - 1) / nt * nt;
    size_t per = (rows + chunks - 1) / chunks;
    per = (per + align - 1) / align * align;
    return per < max ? per : max;
}

/* The sum of @p parts parts into y (the other fields as above); the caller
 * sets p[]. */
static inline ce_dnnl_parts ce_dnnl_parts_into(size_t parts, size_t rows, size_t out,
                                               const float *bias, ce_backend_activation act,
                                               int accumulate, float *y, size_t ldy)
{
    ce_dnnl_parts s = {.parts = parts,
                       .rows = rows,
                       .out = out,
                       .ldy = ldy,
                       .bias = bias,
                       .y = y,
                       .accumulate = accumulate,
                       .act = act};
    return s;
}

#define CE_DNNL_SAME_X_MAX 4 /* products of one x the kernels take at once at most */

/* One of several products of the same x (ce_dnnl_amx_same_x,
 * ce_dnnl_rows_f32_same_x): its weight's layout and data (bf16 or float32,
 * as the kernel takes), bias (NULL: none), activation and output. */
typedef struct ce_dnnl_product {
    const dnnl_memory_desc_t *md;
    const void *w;
    const float *bias;
    ce_backend_activation act;
    float *y;
    size_t ldy;
} ce_dnnl_product;

/* Of items [begin, end) numbered product after product, the ones of a
 * product whose @p n items are numbered from @p first on: [*lo, *hi) in its
 * own numbering; 0 when there are none. */
static inline int ce_dnnl_product_range(size_t first, size_t n, size_t begin, size_t end,
                                        size_t *lo, size_t *hi)
{
    if (end <= first)
        return 0;
    *lo = begin > first ? begin - first : 0;
    *hi = end - first < n ? end - first : n;
    return *lo < *hi;
}

/* y = act(p[0] + ... + p[parts - 1] + bias + (accumulate ? y : 0)), the sums
 * added in that order (the bias and y last, as an unsplit product adds
 * them), over the context's threads (ctx starts with a ce_cpu_ctx) by rows.
 * Needs AVX-512: called only where the kernels that made the parts ran. */
void ce_dnnl_add_parts(void *ctx, const ce_dnnl_parts *s);

#endif
