/* Tensor lists: bind from safetensors, or draw random weights for benchmarks. */
#include "architectures/tensor_specs.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/rng.h"

void ce_specs_add(ce_spec_list *l, const float **dst, const char *name, int64_t d0, int64_t d1,
                  ce_init init)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        ce_tensor_spec *items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            l->failed = 1;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    ce_tensor_spec *t = &l->items[l->n++];
    t->dst = dst;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->init = init;
    t->optional = 0;
    t->deferred = NULL;
}

void ce_specs_add_affine(ce_spec_list *l, const float **w, const float **b, const char *name,
                         int64_t d0, int64_t d1, int64_t bias_len)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s.weight", name);
    ce_specs_add(l, w, buf, d0, d1, CE_INIT_NORMAL);
    snprintf(buf, sizeof buf, "%s.bias", name);
    ce_specs_add(l, b, buf, bias_len, 0, CE_INIT_ZERO);
}

void ce_specs_add_linear(ce_spec_list *l, const float **w, const float **b,
                         const ce_tensor_info **src, const char *name, int64_t d0, int64_t d1,
                         int64_t bias_len)
{
    ce_specs_add_affine(l, w, b, name, d0, d1, bias_len);
    if (!l->failed)
        l->items[l->n - 2].deferred = src;
}

void ce_specs_add_norm(ce_spec_list *l, const float **g, const float **b, const char *name,
                       int64_t dim)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s.weight", name);
    ce_specs_add(l, g, buf, dim, 0, CE_INIT_ONE);
    snprintf(buf, sizeof buf, "%s.bias", name);
    ce_specs_add(l, b, buf, dim, 0, CE_INIT_ZERO);
}

void ce_specs_free(ce_spec_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

ce_status ce_specs_bind(ce_spec_list *l, ce_weights *w, const char *prefix)
{
    if (l->failed)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory listing tensors");
    for (size_t i = 0; i < l->n; i++) {
        ce_tensor_spec *t = &l->items[i];
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        if (t->optional && !ce_weights_find(w, name))
            continue;
        ce_status st = t->deferred ? ce_weights_get_f32_deferred(w, name, t->ndim, t->shape,
                                                                 t->dst, t->deferred)
                                   : ce_weights_get_f32(w, name, t->ndim, t->shape, t->dst);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

static size_t spec_count(const ce_tensor_spec *t)
{
    return (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
}

ce_status ce_specs_random(ce_spec_list *l, uint64_t seed, float **owned)
{
    if (l->failed)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory listing tensors");
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!l->items[i].optional)
            total += spec_count(&l->items[i]);
    float *buf = malloc((total ? total : 1) * sizeof(float));
    if (!buf)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "cannot allocate %zu random weights", total);
    ce_rng rng;
    ce_rng_seed(&rng, seed);
    float *p = buf;
    for (size_t i = 0; i < l->n; i++) {
        ce_tensor_spec *t = &l->items[i];
        if (t->optional)
            continue;
        size_t n = spec_count(t);
        if (t->init == CE_INIT_NORMAL)
            ce_rng_normal(&rng, p, n, 0.0f, 0.02f);
        else
            for (size_t j = 0; j < n; j++)
                p[j] = t->init == CE_INIT_ONE ? 1.0f : 0.0f;
        *t->dst = p;
        p += n;
    }
    *owned = buf;
    return CE_OK;
}
