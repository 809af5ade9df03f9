/* Linear, activation and attention on top of the backend kernels. */
#include "architectures/layers.h"

#include <math.h>
#include <string.h>

int ce_activation_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "gelu"))
        return CE_ACT_GELU_ERF;
    if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh") || !strcmp(name, "gelu_fast"))
        return CE_ACT_GELU_TANH;
    if (!strcmp(name, "relu"))
        return CE_ACT_RELU;
    return -1;
}

void ce_linear(ce_backend *be, size_t rows, size_t in, size_t out, const float *x, const float *w,
               const float *b, float *y)
{
    be->ops.gemm(be->ctx, CE_NO_TRANS, CE_TRANS, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out, b);
}

void ce_activate(ce_backend *be, ce_activation act, size_t n, float *x)
{
    switch (act) {
    case CE_ACT_GELU_ERF: be->ops.gelu_erf(be->ctx, n, x); break;
    case CE_ACT_GELU_TANH: be->ops.gelu_tanh(be->ctx, n, x); break;
    case CE_ACT_RELU: be->ops.relu(be->ctx, n, x); break;
    }
}

void ce_attention(ce_backend *be, size_t tq, size_t tk, size_t heads, size_t hd, const float *q,
                  size_t ldq, const float *k, size_t ldk, const float *v, size_t ldv, int causal,
                  size_t q_offset, float *scores, float *ctx, size_t ldc)
{
    float scale = 1.0f / sqrtf((float)hd);
    for (size_t h = 0; h < heads; h++) {
        size_t col = h * hd;
        be->ops.gemm(be->ctx, CE_NO_TRANS, CE_TRANS, tq, tk, hd, 1.0f, q + col, ldq, k + col, ldk,
                     0.0f, scores, tk, NULL);
        be->ops.softmax(be->ctx, tq, tk, scores, tk, scale, tk, causal, q_offset);
        be->ops.gemm(be->ctx, CE_NO_TRANS, CE_NO_TRANS, tq, hd, tk, 1.0f, scores, tk, v + col, ldv,
                     0.0f, ctx + col, ldc, NULL);
    }
}
