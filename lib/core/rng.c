/* splitmix64 + Box-Muller: reproducible across platforms, no global state. */
#include "core/rng.h"

#include <math.h>

void ce_rng_seed(ce_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t ce_rng_next(ce_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double ce_rng_uniform(ce_rng *r)
{
    return (double)(ce_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

void ce_rng_normal(ce_rng *r, float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - ce_rng_uniform(r); /* (0, 1]: log is finite */
        double u2 = ce_rng_uniform(r);
        double rad = sqrt(-2.0 * log(u1));
        x[i] = mean + std * (float)(rad * cos(2.0 * M_PI * u2));
        if (i + 1 < n)
            x[i + 1] = mean + std * (float)(rad * sin(2.0 * M_PI * u2));
    }
}
