/* The library's own bf16 linear layers, for CPUs with AVX512-BF16 (the
 * "blis" backend's bf16; oneDNN has its own).
 *
 * The weight is rounded to bf16 as the reference does (ce_bf16_from_f32) and
 * packed once into panels of NR = 32 outputs: for every pair of inputs
 * (2k, 2k + 1), the 32 outputs' two weights side by side, 64 bf16 = two
 * vectors, which is what VDPBF16PS multiplies: each of its 16 float lanes
 * adds w[2k] x[2k] + w[2k+1] x[2k+1] to its sum. An odd input count is padded
 * with a zero input. Each call rounds x's rows to bf16 once into the
 * context's buffer (padded alike); a row's pair is one 32-bit broadcast.
 *
 * Microkernel: MR = 8 rows x 32 outputs in 16 accumulators; one row (decoding)
 * alternates two sets over even and odd pairs, so four sums run at once
 * while the weights stream from memory. Threads split the panels; bias and
 * y (when accumulating) start the sums, the activation runs after.
 *
 * Where FMAs outrun VDPBF16PS (Intel's cores: one VDPBF16PS every other
 * cycle against two FMAs a cycle), rows of x run the float32 kernel over
 * each panel widened (fma_linear): BERT-base b1x128 in bf16 on a 2-core
 * Xeon VM without AMX, 152 ms on VDPBF16PS against 108 (float32: 103-107). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_bf16_gemm.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_packed.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"
#include "core/error.h"

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target)
#include <immintrin.h>
#define BF16_X86 1
#endif
#endif
#ifndef BF16_X86
#define BF16_X86 0
#endif

#define NR 32
#define MR 8

struct ce_bf16_weight {
    ce_precision precision; /* CE_PRECISION_BF16: first, as every prepared form of cpu_* */
    size_t in, in_pad, out, panels;
    uint16_t *data; /* panels x in_pad / 2 x NR x 2 */
    float *bias;    /* out, or NULL */
    ce_backend_activation act;
    int fma; /* rows run as float32 FMAs (fma_linear) */
};

int ce_cpu_bf16_supported(void)
{
    return BF16_X86 && (ce_cpu_features() & CE_CPU_AVX512_BF16) != 0;
}

void ce_cpu_bf16_release(ce_bf16_weight *w)
{
    if (!w)
        return;
    free(w->data);
    free(w->bias);
    free(w);
}

ce_status ce_cpu_bf16_prepare(const ce_linear_desc *d, ce_bf16_weight **out)
{
    if (!ce_cpu_bf16_supported())
        return ce_error(CE_ERR_UNSUPPORTED, "the CPU kernels run bf16 only with AVX512-BF16");
    ce_bf16_weight *w = calloc(1, sizeof *w);
    if (!w)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    w->precision = CE_PRECISION_BF16;
    w->in = d->in;
    w->in_pad = (d->in + 1) / 2 * 2;
    w->out = d->out;
    w->act = d->act;
    w->fma = ce_cpu_bf16_fma_faster() && ce_cpu_packed_supported();
    w->panels = (d->out + NR - 1) / NR;
    size_t n = w->panels * w->in_pad * NR;
    w->data = aligned_alloc(64, ((n ? n : 1) * sizeof *w->data + 63) / 64 * 64);
    if (d->bias)
        w->bias = malloc(d->out * sizeof *w->bias);
    if (!w->data || (d->bias && !w->bias)) {
        ce_cpu_bf16_release(w);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "cannot allocate %zu packed bf16 weights", n);
    }
    for (size_t p = 0; p < w->panels; p++)
        for (size_t k = 0; k < w->in_pad; k++)
            for (size_t j = 0; j < NR; j++) {
                size_t o = p * NR + j;
                float v = o < d->out && k < d->in ? ce_linear_desc_weight(d, o, k) : 0.0f;
                w->data[((p * w->in_pad + k - k % 2) * NR) + 2 * j + k % 2] = ce_bf16_from_f32(v);
            }
    if (d->bias)
        memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
    *out = w;
    return CE_OK;
}

typedef struct bf16_args {
    const ce_bf16_weight *w;
    size_t rows, ldy;
    const uint16_t *x; /* rows x in_pad */
    float *y;
    int accumulate;
} bf16_args;

/* The NR starting values of row r of panel p: bias (or 0) plus y when
 * accumulating; nc valid columns. */
static void start_values(const bf16_args *a, size_t r, size_t p, size_t nc, float *t)
{
    const float *bias = a->w->bias ? a->w->bias + p * NR : NULL;
    ce_cpu_start_values(bias, a->y + r * a->ldy + p * NR, a->accumulate, nc, NR, t);
}

