/* The CPU backends' row kernels: layer norm, masked softmax and the LSTM
 * cell. Reductions keep 8 or 16 partial sums so that they vectorise without
 * -ffast-math; rows are split over the session's threads when large. */
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/vec_math.h"
#include "backends/ref/ref.h"

/* Elements per thread below which a parallel region does not pay. */
#define GRAIN 16384
#define LANES 8

static size_t grain_rows(size_t cols)
{
    return cols >= GRAIN ? 1 : GRAIN / (cols ? cols : 1);
}

/* ---- layer norm: float32 statistics taken about a first estimate of the
 * mean, so that rows with a large mean (relative to their spread) stay
 * accurate; 16-lane partial sums in a fixed order, so every ISA clone
 * computes the same bits (in double, as before, BERT-base's 25 calls took 0.8
 * of a 16 ms bf16 forward). The row's steps are always inlined: GCC may
 * leave them out of line, compiled once for the baseline ISA, which every
 * clone then calls (the four-vector sum so took 71 against 22 us for
 * BERT-base's 128 x 768 call, one thread; one vector, 26) ---- */

typedef struct norm_args {
    size_t dim, ldx, ldy;
    const float *x, *gamma, *beta;
    float *y;
    float eps;
} norm_args;

/* 16 partial sums as one vector (GCC and clang lower it to the ISA's own
 * widths, lane for lane): written as arrays, GCC vectorised across rows with
 * shuffles and the statistics took longer than in double. */
typedef float norm_v16 __attribute__((vector_size(64)));
#define NORM_LANES 16

/* (vectors only through pointers: passed by value, the ABI depends on the ISA) */
static inline void norm_load(norm_v16 *v, const float *x)
{
    memcpy(v, x, sizeof *v);
}

