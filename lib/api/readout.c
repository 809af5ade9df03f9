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

/* The order sentence-transformers' Pooling module concatenates its modes in. */
static const ce_pool st_order[CE_POOL_MODES_MAX] = {
    CE_POOL_CLS, CE_POOL_MAX, CE_POOL_MEAN, CE_POOL_MEAN_SQRT_LEN, CE_POOL_WEIGHTED_MEAN, CE_POOL_LAST,
};

static ce_status prepare_pooling(const ce_select *sel, const ce_model_pooling *model, ce_readout *r)
{
    int model_norm = 0;
    if (sel->pool == CE_POOL_DEFAULT) {
        if (!model || !model->modes)
            return ce_error(CE_ERR_UNSUPPORTED,
                            "pooling \"default\": the model has no sentence pooling of its own "
                            "(no sentence-transformers Pooling module); choose cls, mean, max, ...");
        for (size_t i = 0; i < CE_POOL_MODES_MAX; i++)
            if (model->modes & (1u << st_order[i]))
                r->modes[r->n_modes++] = st_order[i];
        model_norm = model->normalize;
    } else if (sel->pool != CE_POOL_NONE) {
        r->modes[r->n_modes++] = sel->pool;
    }
    r->normalize = sel->normalize >= 0 ? sel->normalize : model_norm;
    return CE_OK;
}

ce_status ce_readout_prepare(const ce_select *sel, size_t n_out, const ce_model_pooling *model,
                             ce_readout *r)
{
    memset(r, 0, sizeof *r);
    r->sel = sel;
    r->n_total = n_out;
    ce_status st = prepare_pooling(sel, model, r);
    if (st == CE_OK)
        st = sel->mode == CE_SELECT_MIX ? prepare_mix(sel, n_out, r) : prepare_layers(sel, n_out, r);
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
    size_t width = dim * r->n_modes;
    if (r->n_modes == 0) {
        shape[0] = r->n_planes;
        shape[1] = tokens;
        shape[2] = dim;
        *ndim = 3;
    } else if (r->n_planes == 1) {
        shape[0] = width;
        *ndim = 1;
    } else {
        shape[0] = r->n_planes;
        shape[1] = width;
        *ndim = 2;
    }
}

/* Element @p offset (row-major within the whole [stride, dim] plane) of output plane p. */
static double value_at(const ce_readout *r, size_t p, const float *hidden, size_t plane_size,
                       size_t offset)
{
    if (!r->weights)
        return hidden[(size_t)r->layers[p] * plane_size + offset];
    return mixed(r, hidden, plane_size, offset);
}

/* rows [tokens, dim] of plane p into dst. */
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

/* Column j of plane p's rows [start, start + tokens) pooled by @p pool
 * (sentence-transformers' definitions; the sequence has no padding). */
static double pool_column(const ce_readout *r, ce_pool pool, size_t p, const float *hidden,
                          size_t plane_size, size_t dim, size_t start, size_t tokens, size_t j)
{
    if (pool == CE_POOL_CLS || pool == CE_POOL_LAST) {
        size_t t = pool == CE_POOL_CLS ? 0 : tokens - 1;
        return value_at(r, p, hidden, plane_size, (start + t) * dim + j);
    }
    double acc = pool == CE_POOL_MAX ? -INFINITY : 0.0, weights = 0.0;
    for (size_t t = 0; t < tokens; t++) {
        double v = value_at(r, p, hidden, plane_size, (start + t) * dim + j);
        if (pool == CE_POOL_MAX)
            acc = v > acc ? v : acc;
        else if (pool == CE_POOL_WEIGHTED_MEAN)
            acc += (double)(t + 1) * v, weights += (double)(t + 1);
        else
            acc += v;
    }
    switch (pool) {
    case CE_POOL_MEAN: return acc / (double)tokens;
    case CE_POOL_MEAN_SQRT_LEN: return acc / sqrt((double)tokens);
    case CE_POOL_WEIGHTED_MEAN: return acc / weights;
    default: return acc;
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
    size_t plane_size = stride_tokens * dim, width = dim * r->n_modes;
    if (r->weights && r->sel->mix_layer_norm)
        layer_stats(r, hidden, plane_size, dim, start, tokens);
    for (size_t p = 0; p < r->n_planes; p++) {
        if (r->n_modes == 0) {
            gather_plane(r, p, hidden, plane_size, dim, start, tokens, out + p * tokens * dim);
            continue;
        }
        for (size_t m = 0; m < r->n_modes; m++)
            for (size_t j = 0; j < dim; j++)
                out[p * width + m * dim + j] = (float)pool_column(r, r->modes[m], p, hidden,
                                                                  plane_size, dim, start, tokens, j);
    }
    if (r->normalize) {
        if (r->n_modes == 0)
            normalize_rows(out, r->n_planes * tokens, dim);
        else
            normalize_rows(out, r->n_planes, width);
    }
}
