/* Probabilities and rankings of logits (fill-mask, classify): see pipelines.h. */
#include <math.h>
#include <stdlib.h>

#include "pipelines.h"

void pipe_softmax(const float *logits, size_t n, double *probs)
{
    double max = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++)
        max = logits[i] > max ? logits[i] : max;
    for (size_t i = 0; i < n; i++)
        sum += probs[i] = exp((double)logits[i] - max);
    for (size_t i = 0; i < n; i++)
        probs[i] /= sum;
}

void pipe_sigmoid(const float *logits, size_t n, double *probs)
{
    for (size_t i = 0; i < n; i++)
        probs[i] = 1.0 / (1.0 + exp(-(double)logits[i]));
}

/* a ranks before b: larger, NaN last, equal values by lower index. */
static int before(double a, size_t ia, double b, size_t ib)
{
    if (a > b || (a == a && b != b))
        return 1;
    if (b > a || (b == b && a != a))
        return 0;
    return ia < ib;
}

size_t pipe_argmax(const double *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (before(v[i], i, v[best], best))
            best = i;
    return best;
}

typedef struct ranked {
    double v;
    size_t i;
} ranked;

static int compare_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    return before(a->v, a->i, b->v, b->i) ? -1 : before(b->v, b->i, a->v, a->i);
}

/* A large k: sort everything once rather than O(n k) insertions. */
static size_t top_k_sorted(const double *v, size_t n, size_t k, size_t *out)
{
    ranked *all = malloc(n * sizeof *all);
    if (!all)
        return 0;
    for (size_t i = 0; i < n; i++)
        all[i] = (ranked){v[i], i};
    qsort(all, n, sizeof *all, compare_ranked);
    for (size_t i = 0; i < k; i++)
        out[i] = all[i].i;
    free(all);
    return k;
}

size_t pipe_top_k(const double *v, size_t n, size_t k, size_t *out)
{
    k = k < n ? k : n;
    if (k == 0)
        return 0;
    if (k > 64)
        return top_k_sorted(v, n, k, out);
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (have == k && !before(v[i], i, v[out[k - 1]], out[k - 1]))
            continue;
        size_t j = have < k ? have++ : k - 1;
        for (; j > 0 && before(v[i], i, v[out[j - 1]], out[j - 1]); j--)
            out[j] = out[j - 1];
        out[j] = i;
    }
    return have;
}
