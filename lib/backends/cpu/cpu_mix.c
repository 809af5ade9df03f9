/* The CPU backends' kernels for ELMo's element-wise steps (max over a
 * convolution's positions, a highway's carry, projection clipping), and the
 * thread count and scratch every CPU backend context starts with. */
#include <stdlib.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"

#define GRAIN 16384

int ce_cpu_threads(const void *ctx)
{
    return ((const ce_cpu_ctx *)ctx)->n_threads;
}

float *ce_cpu_scratch(void *ctx, int thread, size_t floats)
{
    ce_cpu_ctx *c = ctx;
    if (thread < 0 || thread >= CE_CPU_MAX_THREADS)
        return NULL;
    if (c->scratch_floats[thread] < floats) {
        free(c->scratch[thread]);
        c->scratch[thread] = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        c->scratch_floats[thread] = c->scratch[thread] ? floats : 0;
    }
    return c->scratch[thread];
}

void ce_cpu_start_values(const float *bias, const float *y_row, int accumulate, size_t nc,
                         size_t nr, float *t)
{
    for (size_t j = 0; j < nr; j++)
        t[j] = j < nc && bias ? bias[j] : 0.0f;
    if (accumulate)
        for (size_t j = 0; j < nc; j++)
            t[j] += y_row[j];
}

void ce_cpu_nan_rows(size_t rows, size_t cols, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++)
            y[r * ldy + j] = __builtin_nanf("");
}

void ce_cpu_ctx_release(void *ctx)
{
    ce_cpu_ctx *c = ctx;
    for (int i = 0; i < CE_CPU_MAX_THREADS; i++) {
        free(c->scratch[i]);
        c->scratch[i] = NULL;
        c->scratch_floats[i] = 0;
    }
    free(c->xbf16);
    c->xbf16 = NULL;
    c->xbf16_len = 0;
    free(c->xround);
    c->xround = NULL;
    c->xround_len = 0;
}

void ce_cpu_set_threads(void *ctx, int n_threads)
{
    ce_cpu_ctx *c = ctx;
    c->n_threads = n_threads < 1 ? 1 : n_threads > c->max_threads ? c->max_threads : n_threads;
}

typedef struct max_args {
    size_t rows, cols, ldy;
    const float *x;
    float *y;
} max_args;

CE_VEC_CLONES static void max_block(const void *args, size_t begin, size_t end)
{
    const max_args *a = args;
    size_t rows = a->rows, cols = a->cols;
    for (size_t g = begin; g < end; g++) {
        const float *restrict src = a->x + g * rows * cols;
        float *restrict dst = a->y + g * a->ldy;
        for (size_t j = 0; j < cols; j++)
            dst[j] = src[j];
        for (size_t r = 1; r < rows; r++)
            for (size_t j = 0; j < cols; j++)
                dst[j] = src[r * cols + j] > dst[j] ? src[r * cols + j] : dst[j];
    }
}

void ce_cpu_max_rows(void *ctx, size_t groups, size_t rows, size_t cols, const float *x, float *y,
                     size_t ldy)
{
    max_args args = {rows, cols, ldy, x, y};
    size_t per = rows * cols + 1;
    ce_cpu_parallel_for(ctx, groups, GRAIN / per + 1, 1, max_block, &args);
}

typedef struct mix_args {
    const float *g, *t;
    float *x;
    float limit;
} mix_args;

CE_VEC_CLONES static void gate_mix_block(const void *args, size_t begin, size_t end)
{
    const mix_args *a = args;
    const float *restrict g = a->g, *restrict t = a->t;
    float *restrict x = a->x;
    for (size_t i = begin; i < end; i++)
        x[i] = g[i] * t[i] + (1.0f - g[i]) * x[i];
}

void ce_cpu_gate_mix(void *ctx, size_t n, const float *g, const float *t, float *x)
{
    mix_args args = {g, t, x, 0.0f};
    ce_cpu_parallel_for(ctx, n, GRAIN, 16, gate_mix_block, &args);
}

CE_VEC_CLONES static void clip_block(const void *args, size_t begin, size_t end)
{
    const mix_args *a = args;
    float *restrict x = a->x;
    float lim = a->limit;
    for (size_t i = begin; i < end; i++)
        x[i] = x[i] > lim ? lim : x[i] < -lim ? -lim : x[i];
}

void ce_cpu_clip(void *ctx, size_t n, float limit, float *x)
{
    mix_args args = {NULL, NULL, x, limit};
    ce_cpu_parallel_for(ctx, n, GRAIN, 16, clip_block, &args);
}