static inline float lanes_total(const norm_v16 *v)
{
    float acc[NORM_LANES];
    memcpy(acc, v, sizeof acc);
    for (size_t w = NORM_LANES / 2; w > 0; w /= 2)
        for (size_t l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

/* Four vectors of partial sums a step, so that the additions do not wait on
 * each other. */
static inline __attribute__((always_inline)) float norm_sum(const float *x, size_t n)
{
    norm_v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, v;
    float tail = 0.0f;
    size_t j = 0;
    for (; j + 4 * NORM_LANES <= n; j += 4 * NORM_LANES) {
        norm_load(&v, x + j);
        a0 += v;
        norm_load(&v, x + j + NORM_LANES);
        a1 += v;
        norm_load(&v, x + j + 2 * NORM_LANES);
        a2 += v;
        norm_load(&v, x + j + 3 * NORM_LANES);
        a3 += v;
    }
    for (; j + NORM_LANES <= n; j += NORM_LANES) {
        norm_load(&v, x + j);
        a0 += v;
    }
    for (; j < n; j++)
        tail += x[j];
    a0 = (a0 + a1) + (a2 + a3);
    return lanes_total(&a0) + tail;
}

/* The sums of x - m and of its square, two vectors of each a step. */
static inline __attribute__((always_inline)) void sums_about(const float *x, size_t n, float m,
                                                             float *s1, float *s2)
{
    norm_v16 a1 = {0}, a2 = {0}, b1 = {0}, b2 = {0}, d, e;
    float t1 = 0.0f, t2 = 0.0f;
    size_t j = 0;
    for (; j + 2 * NORM_LANES <= n; j += 2 * NORM_LANES) {
        norm_load(&d, x + j);
        norm_load(&e, x + j + NORM_LANES);
        d -= m;
        e -= m;
        a1 += d;
        a2 += d * d;
        b1 += e;
        b2 += e * e;
    }
    for (; j + NORM_LANES <= n; j += NORM_LANES) {
        norm_load(&d, x + j);
        d -= m;
        a1 += d;
        a2 += d * d;
    }
    for (; j < n; j++) {
        float d = x[j] - m;
        t1 += d;
        t2 += d * d;
    }
    a1 += b1;
    a2 += b2;
    *s1 = lanes_total(&a1) + t1;
    *s2 = lanes_total(&a2) + t2;
}

/* y may alias x: the statistics are complete before the first write. With
 * m0 the first estimate and s1, s2 the sums about it, the mean is
 * m0 + s1 / n and the variance s2 / n - (s1 / n)^2, where s1 / n is as small
 * as m0's rounding error; x - m0 is exact where x is near m0, so the mean
 * is never rounded to a float (at a mean 5000 times the spread that moved
 * the outputs by 1e-5). */
static inline __attribute__((always_inline)) void norm_row(const norm_args *p, const float *x,
                                                           float *y)
{
    size_t dim = p->dim;
    float n = (float)dim, m0 = norm_sum(x, dim) / n, s1, s2;
    sums_about(x, dim, m0, &s1, &s2);
    float shift = s1 / n, var = s2 / n - shift * shift;
    float rstd = 1.0f / sqrtf((var > 0.0f ? var : 0.0f) + p->eps);
    const float *restrict gamma = p->gamma, *restrict beta = p->beta;
    for (size_t j = 0; j < dim; j++)
        y[j] = ((x[j] - m0) - shift) * rstd * gamma[j] + beta[j];
}

CE_VEC_CLONES static void norm_block(const void *args, size_t begin, size_t end)
{
    const norm_args *p = args;
    for (size_t r = begin; r < end; r++)
        norm_row(p, p->x + r * p->ldx, p->y + r * p->ldy);
}

void ce_cpu_layer_norm(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                        const float *gamma, const float *beta, float eps, float *y, size_t ldy)
{
    if (dim == 0)
        return;
    norm_args args = {dim, ldx, ldy, x, gamma, beta, y, eps};
    ce_cpu_parallel_for(ctx, rows, grain_rows(dim), 1, norm_block, &args);
}

/* ---- softmax ---- */

typedef struct softmax_args {
    size_t cols, ldx, n_valid, q_offset;
    float *x;
    float scale;
    int causal;
} softmax_args;

static inline float max_scaled(const float *x, size_t n, float scale)
{
    float acc[LANES];
    for (size_t l = 0; l < LANES; l++)
        acc[l] = -INFINITY;
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (size_t l = 0; l < LANES; l++) {
            float v = scale * x[j + l];
            acc[l] = v > acc[l] ? v : acc[l];
        }
    float m = -INFINITY;
    for (; j < n; j++)
        m = scale * x[j] > m ? scale * x[j] : m;
    for (size_t l = 0; l < LANES; l++)
        m = acc[l] > m ? acc[l] : m;
    return m;
}

static inline float sum_f32(const float *x, size_t n)
{
    float acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (size_t l = 0; l < LANES; l++)
            acc[l] += x[j + l];
    double s = 0.0; /* lanes of <= n/8 positive terms each, combined in double */
    for (; j < n; j++)
        s += x[j];
    for (size_t l = 0; l < LANES; l++)
        s += acc[l];
    return (float)s;
}

CE_VEC_CLONES static void softmax_row(float *restrict x, size_t valid, size_t cols, float scale)
{
    if (valid > 0) {
        float max = max_scaled(x, valid, scale);
        for (size_t j = 0; j < valid; j++)
            x[j] = ce_vm_exp(scale * x[j] - max);
        float inv = 1.0f / sum_f32(x, valid);
        for (size_t j = 0; j < valid; j++)
            x[j] *= inv;
    }
    for (size_t j = valid; j < cols; j++)
        x[j] = 0.0f;
}

/* Not cloned itself: clang 14 names a target_clones function's ifunc so that
 * callers in other files do not link against it. */
void ce_cpu_softmax_row(float *x, size_t valid, size_t cols, float scale)
{
    softmax_row(x, valid, cols, scale);
}

CE_VEC_CLONES static void softmax_block(const void *args, size_t begin, size_t end)
{
    const softmax_args *p = args;
    for (size_t r = begin; r < end; r++) {
        size_t valid = ce_softmax_row_valid(p->cols, p->n_valid, p->causal, p->q_offset, r);
        softmax_row(p->x + r * p->ldx, valid, p->cols, p->scale);
    }
}

void ce_cpu_softmax(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                     size_t n_valid, int causal, size_t q_offset)
{
    softmax_args args = {cols, ldx, n_valid, q_offset, x, scale, causal};
    ce_cpu_parallel_for(ctx, rows, grain_rows(cols), 1, softmax_block, &args);
}

/* ---- LSTM cell ---- */

typedef struct lstm_args {
    size_t cell, ld_gates, ldc, ldh;
    const float *gates;
    float *c, *h;
    float forget_bias, cell_clip;
} lstm_args;

static inline void lstm_row(const float *restrict in, size_t cell, float forget_bias,
                            float cell_clip, float *restrict c, float *restrict h)
{
    const float *restrict forget = in + cell, *restrict cand = in + 2 * cell;
    const float *restrict out = in + 3 * cell;
    float clip = cell_clip > 0.0f ? cell_clip : INFINITY;
    for (size_t j = 0; j < cell; j++) {
        float cj = ce_vm_sigmoid(forget[j] + forget_bias) * c[j] +
                   ce_vm_sigmoid(in[j]) * ce_vm_tanh(cand[j]);
        cj = cj > clip ? clip : cj;
        cj = cj < -clip ? -clip : cj;
        c[j] = cj;
        h[j] = ce_vm_sigmoid(out[j]) * ce_vm_tanh(cj);
    }
}

CE_VEC_CLONES static void lstm_block(const void *args, size_t begin, size_t end)
{
    const lstm_args *p = args;
    for (size_t r = begin; r < end; r++)
        lstm_row(p->gates + r * p->ld_gates, p->cell, p->forget_bias, p->cell_clip,
                 p->c + r * p->ldc, p->h + r * p->ldh);
}

void ce_cpu_lstm_cell(void *ctx, size_t batch, size_t cell, const float *gates, size_t ld_gates,
                       float forget_bias, float cell_clip, float *c, size_t ldc, float *h,
                       size_t ldh)
{
    lstm_args args = {cell, ld_gates, ldc, ldh, gates, c, h, forget_bias, cell_clip};
    ce_cpu_parallel_for(ctx, batch, grain_rows(4 * cell), 1, lstm_block, &args);
}
