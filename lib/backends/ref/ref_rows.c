/* Reference row kernels: layer norm and masked softmax, statistics in double. */
#include <math.h>

#include "backends/ref/ref.h"

size_t ce_softmax_row_valid(size_t cols, size_t n_valid, int causal, size_t q_offset, size_t row)
{
    size_t valid = n_valid < cols ? n_valid : cols;
    if (causal && q_offset + row + 1 < valid)
        valid = q_offset + row + 1; /* column j is masked when j > q_offset + row */
    return valid;
}

void ce_ref_layer_norm(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                       const float *gamma, const float *beta, float eps, float *y, size_t ldy)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        double mean = 0.0, var = 0.0;
        for (size_t j = 0; j < dim; j++)
            mean += xr[j];
        mean /= (double)dim;
        for (size_t j = 0; j < dim; j++)
            var += ((double)xr[j] - mean) * ((double)xr[j] - mean);
        var /= (double)dim; /* biased, as PyTorch's LayerNorm */
        double rstd = 1.0 / sqrt(var + (double)eps);
        /* stats are complete before the first write, so y may alias x */
        for (size_t j = 0; j < dim; j++)
            yr[j] = (float)(((double)xr[j] - mean) * rstd * gamma[j] + beta[j]);
    }
}

void ce_ref_softmax(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                    size_t n_valid, int causal, size_t q_offset)
{
    (void)ctx;
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * ldx;
        size_t valid = ce_softmax_row_valid(cols, n_valid, causal, q_offset, r);
        float max = -INFINITY;
        for (size_t j = 0; j < valid; j++)
            max = fmaxf(max, scale * xr[j]);
        double sum = 0.0;
        for (size_t j = 0; j < valid; j++) {
            xr[j] = expf(scale * xr[j] - max);
            sum += xr[j];
        }
        for (size_t j = 0; j < valid; j++)
            xr[j] = (float)(xr[j] / sum);
        for (size_t j = valid; j < cols; j++)
            xr[j] = 0.0f;
    }
}
