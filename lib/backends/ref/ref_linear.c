/* The reference backend's prepared weights: int8 (ref_int8.c) or bf16
 * (ref_bf16.c), kept in their own form, each run by its reference product.
 * f32 weights are not prepared: they run the gemm slot on the raw weights. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "core/error.h"

void ce_ref_activate(ce_backend_activation act, size_t n, float *y)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF: ce_ref_gelu_erf(NULL, n, y); break;
    case CE_BACKEND_ACT_GELU_TANH: ce_ref_gelu_tanh(NULL, n, y); break;
    case CE_BACKEND_ACT_RELU: ce_ref_relu(NULL, n, y); break;
    case CE_BACKEND_ACT_SIGMOID: ce_ref_sigmoid(NULL, n, y); break;
    case CE_BACKEND_ACT_TANH: ce_ref_tanh(NULL, n, y); break;
    case CE_BACKEND_ACT_NONE: break;
    }
}

ce_status ce_ref_linear_prepare(void *model_state, const ce_linear_desc *d, void **prepared)
{
    (void)model_state;
    ce_precision p = ce_linear_desc_precision(d);
    if (p != CE_PRECISION_INT8 && p != CE_PRECISION_BF16)
        return ce_error(CE_ERR_UNSUPPORTED, "the reference backend prepares int8 and bf16 "
                                            "weights only, not %s",
                        ce_precision_name(p) ? ce_precision_name(p) : "?");
    ce_ref_weight *w = calloc(1, sizeof *w);
    if (!w)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    w->precision = p;
    w->in = d->in;
    w->out = d->out;
    w->act = d->act;
    ce_status st = p == CE_PRECISION_INT8 ? ce_int8_quantize(d, &w->q) : ce_bf16_convert(d, &w->bf16);
    if (st == CE_OK && d->bias) {
        w->bias = malloc(d->out * sizeof *w->bias);
        if (w->bias)
            memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
        else
            st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (st != CE_OK) {
        ce_ref_linear_release(NULL, w);
        return st;
    }
    *prepared = w;
    return CE_OK;
}

void ce_ref_linear_release(void *model_state, void *prepared)
{
    (void)model_state;
    ce_ref_weight *w = prepared;
    if (!w)
        return;
    ce_int8_quant_free(&w->q);
    free(w->bf16);
    free(w->bias);
    free(w);
}

void ce_ref_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                   float beta, float *y, size_t ldy)
{
    (void)ctx;
    const ce_ref_weight *w = prepared;
    if (w->precision == CE_PRECISION_BF16)
        ce_ref_bf16_linear(w, rows, x, ldx, beta, y, ldy);
    else
        ce_ref_int8_linear(w, rows, x, ldx, beta, y, ldy);
}
