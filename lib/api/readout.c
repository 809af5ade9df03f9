/* From per-layer hidden states to what the caller asked for: layers or a mix,
 * then pooling, then L2 normalisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/select_internal.h"
#include "core/error.h"

static ce_status prepare_layers(const ce_select *sel, size_t n_out, ce_readout *r)
{
    size_t n = sel->mode == CE_SELECT_ALL ? n_out : sel->n_layers;
    r->layers = malloc(n * sizeof *r->layers);
    if (!r->layers)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "selection: out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t l = sel->mode == CE_SELECT_ALL ? (int64_t)i : sel->layers[i];
        if (l < 0)
            l += (int64_t)n_out;
        if (l < 0 || l >= (int64_t)n_out) {
            free(r->layers);
            r->layers = NULL;
            return ce_error(CE_ERR_OUT_OF_RANGE,
                            "layer %d is out of range: the model has %zu output layers (0..%zu, or "
                            "-%zu..-1)", (int)sel->layers[i], n_out, n_out - 1, n_out);
        }
        r->layers[i] = (int32_t)l;
    }
    r->n_planes = n;
    return CE_OK;
}

static ce_status prepare_mix(const ce_select *sel, size_t n_out, ce_readout *r)
{
    if (sel->n_mix != n_out)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "mix has %zu weights but the model has %zu output layers", sel->n_mix, n_out);
    r->weights = malloc(n_out * sizeof *r->weights);
    r->mean = malloc(n_out * sizeof *r->mean);
    r->inv_std = malloc(n_out * sizeof *r->inv_std);
    if (!r->weights || !r->mean || !r->inv_std)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "selection: out of memory");
    for (size_t i = 0; i < n_out; i++) {
        r->mean[i] = 0.0;
        r->inv_std[i] = 1.0;
    }
    double max = sel->mix[0], sum = 0.0;
    for (size_t i = 1; i < n_out; i++)
        if (sel->mix[i] > max)
            max = sel->mix[i];
    for (size_t i = 0; i < n_out; i++)
        sum += r->weights[i] = exp((double)sel->mix[i] - max);
    for (size_t i = 0; i < n_out; i++)
        r->weights[i] *= (double)sel->gamma / sum;
    r->n_planes = 1;
    return CE_OK;
}

ce_status ce_readout_prepare(const ce_select *sel, size_t n_out, ce_readout *r)
{
    memset(r, 0, sizeof *r);
    r->sel = sel;
    r->n_total = n_out;
    ce_status st =
        sel->mode == CE_SELECT_MIX ? prepare_mix(sel, n_out, r) : prepare_layers(sel, n_out, r);
    if (st != CE_OK)
        ce_readout_release(r);
    return st;
}

void ce_readout_release(ce_readout *r)
{
    free(r->layers);
    free(r->weights);
    free(r->mean);
    free(r->inv_std);
    r->layers = NULL;
    r->weights = NULL;
    r->mean = r->inv_std = NULL;
}

/* AllenNLP's ScalarMix layer norm: one mean and variance over all values of a
 * layer at the sequence's tokens, eps 1e-12. Per sequence, so a result never
 * depends on what else was in the batch. */
static void layer_stats(ce_readout *r, const float *hidden, size_t plane_size, size_t dim,
                        size_t start, size_t tokens)
{
    size_t n = tokens * dim;
    for (size_t l = 0; l < r->n_total; l++) {
        const float *x = hidden + l * plane_size + start * dim;
        double sum = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += x[i];
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (x[i] - mean) * (x[i] - mean);
        r->mean[l] = mean;
        r->inv_std[l] = 1.0 / sqrt(ss / (double)n + 1e-12);
    }
}

/* Mixed value of element i (row-major within the sequence). */
static double mixed(const ce_readout *r, const float *hidden, size_t plane_size, size_t offset)
{
    double v = 0.0;
    for (size_t l = 0; l < r->n_total; l++)
        v += r->weights[l] * (hidden[l * plane_size + offset] - r->mean[l]) * r->inv_std[l];
    return v;
}

