/* The library's own weight-only int8 linear layers, aimed at decoding.
 *
 * The weight is quantised as the reference does (ref_int8.c: one scale per
 * output and group of CE_INT8_GROUP inputs) and packed like the f32 kernel's
 * (cpu_packed.c): panels of 16 outputs, for every input index 16 int8 in a
 * row (16 bytes), the last panel zero-padded; the scales per panel and group,
 * 16 floats each. A quarter of the f32 bytes (plus 1/16 for the scales):
 * decoding reads every weight once per token, so that is what it costs.
 *
 * Few rows (decoding, m <= INT8_DIRECT_ROWS): AVX2+FMA, 16 int8 widened to
 * float in registers per input index, a multiply-add per row into a group's
 * accumulators, which are scaled into the totals at the group's end. One row
 * alternates two sets of accumulators over even and odd inputs, so that four
 * multiply-add chains run at once. More rows (a prompt, an encoder): each
 * panel is widened once into the thread's scratch as floats (scaled) and
 * multiplied by the f32 kernel's microkernel. Threads split the panels, as
 * for f32. Without AVX2+FMA, both run as plain C (the compiler's vectoriser
 * does what it can) on the same layout; with AVX-512, one row runs a wider
 * kernel. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_packed.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"
#include "core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CE_INT8_X86 1
#else
#define CE_INT8_X86 0
#endif

#define NR 16
#define INT8_GROUP 4 /* panels one row reads side by side (AVX-512) */
/* Up to this many rows, the weights are widened in registers per call. */
#define INT8_DIRECT_ROWS 4
#ifndef INT8_PREFETCH
#define INT8_PREFETCH 4096 /* bytes ahead the one-row kernel asks for (0: 6.4, 2048: 7.7-8.3,
                              * 4096: 8.4-9.0 GB/s from memory, one thread, GPT-2 head) */
#endif

struct ce_int8_weight {
    ce_precision precision; /* CE_PRECISION_INT8: first, as every prepared form of cpu_* */
    size_t in, out, panels, group, groups;
    int8_t *q;    /* panels x in x NR */
    float *scale; /* panels x groups x NR */
    float *bias;  /* out, or NULL */
    ce_backend_activation act;
    int avx2;     /* the AVX2 kernels run on this CPU */
    int avx512;   /* and the AVX-512 one-row kernel */
};

ce_status ce_cpu_int8_prepare(const ce_linear_desc *d, ce_int8_weight **out)
{
    return ce_cpu_int8_prepare_isa(d, CE_CPU_ISA_BEST, out);
}

ce_status ce_cpu_int8_prepare_isa(const ce_linear_desc *d, int max_isa, ce_int8_weight **out)
{
    int avx2 = max_isa >= CE_CPU_ISA_AVX2 && ce_cpu_packed_supported();
    ce_int8_quant q;
    ce_status st = ce_int8_quantize(d, &q);
    if (st != CE_OK)
        return st;
    ce_int8_weight *w = calloc(1, sizeof *w);
    if (!w) {
        ce_int8_quant_free(&q);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    }
    w->precision = CE_PRECISION_INT8;
    w->in = d->in;
    w->out = d->out;
    w->act = d->act;
    w->group = q.group;
    w->groups = q.groups;
    w->panels = (d->out + NR - 1) / NR;
    w->avx2 = avx2;
    w->avx512 = CE_INT8_X86 && avx2 && max_isa >= CE_CPU_ISA_BEST &&
                (ce_cpu_features() & CE_CPU_AVX512) != 0;
    size_t nq = w->panels * d->in * NR, ns = w->panels * w->groups * NR;
    w->q = aligned_alloc(64, (nq + 63) / 64 * 64);
    w->scale = aligned_alloc(64, (ns * sizeof(float) + 63) / 64 * 64);
    if (d->bias)
        w->bias = malloc(d->out * sizeof *w->bias);
    if (!w->q || !w->scale || (d->bias && !w->bias)) {
        ce_int8_quant_free(&q);
        ce_cpu_int8_release(w);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "cannot allocate %zu packed int8 weights", nq);
    }
    for (size_t p = 0; p < w->panels; p++) {
        for (size_t k = 0; k < d->in; k++)
            for (size_t j = 0; j < NR; j++) {
                size_t o = p * NR + j;
                w->q[(p * d->in + k) * NR + j] = o < d->out ? q.q[o * d->in + k] : 0;
            }
        for (size_t g = 0; g < w->groups; g++)
            for (size_t j = 0; j < NR; j++) {
                size_t o = p * NR + j;
                w->scale[(p * w->groups + g) * NR + j] = o < d->out ? q.scale[o * q.groups + g]
                                                                    : 0.0f;
            }
    }
    if (d->bias)
        memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
    ce_int8_quant_free(&q);
    *out = w;
    return CE_OK;
}

