/* Reference GEMM: one dot product per output, accumulated in double. Slow on
 * purpose: nothing here is clever, so it can be trusted. */
#include "backends/ref/ref.h"

static float at(const float *m, size_t ld, ce_transpose trans, size_t row, size_t col)
{
    return trans == CE_TRANS ? m[col * ld + row] : m[row * ld + col];
}

void ce_ref_gemm(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
                 size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                 float beta, float *c, size_t ldc, const float *bias)
{
    (void)ctx;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t p = 0; p < k; p++)
                acc += (double)at(a, lda, trans_a, i, p) * (double)at(b, ldb, trans_b, p, j);
            double v = (double)alpha * acc;
            if (beta != 0.0f) /* beta == 0 must not read C: it may hold NaN */
                v += (double)beta * (double)c[i * ldc + j];
            if (bias)
                v += (double)bias[j];
            c[i * ldc + j] = (float)v;
        }
    }
}