void ce_readout_shape(const ce_readout *r, size_t tokens, size_t dim, size_t shape[3], size_t *ndim)
{
    if (r->sel->pool == CE_POOL_NONE) {
        shape[0] = r->n_planes;
        shape[1] = tokens;
        shape[2] = dim;
        *ndim = 3;
    } else if (r->n_planes == 1) {
        shape[0] = dim;
        *ndim = 1;
    } else {
        shape[0] = r->n_planes;
        shape[1] = dim;
        *ndim = 2;
    }
}

/* rows [tokens, dim] of plane p into dst (mixing in double for a mix). */
static void gather_plane(const ce_readout *r, size_t p, const float *hidden, size_t plane_size,
                         size_t dim, size_t start, size_t tokens, float *dst)
{
    if (!r->weights) {
        memcpy(dst, hidden + (size_t)r->layers[p] * plane_size + start * dim,
               tokens * dim * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < tokens * dim; i++)
        dst[i] = (float)mixed(r, hidden, plane_size, start * dim + i);
}

/* Pool rows [tokens, dim] of @p src into dst[dim]; src may equal dst. */
static void pool_rows(ce_pool pool, const float *src, size_t tokens, size_t dim, float *dst)
{
    for (size_t j = 0; j < dim; j++) {
        if (pool == CE_POOL_CLS) {
            dst[j] = src[j];
            continue;
        }
        double acc = pool == CE_POOL_MAX ? -INFINITY : 0.0;
        for (size_t t = 0; t < tokens; t++) {
            double v = src[t * dim + j];
            acc = pool == CE_POOL_MAX ? (v > acc ? v : acc) : acc + v;
        }
        dst[j] = (float)(pool == CE_POOL_MEAN ? acc / (double)tokens : acc);
    }
}

/* x / max(||x||, 1e-12), as torch.nn.functional.normalize. */
static void normalize_rows(float *x, size_t rows, size_t dim)
{
    for (size_t r = 0; r < rows; r++) {
        double ss = 0.0;
        for (size_t j = 0; j < dim; j++)
            ss += (double)x[r * dim + j] * x[r * dim + j];
        double n = sqrt(ss);
        double inv = 1.0 / (n > 1e-12 ? n : 1e-12);
        for (size_t j = 0; j < dim; j++)
            x[r * dim + j] = (float)(x[r * dim + j] * inv);
    }
}

void ce_readout_write(ce_readout *r, const float *hidden, size_t stride_tokens, size_t dim,
                      size_t start, size_t tokens, float *out)
{
    size_t plane_size = stride_tokens * dim;
    if (r->weights && r->sel->mix_layer_norm)
        layer_stats(r, hidden, plane_size, dim, start, tokens);
    ce_pool pool = r->sel->pool;
    for (size_t p = 0; p < r->n_planes; p++) {
        float *dst = pool == CE_POOL_NONE ? out + p * tokens * dim : out + p * dim;
        if (pool == CE_POOL_NONE) {
            gather_plane(r, p, hidden, plane_size, dim, start, tokens, dst);
        } else if (!r->weights) {
            pool_rows(pool, hidden + (size_t)r->layers[p] * plane_size + start * dim, tokens, dim,
                      dst);
        } else {
            size_t rows = pool == CE_POOL_CLS ? 1 : tokens;
            for (size_t j = 0; j < dim; j++) {
                /* mix then pool, one column at a time: no scratch needed */
                double acc = pool == CE_POOL_MAX ? -INFINITY : 0.0;
                for (size_t t = 0; t < rows; t++) {
                    double v = mixed(r, hidden, plane_size, (start + t) * dim + j);
                    acc = pool == CE_POOL_MAX ? (v > acc ? v : acc) : acc + v;
                }
                dst[j] = (float)(pool == CE_POOL_MEAN ? acc / (double)tokens : acc);
            }
        }
    }
    if (r->sel->normalize)
        normalize_rows(out, pool == CE_POOL_NONE ? r->n_planes * tokens : r->n_planes, dim);
}