void ce_cpu_int8_release(ce_int8_weight *w)
{
    if (!w)
        return;
    free(w->q);
    free(w->scale);
    free(w->bias);
    free(w);
}

typedef struct int8_args {
    void *ctx;
    const ce_int8_weight *w;
    size_t rows, ldx, ldy;
    const float *x;
    float *y;
    int accumulate;
} int8_args;

/* The 16 starting values of row r of panel p: bias (or 0) plus y when
 * accumulating; nc valid columns. */
static void start_values(const int8_args *a, size_t r, size_t p, size_t nc, float *t)
{
    const float *bias = a->w->bias ? a->w->bias + p * NR : NULL;
    ce_cpu_start_values(bias, a->y + r * a->ldy + p * NR, a->accumulate, nc, NR, t);
}

static void store_values(const int8_args *a, size_t r, size_t p, size_t nc, const float *t)
{
    memcpy(a->y + r * a->ldy + p * NR, t, nc * sizeof *t);
}

/* ---- plain C, on any CPU ---- */

static void direct_panel_c(const int8_args *a, size_t p, size_t r0, size_t mr)
{
    const ce_int8_weight *w = a->w;
    size_t nc = w->out - p * NR < NR ? w->out - p * NR : NR;
    float tot[INT8_DIRECT_ROWS][NR];
    for (size_t r = 0; r < mr; r++)
        start_values(a, r0 + r, p, nc, tot[r]);
    const int8_t *q = w->q + p * w->in * NR;
    for (size_t g = 0; g < w->groups; g++) {
        size_t k0 = g * w->group, k1 = k0 + w->group < w->in ? k0 + w->group : w->in;
        const float *s = w->scale + (p * w->groups + g) * NR;
        for (size_t r = 0; r < mr; r++) {
            const float *x = a->x + (r0 + r) * a->ldx;
            float acc[NR] = {0};
            for (size_t k = k0; k < k1; k++)
                for (size_t j = 0; j < NR; j++)
                    acc[j] += x[k] * (float)q[k * NR + j];
            for (size_t j = 0; j < NR; j++)
                tot[r][j] += acc[j] * s[j];
        }
    }
    for (size_t r = 0; r < mr; r++)
        store_values(a, r0 + r, p, nc, tot[r]);
}

/* Panel p widened to floats: dst[k * NR + j] = q * scale. */
static void widen_panel_c(const ce_int8_weight *w, size_t p, float *dst)
{
    const int8_t *q = w->q + p * w->in * NR;
    for (size_t g = 0; g < w->groups; g++) {
        size_t k0 = g * w->group, k1 = k0 + w->group < w->in ? k0 + w->group : w->in;
        const float *s = w->scale + (p * w->groups + g) * NR;
        for (size_t k = k0; k < k1; k++)
            for (size_t j = 0; j < NR; j++)
                dst[k * NR + j] = (float)q[k * NR + j] * s[j];
    }
}

/* Every row through a widened panel, without the microkernel. */
static void widened_rows_c(const int8_args *a, size_t p, const float *b)
{
    const ce_int8_weight *w = a->w;
    size_t nc = w->out - p * NR < NR ? w->out - p * NR : NR;
    for (size_t r = 0; r < a->rows; r++) {
        float t[NR];
        start_values(a, r, p, nc, t);
        const float *x = a->x + r * a->ldx;
        for (size_t k = 0; k < w->in; k++)
            for (size_t j = 0; j < NR; j++)
                t[j] += x[k] * b[k * NR + j];
        store_values(a, r, p, nc, t);
    }
}

/* ---- AVX2 + FMA ---- */

#if CE_INT8_X86

#define AVX2 __attribute__((target("avx2,fma")))

/* 16 int8 at q as two vectors of 8 floats. */
AVX2 static inline void widen16(const int8_t *q, __m256 *lo, __m256 *hi)
{
    /* 8 bytes each: the loads fold into vpmovsxbd */
    *lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q)));
    *hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + 8))));
}

