/* Internal: the list of tensors a model family expects, bound from a file or drawn at random.
 *
 * A family lists each tensor once (name, shape, where to store the pointer, how
 * to initialise it for random models); binding then either fetches every one
 * from the weights (checked for presence, shape and dtype) or fills them from a
 * seeded generator, so file-backed and random models share one code path. */
#ifndef CE_ARCH_TENSOR_SPECS_H
#define CE_ARCH_TENSOR_SPECS_H

#include <stddef.h>
#include <stdint.h>

#include "io/weights.h"

typedef enum ce_init { CE_INIT_NORMAL, CE_INIT_ZERO, CE_INIT_ONE } ce_init;

typedef struct ce_tensor_spec {
    const float **dst;
    char name[192];
    int ndim;
    int64_t shape[2];
    ce_init init;
    int optional; /* absent in a file: *dst stays NULL */
    /* a linear weight whose conversion may wait until it is prepared: the
     * file's tensor goes here and *dst stays NULL (ce_weights_get_f32_deferred) */
    const ce_tensor_info **deferred;
} ce_tensor_spec;

typedef struct ce_spec_list {
    ce_tensor_spec *items;
    size_t n, cap;
    int failed; /* an allocation failed while adding */
} ce_spec_list;

void ce_specs_add(ce_spec_list *l, const float **dst, const char *name, int64_t d0, int64_t d1,
                  ce_init init);
/* "<name>.weight" [d0, d1] (normal) and "<name>.bias" [bias_len] (zeros). */
void ce_specs_add_affine(ce_spec_list *l, const float **w, const float **b, const char *name,
                         int64_t d0, int64_t d1, int64_t bias_len);
/* ce_specs_add_affine for a linear layer's weights: when the weights defer
 * conversions, the weight's tensor is bound to *src instead of *w. */
void ce_specs_add_linear(ce_spec_list *l, const float **w, const float **b,
                         const ce_tensor_info **src, const char *name, int64_t d0, int64_t d1,
                         int64_t bias_len);
/* "<name>.weight" (ones) and "<name>.bias" (zeros), both [dim]. */
void ce_specs_add_norm(ce_spec_list *l, const float **g, const float **b, const char *name,
                       int64_t dim);
void ce_specs_free(ce_spec_list *l);

/* Fetch every tensor as "<prefix><name>" from @p w. */
ce_status ce_specs_bind(ce_spec_list *l, ce_weights *w, const char *prefix);

/* Draw every non-optional tensor (normal std 0.02, ones, zeros) into one
 * buffer returned in *owned (the caller frees it). */
ce_status ce_specs_random(ce_spec_list *l, uint64_t seed, float **owned);

#endif
