/* Internal: a small deterministic generator for random weights and test data. */
#ifndef CE_CORE_RNG_H
#define CE_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ce_rng {
    uint64_t s;
} ce_rng;

void ce_rng_seed(ce_rng *r, uint64_t seed);
uint64_t ce_rng_next(ce_rng *r);
/* Uniform in [0, 1). */
double ce_rng_uniform(ce_rng *r);
/* Fill @p x with normal(mean, std) values. */
void ce_rng_normal(ce_rng *r, float *x, size_t n, float mean, float std);

#endif