/* One row: two sets of accumulators over even and odd inputs (four chains;
 * eight, over four inputs, spilled registers and ran slower on Zen 3). */
AVX2 static void direct_panel_1(const int8_args *a, size_t p, size_t r0)
{
    const ce_int8_weight *w = a->w;
    size_t nc = w->out - p * NR < NR ? w->out - p * NR : NR;
    float t[NR];
    start_values(a, r0, p, nc, t);
    __m256 tot0 = _mm256_loadu_ps(t), tot1 = _mm256_loadu_ps(t + 8);
    const int8_t *q = w->q + p * w->in * NR;
    const float *x = a->x + r0 * a->ldx;
    for (size_t g = 0; g < w->groups; g++) {
        size_t k0 = g * w->group, k1 = k0 + w->group < w->in ? k0 + w->group : w->in;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
        size_t k = k0;
        for (; k + 4 <= k1; k += 4) { /* one cache line of weights */
            _mm_prefetch((const char *)(q + k * NR) + INT8_PREFETCH, _MM_HINT_T0);
            for (size_t u = 0; u < 4; u += 2) {
                __m256 w0, w1, v0, v1;
                widen16(q + (k + u) * NR, &w0, &w1);
                widen16(q + (k + u + 1) * NR, &v0, &v1);
                __m256 x0 = _mm256_broadcast_ss(x + k + u);
                __m256 x1 = _mm256_broadcast_ss(x + k + u + 1);
                a0 = _mm256_fmadd_ps(x0, w0, a0);
                a1 = _mm256_fmadd_ps(x0, w1, a1);
                b0 = _mm256_fmadd_ps(x1, v0, b0);
                b1 = _mm256_fmadd_ps(x1, v1, b1);
            }
        }
        for (; k + 2 <= k1; k += 2) {
            __m256 w0, w1, v0, v1;
            widen16(q + k * NR, &w0, &w1);
            widen16(q + (k + 1) * NR, &v0, &v1);
            __m256 x0 = _mm256_broadcast_ss(x + k), x1 = _mm256_broadcast_ss(x + k + 1);
            a0 = _mm256_fmadd_ps(x0, w0, a0);
            a1 = _mm256_fmadd_ps(x0, w1, a1);
            b0 = _mm256_fmadd_ps(x1, v0, b0);
            b1 = _mm256_fmadd_ps(x1, v1, b1);
        }
        if (k < k1) {
            __m256 w0, w1;
            widen16(q + k * NR, &w0, &w1);
            __m256 x0 = _mm256_broadcast_ss(x + k);
            a0 = _mm256_fmadd_ps(x0, w0, a0);
            a1 = _mm256_fmadd_ps(x0, w1, a1);
        }
        const float *s = w->scale + (p * w->groups + g) * NR;
        tot0 = _mm256_fmadd_ps(_mm256_add_ps(a0, b0), _mm256_load_ps(s), tot0);
        tot1 = _mm256_fmadd_ps(_mm256_add_ps(a1, b1), _mm256_load_ps(s + 8), tot1);
    }
    _mm256_storeu_ps(t, tot0);
    _mm256_storeu_ps(t + 8, tot1);
    store_values(a, r0, p, nc, t);
}

