/* Float32 activations rounded to bf16 for the bf16 matrix products: to
 * nearest, ties to even, with VCVTNEPS2BF16 where the CPU has AVX512-BF16
 * (the rounding of ce_bf16_from_f32, the reference's, except that the
 * instruction takes subnormal inputs as zero), else that function itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"
#include "io/half.h"

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target)
#include <immintrin.h>
#define HAVE_AVX512BF16_CODE 1
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void
row_avx512bf16(const float *x, uint16_t *d, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
        _mm256_storeu_si256((__m256i *)(d + i), (__m256i)v);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        _mm256_mask_storeu_epi16(d + i, m, (__m256i)v);
    }
}

/* The same, widened back to floats. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void
round_avx512bf16(const float *x, float *d, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)v), 16);
        _mm512_mask_storeu_ps(d + i, m, _mm512_castsi512_ps(w));
    }
}
#endif
#endif

static void row_plain(const float *x, uint16_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = ce_bf16_from_f32(x[i]);
}

typedef struct {
    const float *x;
    size_t ldx, cols, ldd;
    uint16_t *dst;
    void (*row)(const float *, uint16_t *, size_t);
} cvt_args;

static void cvt_rows(const void *a, size_t begin, size_t end)
{
    const cvt_args *c = a;
    for (size_t r = begin; r < end; r++) {
        uint16_t *d = c->dst + r * c->ldd;
        c->row(c->x + r * c->ldx, d, c->cols);
        memset(d + c->cols, 0, (c->ldd - c->cols) * sizeof *d);
    }
}

const uint16_t *ce_cpu_bf16_x(void *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                              size_t ldd)
{
    ce_cpu_ctx *c = ctx;
    size_t n = rows * ldd;
    if (n > c->xbf16_len) {
        uint16_t *b = aligned_alloc(64, (n * sizeof *b + 63) / 64 * 64);
        if (!b)
            return NULL;
        free(c->xbf16);
        c->xbf16 = b;
        c->xbf16_len = n;
    }
    ce_cpu_to_bf16_rows(ctx, rows, cols, x, ldx, c->xbf16, ldd);
    return c->xbf16;
}

static void round_plain(const float *x, float *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = ce_bf16_to_f32(ce_bf16_from_f32(x[i]));
}

void ce_cpu_bf16_round_rows(size_t rows, size_t cols, const float *x, size_t ldx, float *dst,
                            size_t ldd)
{
#ifdef HAVE_AVX512BF16_CODE
    void (*row)(const float *, float *, size_t) =
        ce_cpu_features() & CE_CPU_AVX512_BF16 ? round_avx512bf16 : round_plain;
#else
    void (*row)(const float *, float *, size_t) = round_plain;
#endif
    for (size_t r = 0; r < rows; r++)
        row(x + r * ldx, dst + r * ldd, cols);
}

typedef struct {
    const float *x;
    size_t ldx, cols;
    float *dst;
} round_args;

static void round_part(const void *args, size_t begin, size_t end)
{
    const round_args *a = args;
    ce_cpu_bf16_round_rows(end - begin, a->cols, a->x + begin * a->ldx, a->ldx,
                           a->dst + begin * a->cols, a->cols);
}

const float *ce_cpu_bf16_round_x(void *ctx, size_t rows, size_t cols, const float *x,
                                 size_t ldx)
{
    ce_cpu_ctx *c = ctx;
    size_t n = rows * cols;
    if (n > c->xround_len) {
        float *b = aligned_alloc(64, (n * sizeof *b + 63) / 64 * 64);
        if (!b)
            return NULL;
        free(c->xround);
        c->xround = b;
        c->xround_len = n;
    }
    round_args a = {x, ldx, cols, c->xround};
    size_t grain = cols ? (65536 + cols - 1) / cols : rows;
    ce_cpu_parallel_for(ctx, rows, grain, 1, round_part, &a);
    return c->xround;
}

static void (*row_fn(void))(const float *, uint16_t *, size_t)
{
#ifdef HAVE_AVX512BF16_CODE
    if (ce_cpu_features() & CE_CPU_AVX512_BF16)
        return row_avx512bf16;
#endif
    return row_plain;
}

void ce_cpu_bf16_row(const float *x, uint16_t *dst, size_t n)
{
    row_fn()(x, dst, n);
}

void ce_cpu_to_bf16_rows(void *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                         uint16_t *dst, size_t ldd)
{
    cvt_args a = {x, ldx, cols, ldd, dst, row_fn()};
    /* about 64K values per thread before a parallel region pays */
    size_t grain = cols ? (65536 + cols - 1) / cols : rows;
    ce_cpu_parallel_for(ctx, rows, grain, 1, cvt_rows, &a);
}

typedef struct {
    const float *x;
    size_t ldx, rows, heads, hd;
    uint16_t *dst;
    void (*row)(const float *, uint16_t *, size_t);
} heads_args;

static void cvt_heads(const void *a, size_t begin, size_t end)
{
    const heads_args *c = a;
    for (size_t r = begin; r < end; r++)
        for (size_t h = 0; h < c->heads; h++)
            c->row(c->x + r * c->ldx + h * c->hd, c->dst + (h * c->rows + r) * c->hd, c->hd);
}

void ce_cpu_to_bf16_heads(void *ctx, size_t rows, size_t heads, size_t hd, const float *x,
                          size_t ldx, uint16_t *dst)
{
    heads_args a = {x, ldx, rows, heads, hd, dst, row_fn()};
    size_t cols = heads * hd;
    size_t grain = cols ? (65536 + cols - 1) / cols : rows;
    ce_cpu_parallel_for(ctx, rows, grain, 1, cvt_heads, &a);
}