#if BF16_X86

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* x's pair kk of row r as a 32-bit broadcast. */
AVX512BF16 static inline __m512bh pair(const uint16_t *xr, size_t kk)
{
    int32_t v;
    memcpy(&v, xr + 2 * kk, sizeof v);
    return (__m512bh)_mm512_set1_epi32(v);
}

AVX512BF16 static inline void store_row(const bf16_args *a, size_t r, size_t p, size_t nc,
                                        __m512 lo, __m512 hi)
{
    float t[NR];
    _mm512_storeu_ps(t, lo);
    _mm512_storeu_ps(t + 16, hi);
    memcpy(a->y + r * a->ldy + p * NR, t, nc * sizeof *t);
}

/* mr (2..MR) rows from r0 of panel p. */
AVX512BF16 __attribute__((always_inline)) static inline void micro(const bf16_args *a, size_t p,
                                                                  size_t r0, int mr)
{
    const ce_bf16_weight *w = a->w;
    size_t nc = w->out - p * NR < NR ? w->out - p * NR : NR, pairs = w->in_pad / 2;
    __m512 c[MR][2];
    for (int r = 0; r < mr; r++) {
        float t[NR];
        start_values(a, r0 + (size_t)r, p, nc, t);
        c[r][0] = _mm512_loadu_ps(t);
        c[r][1] = _mm512_loadu_ps(t + 16);
    }
    const uint16_t *b = w->data + p * w->in_pad * NR;
    const uint16_t *x = a->x + r0 * w->in_pad;
    for (size_t kk = 0; kk < pairs; kk++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b + kk * 2 * NR);
        __m512bh b1 = (__m512bh)_mm512_load_si512(b + kk * 2 * NR + 32);
        for (int r = 0; r < mr; r++) {
            __m512bh xv = pair(x + (size_t)r * w->in_pad, kk);
            c[r][0] = _mm512_dpbf16_ps(c[r][0], xv, b0);
            c[r][1] = _mm512_dpbf16_ps(c[r][1], xv, b1);
        }
    }
    for (int r = 0; r < mr; r++)
        store_row(a, r0 + (size_t)r, p, nc, c[r][0], c[r][1]);
}

/* One row: even and odd pairs into two sets of sums, added at the end. */
AVX512BF16 static void micro_1(const bf16_args *a, size_t p, size_t r0)
{
    const ce_bf16_weight *w = a->w;
    size_t nc = w->out - p * NR < NR ? w->out - p * NR : NR, pairs = w->in_pad / 2;
    float t[NR];
    start_values(a, r0, p, nc, t);
    __m512 c0 = _mm512_loadu_ps(t), c1 = _mm512_loadu_ps(t + 16);
    __m512 d0 = _mm512_setzero_ps(), d1 = _mm512_setzero_ps();
    const uint16_t *b = w->data + p * w->in_pad * NR, *x = a->x + r0 * w->in_pad;
    size_t kk = 0;
    for (; kk + 2 <= pairs; kk += 2) {
        const uint16_t *bk = b + kk * 2 * NR;
        __m512bh x0 = pair(x, kk), x1 = pair(x, kk + 1);
        c0 = _mm512_dpbf16_ps(c0, x0, (__m512bh)_mm512_load_si512(bk));
        c1 = _mm512_dpbf16_ps(c1, x0, (__m512bh)_mm512_load_si512(bk + 32));
        d0 = _mm512_dpbf16_ps(d0, x1, (__m512bh)_mm512_load_si512(bk + 64));
        d1 = _mm512_dpbf16_ps(d1, x1, (__m512bh)_mm512_load_si512(bk + 96));
    }
    if (kk < pairs) {
        __m512bh x0 = pair(x, kk);
        c0 = _mm512_dpbf16_ps(c0, x0, (__m512bh)_mm512_load_si512(b + kk * 2 * NR));
        c1 = _mm512_dpbf16_ps(c1, x0, (__m512bh)_mm512_load_si512(b + kk * 2 * NR + 32));
    }
    store_row(a, r0, p, nc, _mm512_add_ps(c0, d0), _mm512_add_ps(c1, d1));
}

AVX512BF16 static void panel(const bf16_args *a, size_t p)
{
    for (size_t r = 0; r < a->rows; r += MR) {
        switch (a->rows - r < MR ? a->rows - r : MR) {
        case 8: micro(a, p, r, 8); break;
        case 7: micro(a, p, r, 7); break;
        case 6: micro(a, p, r, 6); break;
        case 5: micro(a, p, r, 5); break;
        case 4: micro(a, p, r, 4); break;
        case 3: micro(a, p, r, 3); break;
        case 2: micro(a, p, r, 2); break;
        default: micro_1(a, p, r); break;
        }
    }
}