/* mr (2..INT8_DIRECT_ROWS) rows: the widened weights serve every row. */
AVX2 __attribute__((always_inline)) static inline void direct_panel_m(const int8_args *a,
                                                                     size_t p, size_t r0,
                                                                     int mr)
{
    const ce_int8_weight *w = a->w;
    size_t nc = w->out - p * NR < NR ? w->out - p * NR : NR;
    __m256 tot[INT8_DIRECT_ROWS][2];
    for (int r = 0; r < mr; r++) {
        float t[NR];
        start_values(a, r0 + (size_t)r, p, nc, t);
        tot[r][0] = _mm256_loadu_ps(t);
        tot[r][1] = _mm256_loadu_ps(t + 8);
    }
    const int8_t *q = w->q + p * w->in * NR;
    const float *x = a->x + r0 * a->ldx;
    for (size_t g = 0; g < w->groups; g++) {
        size_t k0 = g * w->group, k1 = k0 + w->group < w->in ? k0 + w->group : w->in;
        __m256 acc[INT8_DIRECT_ROWS][2];
        for (int r = 0; r < mr; r++)
            acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (size_t k = k0; k < k1; k++) {
            if (!(k & 3)) /* once per cache line */
                _mm_prefetch((const char *)(q + k * NR) + INT8_PREFETCH, _MM_HINT_T0);
            __m256 w0, w1;
            widen16(q + k * NR, &w0, &w1);
            for (int r = 0; r < mr; r++) {
                __m256 xv = _mm256_broadcast_ss(x + (size_t)r * a->ldx + k);
                acc[r][0] = _mm256_fmadd_ps(xv, w0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(xv, w1, acc[r][1]);
            }
        }
        const float *s = w->scale + (p * w->groups + g) * NR;
        __m256 s0 = _mm256_load_ps(s), s1 = _mm256_load_ps(s + 8);
        for (int r = 0; r < mr; r++) {
            tot[r][0] = _mm256_fmadd_ps(acc[r][0], s0, tot[r][0]);
            tot[r][1] = _mm256_fmadd_ps(acc[r][1], s1, tot[r][1]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float t[NR];
        _mm256_storeu_ps(t, tot[r][0]);
        _mm256_storeu_ps(t + 8, tot[r][1]);
        store_values(a, r0 + (size_t)r, p, nc, t);
    }
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

/* One row on AVX-512: 16 int8 widen in two instructions into one vector of
 * 16 floats (AVX2 needs four for two vectors), four inputs (one cache line)
 * per step into four accumulators. Measured on GPT-2 small's decoding, 2
 * threads (AVX-512 EPYC): 4.1-4.8 ms per token with the AVX2 kernel, 3.5-3.8
 * with this one. Panels [p0, p0 + np) run side by side (np <= INT8_GROUP, a
 * constant where this is inlined), each its own stream of weights: one
 * stream per core reads memory slower than several on a Xeon (see
 * onednn_gemv.c). Each panel's arithmetic is the same whatever runs beside. */
AVX512 __attribute__((always_inline)) static inline void
direct_panels_1_avx512(const int8_args *a, size_t p0, size_t np)
{
    const ce_int8_weight *w = a->w;
    const float *x = a->x;
    float t[INT8_GROUP][NR];
    __m512 tot[INT8_GROUP];
    const int8_t *q[INT8_GROUP];
    for (size_t i = 0; i < np; i++) {
        size_t p = p0 + i, nc = w->out - p * NR < NR ? w->out - p * NR : NR;
        start_values(a, 0, p, nc, t[i]);
        tot[i] = _mm512_loadu_ps(t[i]);
        q[i] = w->q + p * w->in * NR;
    }
    for (size_t g = 0; g < w->groups; g++) {
        size_t k0 = g * w->group, k1 = k0 + w->group < w->in ? k0 + w->group : w->in;
        __m512 acc[INT8_GROUP][4];
        for (size_t i = 0; i < np; i++)
            for (size_t u = 0; u < 4; u++)
                acc[i][u] = _mm512_setzero_ps();
        size_t k = k0;
        for (; k + 4 <= k1; k += 4)
            for (size_t i = 0; i < np; i++) {
                _mm_prefetch((const char *)(q[i] + k * NR) + INT8_PREFETCH, _MM_HINT_T0);
                for (size_t u = 0; u < 4; u++) {
                    __m128i b = _mm_loadu_si128((const __m128i *)(q[i] + (k + u) * NR));
                    __m512 wv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
                    acc[i][u] = _mm512_fmadd_ps(_mm512_set1_ps(x[k + u]), wv, acc[i][u]);
                }
            }
        for (; k < k1; k++)
            for (size_t i = 0; i < np; i++) {
                __m128i b = _mm_loadu_si128((const __m128i *)(q[i] + k * NR));
                __m512 wv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
                acc[i][0] = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), wv, acc[i][0]);
            }
        for (size_t i = 0; i < np; i++) {
            __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]),
                                       _mm512_add_ps(acc[i][2], acc[i][3]));
            tot[i] = _mm512_fmadd_ps(
                sum, _mm512_load_ps(w->scale + ((p0 + i) * w->groups + g) * NR), tot[i]);
        }
    }
    for (size_t i = 0; i < np; i++) {
        size_t p = p0 + i, nc = w->out - p * NR < NR ? w->out - p * NR : NR;
        _mm512_storeu_ps(t[i], tot[i]);
        store_values(a, 0, p, nc, t[i]);
    }
}

_Static_assert(INT8_GROUP == 4, "direct_rows_1_avx512 has a case for each smaller group");

