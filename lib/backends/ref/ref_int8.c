/* Weight-only int8: the quantisation every backend shares, and the
 * reference product on it (the ground truth of the fast kernels).
 *
 * Symmetric, per output and group of CE_INT8_GROUP (64) consecutive inputs
 * (the last group of a row may be shorter): scale = max |w| / 127 over the group,
 * q = round(w / scale) (halves away from zero), in [-127, 127]; an all-zero
 * group has scale 0 and q 0. The product is y = x (q * scale)^T: activations
 * stay float32. The reference sums each group's x q in double and scales it,
 * so it is the exact product of the quantised weights up to one rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "core/error.h"

/* Why 64 (measured on the trained models of models/, int8 against f32 on
 * every held-out text, test/test-precision.c): groups of 16, 32, 64, 128 and
 * one scale per output gave GPT-2 next-token argmax agreement 99.16, 99.06,
 * 98.94, 98.86 and 98.83 %, perplexity within 0.03 % for all; the smallest
 * BERT / ELMo token-vector cosine 0.9999 / 0.999 for all. The scales cost
 * 4 bytes per group: 12.5 % more bytes to read per weight at 32, 6.25 % at
 * 64, 3.1 % at 128; 64 keeps most of the accuracy for half of 32's cost. */

size_t ce_int8_group(size_t in)
{
    return in < CE_INT8_GROUP ? in : CE_INT8_GROUP;
}

ce_status ce_int8_quantize(const ce_linear_desc *d, ce_int8_quant *out)
{
    ce_int8_quant q = {.in = d->in, .out = d->out, .group = ce_int8_group(d->in)};
    q.groups = (d->in + q.group - 1) / q.group;
    q.q = malloc(d->in * d->out);
    q.scale = malloc(d->out * q.groups * sizeof *q.scale);
    if (!q.q || !q.scale) {
        ce_int8_quant_free(&q);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "cannot allocate %zu int8 weights", d->in * d->out);
    }
    for (size_t o = 0; o < d->out; o++)
        for (size_t g = 0; g < q.groups; g++) {
            size_t i0 = g * q.group, i1 = i0 + q.group < d->in ? i0 + q.group : d->in;
            float amax = 0.0f;
            for (size_t i = i0; i < i1; i++) {
                float a = fabsf(ce_linear_desc_weight(d, o, i));
                amax = a > amax ? a : amax;
            }
            float scale = amax / 127.0f;
            q.scale[o * q.groups + g] = scale;
            for (size_t i = i0; i < i1; i++) {
                float r = scale > 0.0f ? roundf(ce_linear_desc_weight(d, o, i) / scale) : 0.0f;
                r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r == r ? r : 0.0f; /* NaN: 0 */
                q.q[o * d->in + i] = (int8_t)r;
            }
        }
    *out = q;
    return CE_OK;
}

void ce_int8_quant_free(ce_int8_quant *q)
{
    free(q->q);
    free(q->scale);
    q->q = NULL;
    q->scale = NULL;
}

/* The reference int8 product: y = x (q * scale)^T + bias, then the activation. */
void ce_ref_int8_linear(const ce_ref_weight *w, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy)
{
    const ce_int8_quant *q = &w->q;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        for (size_t o = 0; o < q->out; o++) {
            const int8_t *qo = q->q + o * q->in;
            double acc = 0.0;
            for (size_t g = 0; g < q->groups; g++) {
                size_t i0 = g * q->group, i1 = i0 + q->group < q->in ? i0 + q->group : q->in;
                double s = 0.0;
                for (size_t i = i0; i < i1; i++)
                    s += (double)xr[i] * qo[i];
                acc += s * q->scale[o * q->groups + g];
            }
            if (w->bias)
                acc += w->bias[o];
            if (beta != 0.0f)
                acc += (double)beta * yr[o];
            yr[o] = (float)acc;
        }
        ce_ref_activate(w->act, q->out, yr);
    }
}
