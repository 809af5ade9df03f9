/* Reference element-wise kernels and the LSTM cell, with libm's functions. */
#include <math.h>

#include "backends/ref/ref.h"

void ce_ref_gelu_erf(void *ctx, size_t n, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void ce_ref_gelu_tanh(void *ctx, size_t n, float *x)
{
    (void)ctx;
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + tanhf(k * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

void ce_ref_add(void *ctx, size_t n, const float *a, const float *b, float *y)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void ce_ref_scale(void *ctx, size_t n, float alpha, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void ce_ref_relu(void *ctx, size_t n, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN stays NaN, as in PyTorch */
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void ce_ref_sigmoid(void *ctx, size_t n, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = sigmoid(x[i]);
}

void ce_ref_tanh(void *ctx, size_t n, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = tanhf(x[i]);
}

void ce_ref_lstm_cell(void *ctx, size_t batch, size_t cell, const float *gates, size_t ld_gates,
                      float forget_bias, float cell_clip, float *c, size_t ldc, float *h,
                      size_t ldh)
{
    (void)ctx;
    for (size_t r = 0; r < batch; r++) {
        const float *in = gates + r * ld_gates;
        const float *forget = in + cell, *cand = in + 2 * cell, *out = in + 3 * cell;
        float *cr = c + r * ldc, *hr = h + r * ldh;
        for (size_t j = 0; j < cell; j++) {
            float cj = sigmoid(forget[j] + forget_bias) * cr[j] + sigmoid(in[j]) * tanhf(cand[j]);
            if (cell_clip > 0.0f)
                cj = fminf(fmaxf(cj, -cell_clip), cell_clip);
            cr[j] = cj;
            hr[j] = sigmoid(out[j]) * tanhf(cj);
        }
    }
}

void ce_ref_max_rows(void *ctx, size_t groups, size_t rows, size_t cols, const float *x, float *y,
                     size_t ldy)
{
    (void)ctx;
    for (size_t g = 0; g < groups; g++) {
        const float *src = x + g * rows * cols;
        float *dst = y + g * ldy;
        for (size_t j = 0; j < cols; j++)
            dst[j] = src[j];
        for (size_t r = 1; r < rows; r++)
            for (size_t j = 0; j < cols; j++)
                dst[j] = src[r * cols + j] > dst[j] ? src[r * cols + j] : dst[j];
    }
}

void ce_ref_gate_mix(void *ctx, size_t n, const float *g, const float *t, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = g[i] * t[i] + (1.0f - g[i]) * x[i];
}

void ce_ref_clip(void *ctx, size_t n, float limit, float *x)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > limit ? limit : x[i] < -limit ? -limit : x[i];
}