/* One row over panels [begin, end), INT8_GROUP at a time. */
AVX512 static void direct_rows_1_avx512(const int8_args *a, size_t begin, size_t end)
{
    for (size_t p = begin; p < end; p += INT8_GROUP) {
        switch (end - p < INT8_GROUP ? end - p : INT8_GROUP) {
        case 1: direct_panels_1_avx512(a, p, 1); break;
        case 2: direct_panels_1_avx512(a, p, 2); break;
        case 3: direct_panels_1_avx512(a, p, 3); break;
        default: direct_panels_1_avx512(a, p, INT8_GROUP); break;
        }
    }
}

AVX2 static void direct_panel_avx2(const int8_args *a, size_t p, size_t r0, size_t mr)
{
    switch (mr) {
    case 1: direct_panel_1(a, p, r0); break;
    case 2: direct_panel_m(a, p, r0, 2); break;
    case 3: direct_panel_m(a, p, r0, 3); break;
    default: direct_panel_m(a, p, r0, 4); break;
    }
}

AVX2 static void widen_panel_avx2(const ce_int8_weight *w, size_t p, float *dst)
{
    const int8_t *q = w->q + p * w->in * NR;
    for (size_t g = 0; g < w->groups; g++) {
        size_t k0 = g * w->group, k1 = k0 + w->group < w->in ? k0 + w->group : w->in;
        const float *s = w->scale + (p * w->groups + g) * NR;
        __m256 s0 = _mm256_load_ps(s), s1 = _mm256_load_ps(s + 8);
        for (size_t k = k0; k < k1; k++) {
            __m256 w0, w1;
            widen16(q + k * NR, &w0, &w1);
            _mm256_store_ps(dst + k * NR, _mm256_mul_ps(w0, s0));
            _mm256_store_ps(dst + k * NR + 8, _mm256_mul_ps(w1, s1));
        }
    }
}

#endif

/* Panels [begin, end) of the product, every row. */
static void int8_block(const void *args, size_t begin, size_t end)
{
    const int8_args *a = args;
    const ce_int8_weight *w = a->w;
#if CE_INT8_X86
    if (a->rows == 1 && w->avx512) {
        direct_rows_1_avx512(a, begin, end);
        return;
    }
#endif
    if (a->rows <= INT8_DIRECT_ROWS) {
        for (size_t p = begin; p < end; p++)
#if CE_INT8_X86
            if (w->avx2)
                direct_panel_avx2(a, p, 0, a->rows);
            else
#endif
                direct_panel_c(a, p, 0, a->rows);
        return;
    }
    float *b = ce_cpu_scratch(a->ctx, ce_cpu_thread_index(), w->in * NR);
    for (size_t p = begin; p < end; p++) {
        if (!b) { /* no scratch: rows by INT8_DIRECT_ROWS, widened each time */
            for (size_t r = 0; r < a->rows; r += INT8_DIRECT_ROWS) {
                size_t mr = a->rows - r < INT8_DIRECT_ROWS ? a->rows - r : INT8_DIRECT_ROWS;
#if CE_INT8_X86
                if (w->avx2)
                    direct_panel_avx2(a, p, r, mr);
                else
#endif
                    direct_panel_c(a, p, r, mr);
            }
            continue;
        }
        size_t col = p * NR, nc = w->out - col < NR ? w->out - col : NR;
#if CE_INT8_X86
        if (w->avx2) {
            widen_panel_avx2(w, p, b);
            ce_cpu_packed_panel(w->avx512, b, w->in, nc, w->bias ? w->bias + col : NULL,
                                a->rows, a->x, a->ldx, a->y + col, a->ldy, a->accumulate);
            continue;
        }
#endif
        widen_panel_c(w, p, b);
        widened_rows_c(a, p, b);
    }
}

void ce_cpu_int8_linear(void *ctx, const ce_int8_weight *w, size_t rows, const float *x,
                        size_t ldx, float beta, float *y, size_t ldy)
{
    int8_args a = {ctx, w, rows, ldx, ldy, x, y, beta != 0.0f};
    /* a thread needs some 256 K multiply-adds to pay its wake-up */
    size_t per_panel = rows * w->in * NR + 1;
    size_t grain = per_panel >= 262144 ? 1 : 262144 / per_panel;
    ce_cpu_parallel_for(ctx, w->panels, grain, 1, int8_block, &a);
    ce_cpu_activate_rows(ctx, w->act, rows, w->out, y, ldy);
}
