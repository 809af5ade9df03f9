/* The CPU backends' row kernels: layer norm, masked softmax and the LSTM
 * cell. Reductions keep 8 partial sums so that they vectorise without
 * -ffast-math; rows are split over the session's threads when large. */
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

/* ---- layer norm: statistics in double, which costs little at these sizes and
 * keeps rows with a large mean (relative to their spread) accurate ---- */

typedef struct norm_args {
    size_t dim, ldx, ldy;
    const float *x, *gamma, *beta;
    float *y;
    float eps;
} norm_args;

static inline double sum_f64(const float *x, size_t n)
{
    double acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (size_t l = 0; l < LANES; l++)
            acc[l] += (double)x[j + l];
    double s = 0.0;
    for (; j < n; j++)
        s += (double)x[j];
    for (size_t l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

static inline double sum_sq_dev_f64(const float *x, size_t n, double mean)
{
    double acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (size_t l = 0; l < LANES; l++) {
            double d = (double)x[j + l] - mean;
            acc[l] += d * d;
        }
    double s = 0.0;
    for (; j < n; j++)
        s += ((double)x[j] - mean) * ((double)x[j] - mean);
    for (size_t l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

/* y may alias x: the statistics are complete before the first write. */
static inline void norm_row(const norm_args *p, const float *x, float *y)
{
    size_t dim = p->dim;
    double mean = sum_f64(x, dim) / (double)dim;
    double var = sum_sq_dev_f64(x, dim, mean) / (double)dim;
    double rstd = 1.0 / sqrt(var + (double)p->eps);
    const float *restrict gamma = p->gamma, *restrict beta = p->beta;
    for (size_t j = 0; j < dim; j++)
        y[j] = (float)(((double)x[j] - mean) * rstd) * gamma[j] + beta[j];
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
