/* ce_sampler: greedy, temperature, top-k and top-p (nucleus) sampling with a seeded generator. */
#include <math.h>
#include <stdlib.h>

#include "contextembed/session.h"
#include "core/error.h"
#include "core/rng.h"

struct ce_sampler {
    ce_rng rng;
    float temperature;
    int32_t top_k;
    float top_p;
    size_t cap;
    size_t *order; /* scratch: candidate indices */
    double *prob;  /* scratch: their probabilities */
};

ce_status ce_sampler_create(uint64_t seed, ce_sampler **out)
{
    if (!out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_sampler_create: out is NULL");
    ce_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_sampler_create: out of memory");
    ce_rng_seed(&s->rng, seed);
    s->temperature = 1.0f;
    s->top_p = 1.0f;
    *out = s;
    return CE_OK;
}

void ce_sampler_free(ce_sampler *s)
{
    if (!s)
        return;
    free(s->order);
    free(s->prob);
    free(s);
}

ce_status ce_sampler_configure(ce_sampler *s, float temperature, int32_t top_k, float top_p)
{
    if (!s)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_sampler_configure: sampler is NULL");
    if (!(temperature >= 0.0f && temperature < INFINITY))
        return ce_error(CE_ERR_OUT_OF_RANGE, "temperature must be finite and >= 0");
    if (top_k < 0)
        return ce_error(CE_ERR_OUT_OF_RANGE, "top_k must be >= 0");
    if (!(top_p > 0.0f && top_p <= 1.0f))
        return ce_error(CE_ERR_OUT_OF_RANGE, "top_p must be in (0, 1]");
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    return CE_OK;
}

static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static _Thread_local const float *sort_logits; /* qsort has no context argument in C11 */

/* Descending logit, then ascending index: a total order, so results are reproducible. */
static int by_logit(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    float x = sort_logits[i], y = sort_logits[j];
    if (x != y)
        return x > y ? -1 : 1;
    return i < j ? -1 : (i > j);
}

static ce_status reserve(ce_sampler *s, size_t n)
{
    if (n <= s->cap)
        return CE_OK;
    size_t *o = realloc(s->order, n * sizeof *o);
    if (o)
        s->order = o;
    double *p = realloc(s->prob, n * sizeof *p);
    if (p)
        s->prob = p;
    if (!o || !p)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_sampler_sample: out of memory");
    s->cap = n;
    return CE_OK;
}

/* Candidates sorted by logit, cut to top-k; probabilities at the temperature. */
static size_t candidates(ce_sampler *s, const float *logits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->order[i] = i;
    sort_logits = logits;
    qsort(s->order, n, sizeof *s->order, by_logit);
    size_t k = s->top_k > 0 && (size_t)s->top_k < n ? (size_t)s->top_k : n;
    double max = logits[s->order[0]], sum = 0.0;
    for (size_t i = 0; i < k; i++)
        sum += s->prob[i] = exp(((double)logits[s->order[i]] - max) / s->temperature);
    for (size_t i = 0; i < k; i++)
        s->prob[i] /= sum;
    if (s->top_p < 1.0f) { /* smallest prefix whose mass reaches top_p */
        double acc = 0.0;
        size_t keep = 0;
        while (keep < k && acc < s->top_p)
            acc += s->prob[keep++];
        for (size_t i = 0; i < keep; i++)
            s->prob[i] /= acc;
        k = keep;
    }
    return k;
}

ce_status ce_sampler_sample(ce_sampler *s, const float *logits, size_t n, int32_t *id)
{
    if (!s || !logits || !id || n == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_sampler_sample: NULL or empty argument");
    if (n > INT32_MAX)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_sampler_sample: too many logits");
    for (size_t i = 0; i < n; i++)
        if (isnan(logits[i]))
            return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_sampler_sample: logit %zu is NaN", i);
    if (s->temperature == 0.0f || s->top_k == 1) {
        *id = (int32_t)argmax(logits, n);
        return CE_OK;
    }
    ce_status st = reserve(s, n);
    if (st != CE_OK)
        return st;
    size_t k = candidates(s, logits, n);
    double u = ce_rng_uniform(&s->rng), acc = 0.0;
    size_t pick = k - 1;
    for (size_t i = 0; i < k; i++) {
        acc += s->prob[i];
        if (u < acc) {
            pick = i;
            break;
        }
    }
    *id = (int32_t)s->order[pick];
    return CE_OK;
}
