/* The CPU backends' element-wise kernels: simple loops over restrict
 * pointers that the compiler vectorises (AVX2 clone on x86-64), split over
 * the session's threads when large. */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/vec_math.h"

/* Below this many elements per thread a parallel region costs more than it saves. */
#define GRAIN 16384
/* Blocks start on a multiple of 64 floats (a cache line is 16). */
#define ALIGN 64

typedef struct unary_args {
    float *x;
    float alpha;
} unary_args;

typedef struct binary_args {
    const float *a, *b;
    float *y;
} binary_args;

CE_VEC_CLONES static void gelu_erf_block(const void *args, size_t begin, size_t end)
{
    float *restrict x = ((const unary_args *)args)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = ce_vm_gelu_erf(x[i]);
}

CE_VEC_CLONES static void gelu_tanh_block(const void *args, size_t begin, size_t end)
{
    float *restrict x = ((const unary_args *)args)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = ce_vm_gelu_tanh(x[i]);
}

CE_VEC_CLONES static void sigmoid_block(const void *args, size_t begin, size_t end)
{
    float *restrict x = ((const unary_args *)args)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = ce_vm_sigmoid(x[i]);
}

CE_VEC_CLONES static void tanh_block(const void *args, size_t begin, size_t end)
{
    float *restrict x = ((const unary_args *)args)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = ce_vm_tanh(x[i]);
}

CE_VEC_CLONES static void relu_block(const void *args, size_t begin, size_t end)
{
    float *restrict x = ((const unary_args *)args)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = x[i] < 0.0f ? 0.0f : x[i];
}

CE_VEC_CLONES static void scale_block(const void *args, size_t begin, size_t end)
{
    const unary_args *u = args;
    float *restrict x = u->x;
    float alpha = u->alpha;
    for (size_t i = begin; i < end; i++)
        x[i] *= alpha;
}

/* No restrict here: y may alias a or b, and an exact alias is harmless for
 * an element-wise loop, which the compiler checks at run time. */
CE_VEC_CLONES static void add_block(const void *args, size_t begin, size_t end)
{
    const binary_args *v = args;
    const float *a = v->a, *b = v->b;
    float *y = v->y;
    for (size_t i = begin; i < end; i++)
        y[i] = a[i] + b[i];
}

static void unary(void *ctx, size_t n, float *x, float alpha, ce_par_fn fn)
{
    unary_args args = {x, alpha};
    ce_cpu_parallel_for(ctx, n, GRAIN, ALIGN, fn, &args);
}

void ce_cpu_gelu_erf(void *ctx, size_t n, float *x)
{
    unary(ctx, n, x, 0.0f, gelu_erf_block);
}

void ce_cpu_gelu_tanh(void *ctx, size_t n, float *x)
{
    unary(ctx, n, x, 0.0f, gelu_tanh_block);
}

void ce_cpu_sigmoid(void *ctx, size_t n, float *x)
{
    unary(ctx, n, x, 0.0f, sigmoid_block);
}

void ce_cpu_tanh(void *ctx, size_t n, float *x)
{
    unary(ctx, n, x, 0.0f, tanh_block);
}

void ce_cpu_relu(void *ctx, size_t n, float *x)
{
    unary(ctx, n, x, 0.0f, relu_block);
}

void ce_cpu_scale(void *ctx, size_t n, float alpha, float *x)
{
    unary(ctx, n, x, alpha, scale_block);
}

void ce_cpu_add(void *ctx, size_t n, const float *a, const float *b, float *y)
{
    binary_args args = {a, b, y};
    /* memory-bound: a second thread only pays off on large arrays */
    ce_cpu_parallel_for(ctx, n, 4 * GRAIN, ALIGN, add_block, &args);
}

CE_VEC_CLONES void ce_cpu_vexp(size_t n, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = ce_vm_exp(x[i]);
}

CE_VEC_CLONES void ce_cpu_verf(size_t n, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = ce_vm_erf(x[i]);
}