static void panels_block(const void *args, size_t begin, size_t end)
{
    for (size_t p = begin; p < end; p++)
        panel(args, p);
}

/* The FMA way, where FMAs outrun VDPBF16PS (ce_cpu_bf16_fma_faster): each
 * panel widened, 16 outputs at a time, into the thread's scratch as the
 * float32 kernel's panel (cpu_packed.c), which then runs every row of x
 * rounded to bf16 as floats. Products of bf16 values are exact in float32:
 * the sums are VDPBF16PS's, in another order. */
typedef struct fma_args {
    const ce_bf16_weight *w;
    size_t rows, ldy;
    const float *x; /* rows x in, rounded */
    float *y;
    int accumulate;
    float *scratch[CE_CPU_MAX_THREADS]; /* in_pad x 16 floats each */
} fma_args;

/* Outputs [16 h, 16 h + 16) of panel p: even inputs are the low halves of
 * the pairs, odd ones the high halves. */
AVX512BF16 static void widen_half(const ce_bf16_weight *w, size_t p, size_t h, float *dst)
{
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    const uint16_t *b = w->data + p * w->in_pad * NR + 32 * h;
    for (size_t kk = 0; kk < w->in_pad / 2; kk++) {
        __m512i v = _mm512_load_si512((const void *)(b + kk * 2 * NR));
        _mm512_store_si512((void *)(dst + 2 * kk * 16), _mm512_slli_epi32(v, 16));
        _mm512_store_si512((void *)(dst + (2 * kk + 1) * 16), _mm512_and_si512(v, high));
    }
}

static void fma_panels(const void *args, size_t begin, size_t end)
{
    const fma_args *a = args;
    const ce_bf16_weight *w = a->w;
    int t = ce_cpu_thread_index();
    float *b = a->scratch[t >= 0 && t < CE_CPU_MAX_THREADS && a->scratch[t] ? t : 0];
    for (size_t p = begin; p < end; p++)
        for (size_t h = 0; h < 2 && p * NR + 16 * h < w->out; h++) {
            size_t col = p * NR + 16 * h, nc = w->out - col < 16 ? w->out - col : 16;
            widen_half(w, p, h, b);
            ce_cpu_packed_panel(1, b, w->in, nc, w->bias ? w->bias + col : NULL, a->rows, a->x,
                                w->in, a->y + col, a->ldy, a->accumulate);
        }
}

/* 0 when x's buffer or a thread's scratch cannot be had: the caller then
 * runs VDPBF16PS. */
static int fma_linear(void *ctx, const ce_bf16_weight *w, size_t rows, const float *x,
                      size_t ldx, int accumulate, float *y, size_t ldy)
{
    fma_args a = {w, rows, ldy, NULL, y, accumulate, {NULL}};
    for (int t = 0; t < ce_cpu_threads(ctx); t++)
        if (!(a.scratch[t] = ce_cpu_scratch(ctx, t, w->in_pad * 16)))
            return 0;
    if (!(a.x = ce_cpu_bf16_round_x(ctx, rows, w->in, x, ldx)))
        return 0;
    size_t per_panel = rows * w->in_pad * NR + 1;
    size_t grain = per_panel >= 262144 ? 1 : 262144 / per_panel;
    ce_cpu_parallel_for(ctx, w->panels, grain, 1, fma_panels, &a);
    return 1;
}

#endif

void ce_cpu_bf16_linear(void *ctx, const ce_bf16_weight *w, size_t rows, const float *x,
                        size_t ldx, float beta, float *y, size_t ldy)
{
#if BF16_X86
    /* one row (decoding) reads the weights once: VDPBF16PS keeps up there */
    if (rows > 1 && w->fma && fma_linear(ctx, w, rows, x, ldx, beta != 0.0f, y, ldy)) {
        ce_cpu_activate_rows(ctx, w->act, rows, w->out, y, ldy);
        return;
    }
#endif
    const uint16_t *xb = ce_cpu_bf16_x(ctx, rows, w->in, x, ldx, w->in_pad);
#if BF16_X86
    if (xb) {
        bf16_args a = {w, rows, ldy, xb, y, beta != 0.0f};
        /* a thread needs some 256 K multiply-adds to pay its wake-up */
        size_t per_panel = rows * w->in_pad * NR + 1;
        size_t grain = per_panel >= 262144 ? 1 : 262144 / per_panel;
        ce_cpu_parallel_for(ctx, w->panels, grain, 1, panels_block, &a);
        ce_cpu_activate_rows(ctx, w->act, rows, w->out, y, ldy);
        return;
    }
#else
    (void)xb;
#endif
    /* no room for x in bf16 (or no such CPU, which prepare refused) */
    ce_cpu_nan_rows(rows, w->out, y, ldy);
}
