/* ce_select: which layers (or which mix) to read, pooled or not, normalised or not. */
#include <stdlib.h>
#include <string.h>

#include "api/select_internal.h"
#include "core/error.h"

ce_status ce_select_create(ce_select **out)
{
    if (!out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_create: out is NULL");
    ce_select *s = calloc(1, sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_select_create: out of memory");
    ce_select_init_default(s);
    *out = s;
    return CE_OK;
}

void ce_select_init_default(ce_select *s)
{
    memset(s, 0, sizeof *s);
    s->mode = CE_SELECT_LAYERS;
    s->layers = s->one_layer;
    s->one_layer[0] = -1;
    s->n_layers = 1;
    s->normalize = -1;
}

static void release_arrays(ce_select *s)
{
    if (s->layers != s->one_layer)
        free(s->layers);
    free(s->mix);
    s->layers = s->one_layer;
    s->mix = NULL;
}

void ce_select_free(ce_select *sel)
{
    if (!sel)
        return;
    release_arrays(sel);
    free(sel);
}

ce_status ce_select_layers(ce_select *sel, const int32_t *layers, size_t n)
{
    if (!sel || (n > 0 && !layers))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_layers: NULL argument");
    if (n > CE_SELECT_MAX_LAYERS)
        return ce_error(CE_ERR_OUT_OF_RANGE, "ce_select_layers: %zu layers (at most %d)", n,
                        CE_SELECT_MAX_LAYERS);
    int32_t *copy = NULL;
    if (n > 1) {
        copy = malloc(n * sizeof *copy);
        if (!copy)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_select_layers: out of memory");
        memcpy(copy, layers, n * sizeof *copy);
    }
    release_arrays(sel);
    if (n == 0) {
        sel->mode = CE_SELECT_ALL;
    } else {
        sel->mode = CE_SELECT_LAYERS;
        if (copy)
            sel->layers = copy;
        else
            sel->one_layer[0] = layers[0];
    }
    sel->n_layers = n;
    return CE_OK;
}

ce_status ce_select_mix(ce_select *sel, const float *weights, size_t n, float gamma)
{
    if (!sel || !weights || n == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_mix: NULL or empty weights");
    if (n > CE_SELECT_MAX_LAYERS)
        return ce_error(CE_ERR_OUT_OF_RANGE, "ce_select_mix: %zu weights (at most %d)", n,
                        CE_SELECT_MAX_LAYERS);
    for (size_t i = 0; i < n; i++)
        if (!(weights[i] > -1e30f && weights[i] < 1e30f))
            return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_mix: weight %zu is not finite", i);
    if (!(gamma > -1e30f && gamma < 1e30f))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_mix: gamma is not finite");
    float *copy = malloc(n * sizeof *copy);
    if (!copy)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_select_mix: out of memory");
    memcpy(copy, weights, n * sizeof *copy);
    int keep_norm = sel->mix_layer_norm;
    release_arrays(sel);
    sel->mix_layer_norm = keep_norm;
    sel->mode = CE_SELECT_MIX;
    sel->mix = copy;
    sel->n_mix = n;
    sel->gamma = gamma;
    return CE_OK;
}

ce_status ce_select_mix_layer_norm(ce_select *sel, int enable)
{
    if (!sel)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_mix_layer_norm: sel is NULL");
    sel->mix_layer_norm = enable != 0;
    return CE_OK;
}

ce_status ce_select_pool(ce_select *sel, ce_pool pool)
{
    if (!sel)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_pool: sel is NULL");
    if (pool < CE_POOL_NONE || pool > CE_POOL_DEFAULT)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_pool: unknown pooling %d", (int)pool);
    sel->pool = pool;
    return CE_OK;
}

ce_status ce_select_normalize(ce_select *sel, int enable)
{
    if (!sel)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_select_normalize: sel is NULL");
    sel->normalize = enable != 0;
    return CE_OK;
}
