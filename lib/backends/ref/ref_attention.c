/* The reference attention: per head and query row, the exact softmax in two
 * passes over the keys (the maximum, then the weights), written straight into
 * the output row, so it needs no scratch and cannot fail. Dot products are
 * accumulated in double: this is the ground truth the fast kernels are held to. */
#include <math.h>

#include "backends/ref/ref.h"

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

static void attend_row(size_t hd, size_t keys, const float *q, const float *k, size_t ldk,
                       const float *v, size_t ldv, double scale, float *out)
{
    double max = -INFINITY, sum = 0.0, acc[256];
    for (size_t j = 0; j < keys; j++) {
        double s = scale * dot(q, k + j * ldk, hd);
        max = s > max ? s : max;
    }
    for (size_t c0 = 0; c0 < hd; c0 += 256) { /* acc holds 256 columns at a time */
        size_t cn = hd - c0 < 256 ? hd - c0 : 256;
        for (size_t c = 0; c < cn; c++)
            acc[c] = 0.0;
        sum = 0.0;
        for (size_t j = 0; j < keys; j++) {
            double p = exp(scale * dot(q, k + j * ldk, hd) - max);
            sum += p;
            for (size_t c = 0; c < cn; c++)
                acc[c] += p * (double)v[j * ldv + c0 + c];
        }
        for (size_t c = 0; c < cn; c++)
            out[c0 + c] = (float)(acc[c] / sum);
    }
}

void ce_ref_attention(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                      const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                      size_t ldv, float scale, int causal, size_t q_offset, float *out, size_t ldo)
{
    (void)ctx;
    for (size_t h = 0; h < heads; h++) {
        size_t col = h * head_dim;
        for (size_t i = 0; i < tq; i++) {
            size_t keys = ce_softmax_row_valid(tk, tk, causal, q_offset, i);
            attend_row(head_dim, keys, q + i * ldq + col, k + col, ldk, v + col, ldv, scale,
                       out + i * ldo + col);
        }
    }
}
