/* Linear, activation and attention on top of the backend kernels. */
#include "architectures/layers.h"

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

void ce_conv1d(ce_backend *be, size_t rows, size_t in, size_t out, const float *x, const float *w,
               const float *b, float *y)
{
    be->ops.gemm(be->ctx, CE_NO_TRANS, CE_NO_TRANS, rows, out, in, 1.0f, x, in, w, out, 0.0f, y, out,
                 b);
}

void ce_activate(ce_backend *be, ce_activation act, size_t n, float *x)
{
    switch (act) {
    case CE_ACT_GELU_ERF: be->ops.gelu_erf(be->ctx, n, x); break;
    case CE_ACT_GELU_TANH: be->ops.gelu_tanh(be->ctx, n, x); break;
    case CE_ACT_RELU: be->ops.relu(be->ctx, n, x); break;
    }
}

void ce_attention(ce_backend *be, const ce_attn_args *a)
{
    for (size_t h = 0; h < a->heads; h++) {
        size_t col = h * a->hd;
        be->ops.gemm(be->ctx, CE_NO_TRANS, CE_TRANS, a->tq, a->tk, a->hd, 1.0f, a->q + col, a->ldq,
                     a->k + col, a->ldk, 0.0f, a->scores, a->tk, NULL);
        be->ops.softmax(be->ctx, a->tq, a->tk, a->scores, a->tk, a->scale, a->tk, a->causal,
                        a->q_offset);
        be->ops.gemm(be->ctx, CE_NO_TRANS, CE_NO_TRANS, a->tq, a->hd, a->tk, 1.0f, a->scores, a->tk,
                     a->v + col, a->ldv, 0.0f, a->ctx + col, a->ldc, NULL);
    }
}
