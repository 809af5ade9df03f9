/* bf16 weights and products: the conversion every backend shares, and the
 * reference product on it (the ground truth of fast bf16 kernels).
 *
 * Rounding: float32 to bf16 to nearest, ties to even (what AVX512-BF16's
 * VCVTNEPS2BF16 and AMX's conversions do); a NaN stays a (quiet) NaN. The
 * product takes bf16 inputs on both sides: each activation is rounded to
 * bf16 too, as a bf16 matrix unit would see it, and every product of two
 * bf16 values is exact in float32 (8 + 8 significant bits). Sums are float32
 * in eight lanes over consecutive inputs, then the lanes in double: the order
 * of a 256-bit dot-product kernel, so a fast kernel differs from it only by
 * its own float32 summation order. Outputs, bias and activation stay float32. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "core/error.h"

uint16_t ce_bf16_from_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it one, quiet */
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Inline forms for the product's inner loop (io/half.c has the exported one). */
static inline float widen(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float round_bf16(float f)
{
    return widen(ce_bf16_from_f32(f));
}

ce_status ce_bf16_convert(const ce_linear_desc *d, uint16_t **out)
{
    size_t n = d->in * d->out;
    uint16_t *w = malloc((n ? n : 1) * sizeof *w);
    if (!w)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "cannot allocate %zu bf16 weights", d->in * d->out);
    for (size_t o = 0; o < d->out; o++)
        for (size_t i = 0; i < d->in; i++)
            w[o * d->in + i] = ce_bf16_from_f32(ce_linear_desc_weight(d, o, i));
    *out = w;
    return CE_OK;
}

#define LANES 8

/* sum_i bf16(x[i]) * w[i] in the lane order described above. */
static float dot_bf16(const float *x, const uint16_t *w, size_t n)
{
    float lane[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t k = 0; k < LANES; k++)
            lane[k] += round_bf16(x[i + k]) * widen(w[i + k]);
    for (size_t k = 0; i + k < n; k++)
        lane[k] += round_bf16(x[i + k]) * widen(w[i + k]);
    double s = 0.0;
    for (size_t k = 0; k < LANES; k++)
        s += lane[k];
    return (float)s;
}

void ce_ref_bf16_linear(const ce_ref_weight *w, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        for (size_t o = 0; o < w->out; o++) {
            double acc = dot_bf16(xr, w->bf16 + o * w->in, w->in);
            if (w->bias)
                acc += w->bias[o];
            if (beta != 0.0f)
                acc += (double)beta * yr[o];
            yr[o] = (float)acc;
        }
        ce_ref_activate(w->act, w->out, yr);
    }
}
