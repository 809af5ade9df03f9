/* The library's own prepared linear layers: a weight packed once into panels
 * of 16 output columns (for every input index, 16 consecutive floats; the
 * last panel zero-padded), and a microkernel that keeps a block of y in
 * registers: 6 x 16 in twelve AVX2 registers, or with AVX-512 12 x 16 in
 * twelve (one 16-float vector a row: where AVX-512 runs at full width, twice
 * the AVX2 kernel's multiply-adds per cycle).
 *
 * Why: BLIS has no pack-once interface and repacks every weight on every call,
 * and oneDNN without AVX-512 runs a GEMM that does the same. Loops, outermost
 * first: input blocks of KC (a panel's KC x 16 slice, 64 KB, stays in L2),
 * row blocks of MC (x's MC x KC block, packed per thread into micro-panels of
 * the kernel's rows so that every broadcast reads the next float), the
 * thread's panels (the next one's slice prefetched into L2 meanwhile: the
 * weights come from memory), rows by the kernel's. Threads split the panels,
 * so each owns its columns of y. The first input block starts from the bias
 * (and y when accumulating), later ones add to y; the activation runs after,
 * by the shared kernels. KC = 1024 and MC = 128 were the fastest of the sizes
 * tried on BERT-base's shapes (AVX2 EPYC, 1 and 2 threads). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_bf16_gemm.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_packed.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"
#include "core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CE_PACKED_X86 1
#else
#define CE_PACKED_X86 0
#endif

#define NR 16
#define MR 6       /* rows of the AVX2 kernel */
#define MR_512 12  /* and of the AVX-512 one */
#define KC 1024
#define MC 128

struct ce_packed_weight {
    ce_precision precision; /* CE_PRECISION_F32: first, as every prepared form of cpu_* */
    size_t in, out, panels;
    float *data; /* panels x in x NR */
    float *bias; /* out, or NULL */
    ce_backend_activation act;
    int avx512; /* run by the AVX-512 kernel */
};

static _Atomic int max_isa = CE_CPU_ISA_BEST; /* tests: CE_CPU_ISA_AVX2 keeps AVX-512 out */

int ce_cpu_packed_force_isa(int isa)
{
    return atomic_exchange(&max_isa, isa);
}

int ce_cpu_packed_supported(void)
{
#if CE_PACKED_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

ce_status ce_cpu_packed_prepare(const ce_linear_desc *d, ce_packed_weight **out)
{
    ce_packed_weight *w = calloc(1, sizeof *w);
    if (!w)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    w->precision = CE_PRECISION_F32;
    w->in = d->in;
    w->out = d->out;
    w->act = d->act;
    w->panels = (d->out + NR - 1) / NR;
    w->avx512 = CE_PACKED_X86 && atomic_load(&max_isa) >= CE_CPU_ISA_BEST &&
                (ce_cpu_features() & CE_CPU_AVX512);
    size_t n = w->panels * d->in * NR;
    /* 64-byte aligned: a panel row is one cache line */
    w->data = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (d->bias)
        w->bias = malloc(d->out * sizeof *w->bias);
    if (!w->data || (d->bias && !w->bias)) {
        ce_cpu_packed_release(w);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "cannot allocate %zu packed floats", n);
    }
    for (size_t p = 0; p < w->panels; p++)
        for (size_t k = 0; k < d->in; k++) {
            float *dst = w->data + (p * d->in + k) * NR;
            for (size_t j = 0; j < NR; j++) {
                size_t o = p * NR + j;
                dst[j] = o < d->out ? ce_linear_desc_weight(d, o, k) : 0.0f;
            }
        }
    if (d->bias)
        memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
    *out = w;
    return CE_OK;
}

void ce_cpu_packed_release(ce_packed_weight *w)
{
    if (!w)
        return;
    free(w->data);
    free(w->bias);
    free(w);
}

typedef struct packed_args {
    void *ctx;
    const ce_packed_weight *w;
    size_t rows, ldx, ldy;
    const float *x;
    float *y;
    int accumulate;
} packed_args;

#if CE_PACKED_X86

/* acc[r] (two vectors of 8) for mr rows over kc inputs, from the bias (or
 * zero); then added to y when load_y (y's sums so far, or the value to
 * accumulate onto) and stored (nc valid columns: 16, or fewer in the last
 * panel). y is added last, once: started from y, every multiply-add was
 * rounded at y's scale (the residual sums of BERT-base's forward moved from
 * 1e-5 to 5e-5 of the float64 reference). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
micro(int mr, size_t kc, const float *x, size_t xr, size_t xk, const float *b, float *y,
      size_t ldy, size_t nc, const float *init_bias, int load_y)
{
    __m256 c[MR][2];
    for (int r = 0; r < mr; r++) {
        c[r][0] = init_bias ? _mm256_loadu_ps(init_bias) : _mm256_setzero_ps();
        c[r][1] = init_bias ? _mm256_loadu_ps(init_bias + 8) : _mm256_setzero_ps();
    }
#pragma GCC unroll 4
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b + k * NR), b1 = _mm256_load_ps(b + k * NR + 8);
        for (int r = 0; r < mr; r++) {
            __m256 a = _mm256_broadcast_ss(x + r * xr + k * xk);
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *yr = y + r * ldy;
        if (nc == NR) {
            if (load_y) {
                c[r][0] = _mm256_add_ps(_mm256_loadu_ps(yr), c[r][0]);
                c[r][1] = _mm256_add_ps(_mm256_loadu_ps(yr + 8), c[r][1]);
            }
            _mm256_storeu_ps(yr, c[r][0]);
            _mm256_storeu_ps(yr + 8, c[r][1]);
            continue;
        }
        float t[NR] = {0};
        if (load_y) {
            memcpy(t, yr, nc * sizeof *t);
            c[r][0] = _mm256_add_ps(_mm256_loadu_ps(t), c[r][0]);
            c[r][1] = _mm256_add_ps(_mm256_loadu_ps(t + 8), c[r][1]);
        }
        _mm256_storeu_ps(t, c[r][0]);
        _mm256_storeu_ps(t + 8, c[r][1]);
        memcpy(yr, t, nc * sizeof *t);
    }
}

/* The same on one 16-float vector a row (masked for nc < 16), up to MR_512 rows. */
__attribute__((target("avx512f"), always_inline)) static inline void
micro_512(int mr, size_t kc, const float *x, size_t xr, size_t xk, const float *b, float *y,
          size_t ldy, size_t nc, const float *init_bias, int load_y)
{
    __mmask16 m = (__mmask16)((1u << nc) - 1u);
    __m512 c[MR_512];
    for (int r = 0; r < mr; r++)
        c[r] = init_bias ? _mm512_loadu_ps(init_bias) : _mm512_setzero_ps();
#pragma GCC unroll 4
    for (size_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + k * NR);
        for (int r = 0; r < mr; r++)
            c[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r * xr + k * xk]), b0, c[r]);
    }
    for (int r = 0; r < mr; r++) {
        if (load_y)
            c[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + r * ldy), c[r]);
        _mm512_mask_storeu_ps(y + r * ldy, m, c[r]);
    }
}

/* The kernels by row count: each case a copy with mr constant. */
typedef void (*micro_fn)(int mr, size_t kc, const float *x, size_t xr, size_t xk,
                         const float *b, float *y, size_t ldy, size_t nc,
                         const float *init_bias, int load_y);

#define MICRO_CASE(fn, n)                                                                       \
    case n: fn(n, kc, x, xr, xk, b, y, ldy, nc, init_bias, load_y); break
/* 6 .. 1 rows: the whole AVX2 kernel, the AVX-512 one's shorter tiles */
#define MICRO_CASES_TO_6(fn)                                                                    \
    MICRO_CASE(fn, 6);                                                                          \
    MICRO_CASE(fn, 5);                                                                          \
    MICRO_CASE(fn, 4);                                                                          \
    MICRO_CASE(fn, 3);                                                                          \
    MICRO_CASE(fn, 2);                                                                          \
    default: fn(1, kc, x, xr, xk, b, y, ldy, nc, init_bias, load_y); break

__attribute__((target("avx2,fma"))) static void
micro_avx2(int mr, size_t kc, const float *x, size_t xr, size_t xk, const float *b, float *y,
           size_t ldy, size_t nc, const float *init_bias, int load_y)
{
    switch (mr) {
        MICRO_CASES_TO_6(micro);
    }
}

__attribute__((target("avx512f"))) static void
micro_avx512(int mr, size_t kc, const float *x, size_t xr, size_t xk, const float *b, float *y,
             size_t ldy, size_t nc, const float *init_bias, int load_y)
{
    switch (mr) {
        MICRO_CASE(micro_512, 12);
        MICRO_CASE(micro_512, 11);
        MICRO_CASE(micro_512, 10);
        MICRO_CASE(micro_512, 9);
        MICRO_CASE(micro_512, 8);
        MICRO_CASE(micro_512, 7);
        MICRO_CASES_TO_6(micro_512);
    }
}

/* A kernel and its rows. */
typedef struct packed_isa {
    size_t mr;
    micro_fn micro;
} packed_isa;

static const packed_isa isa_avx2 = {MR, micro_avx2}, isa_avx512 = {MR_512, micro_avx512};

/* One row block of one panel over one input block, by the kernel's rows.
 * With @p xp, x's block was packed: the kernel's rows interleaved per input
 * index, micro-panel after micro-panel, so each broadcast reads the next
 * float. */
static void panel_rows(const packed_args *a, const packed_isa *isa, size_t p, size_t k0,
                       size_t kc, size_t i0, size_t i1, const float *xp, const float *next_b)
{
    const ce_packed_weight *w = a->w;
    size_t col = p * NR, nc = w->out - col < NR ? w->out - col : NR;
    const float *b = w->data + (p * w->in + k0) * NR;
    float bias_t[NR] = {0};
    const float *bias = NULL;
    if (k0 == 0 && w->bias) {
        memcpy(bias_t, w->bias + col, nc * sizeof *bias_t);
        bias = bias_t;
    }
    int load_y = k0 > 0 || a->accumulate;
    /* The next panel's slice (kc lines of 64 bytes) comes from memory: ask
     * for it into L2 a share per row block, while this one computes. */
    size_t mr = isa->mr, blocks = (i1 - i0 + mr - 1) / mr;
    size_t share = next_b ? (kc + blocks - 1) / blocks : 0;
    for (size_t i = i0; i < i1; i += mr) {
        for (size_t l = 0, at = (i - i0) / mr * share; l < share && at + l < kc; l++)
            _mm_prefetch((const char *)(next_b + (at + l) * NR), _MM_HINT_T1);
        const float *x = xp ? xp + (i - i0) * kc : a->x + i * a->ldx + k0;
        size_t xr = xp ? 1 : a->ldx, xk = xp ? mr : 1;
        isa->micro((int)(i1 - i < mr ? i1 - i : mr), kc, x, xr, xk, b, a->y + i * a->ldy + col,
                   a->ldy, nc, bias, load_y);
    }
}

/* One panel given as floats (b: in x NR), every row, x unpacked: the int8
 * kernel's path for many rows, on a panel it widened. */
static void panel_all_rows(const packed_isa *isa, const float *b, size_t in, size_t nc,
                           const float *bias, size_t rows, const float *x, size_t ldx, float *y,
                           size_t ldy, int accumulate)
{
    float bias_t[NR] = {0};
    if (bias)
        memcpy(bias_t, bias, nc * sizeof *bias_t);
    for (size_t k0 = 0; k0 < in; k0 += KC) {
        size_t kc = in - k0 < KC ? in - k0 : KC;
        const float *init = k0 == 0 && bias ? bias_t : NULL;
        int load_y = k0 > 0 || accumulate;
        for (size_t i = 0; i < rows; i += isa->mr)
            isa->micro((int)(rows - i < isa->mr ? rows - i : isa->mr), kc, x + i * ldx + k0, ldx,
                       1, b + k0 * NR, y + i * ldy, ldy, nc, init, load_y);
    }
}

/* x's rows [i0, i1) x inputs [k0, k0 + kc) into micro-panels of mr rows. */
static void pack_x(const packed_args *a, size_t mr, size_t k0, size_t kc, size_t i0, size_t i1,
                   float *xp)
{
    for (size_t i = i0; i < i1; i += mr) {
        size_t n = i1 - i < mr ? i1 - i : mr;
        float *dst = xp + (i - i0) * kc;
        for (size_t k = 0; k < kc; k++)
            for (size_t r = 0; r < mr; r++)
                dst[k * mr + r] = r < n ? a->x[(i + r) * a->ldx + k0 + k] : 0.0f;
    }
}

/* The panels [begin, end) of the product, every row. A block of x is packed
 * when it serves several panels and the thread's scratch can be had. */
static void panels_block(const void *args, size_t begin, size_t end)
{
    const packed_args *a = args;
    const packed_isa *isa = a->w->avx512 ? &isa_avx512 : &isa_avx2;
    size_t in = a->w->in;
    float *xp = NULL;
    if (end - begin > 1 && a->rows >= isa->mr)
        xp = ce_cpu_scratch(a->ctx, ce_cpu_thread_index(), (size_t)(MC + MR_512) * KC);
    for (size_t k0 = 0; k0 < in; k0 += KC) {
        size_t kc = in - k0 < KC ? in - k0 : KC;
        for (size_t i0 = 0; i0 < a->rows; i0 += MC) {
            size_t i1 = a->rows - i0 < MC ? a->rows : i0 + MC;
            if (xp)
                pack_x(a, isa->mr, k0, kc, i0, i1, xp);
            for (size_t p = begin; p < end; p++)
                panel_rows(a, isa, p, k0, kc, i0, i1, xp,
                           p + 1 < end ? a->w->data + ((p + 1) * in + k0) * NR : NULL);
        }
    }
}

#endif

void ce_cpu_packed_linear(void *ctx, const ce_packed_weight *w, size_t rows, const float *x,
                          size_t ldx, float beta, float *y, size_t ldy)
{
#if CE_PACKED_X86
    packed_args a = {ctx, w, rows, ldx, ldy, x, y, beta != 0.0f};
    /* a thread needs some 256 K multiply-adds to pay its wake-up */
    size_t per_panel = rows * w->in * NR + 1;
    size_t grain = per_panel >= 262144 ? 1 : 262144 / per_panel;
    ce_cpu_parallel_for(ctx, w->panels, grain, 1, panels_block, &a);
#else
    (void)ctx, (void)w, (void)rows, (void)x, (void)ldx, (void)beta, (void)y, (void)ldy;
#endif
}

void ce_cpu_packed_panel(int avx512, const float *b, size_t in, size_t nc, const float *bias,
                         size_t rows, const float *x, size_t ldx, float *y, size_t ldy,
                         int accumulate)
{
#if CE_PACKED_X86
    panel_all_rows(avx512 ? &isa_avx512 : &isa_avx2, b, in, nc, bias, rows, x, ldx, y, ldy,
                   accumulate);
#else
    (void)avx512, (void)b, (void)in, (void)nc, (void)bias, (void)rows, (void)x, (void)ldx,
        (void)y, (void)ldy, (void)accumulate;
#endif
}

ce_status ce_cpu_linear_prepare(void *model_state, const ce_linear_desc *desc, void **prepared)
{
    (void)model_state;
    ce_precision p = ce_linear_desc_precision(desc);
    ce_status st;
    if (p == CE_PRECISION_INT8) {
        ce_int8_weight *w;
        st = ce_cpu_int8_prepare(desc, &w);
        if (st == CE_OK)
            *prepared = w;
        return st;
    }
    if (p == CE_PRECISION_BF16) {
        ce_bf16_weight *w;
        st = ce_cpu_bf16_prepare(desc, &w);
        if (st == CE_OK)
            *prepared = w;
        return st;
    }
    if (p != CE_PRECISION_F32 || !ce_cpu_packed_supported())
        return ce_error(CE_ERR_UNSUPPORTED, "the packed CPU kernels do not run precision %s%s",
                        ce_precision_name(p) ? ce_precision_name(p) : "?",
                        p == CE_PRECISION_F32 ? " without AVX2 and FMA" : "");
    ce_packed_weight *w;
    st = ce_cpu_packed_prepare(desc, &w);
    if (st == CE_OK)
        *prepared = w;
    return st;
}

void ce_cpu_linear_release(void *model_state, void *prepared)
{
    (void)model_state;
    if (prepared && *(const ce_precision *)prepared == CE_PRECISION_INT8)
        ce_cpu_int8_release(prepared);
    else if (prepared && *(const ce_precision *)prepared == CE_PRECISION_BF16)
        ce_cpu_bf16_release(prepared);
    else
        ce_cpu_packed_release(prepared);
}

uint32_t ce_cpu_linear_precisions(void)
{
    uint32_t bits = CE_PRECISION_BIT(CE_PRECISION_INT8); /* plain C where AVX2 is missing */
    if (ce_cpu_packed_supported())
        bits |= CE_PRECISION_BIT(CE_PRECISION_F32);
    if (ce_cpu_bf16_supported()) /* never emulated */
        bits |= CE_PRECISION_BIT(CE_PRECISION_BF16);
    return bits;
}

static void activate(void *ctx, ce_backend_activation act, size_t n, float *x)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF: ce_cpu_gelu_erf(ctx, n, x); break;
    case CE_BACKEND_ACT_GELU_TANH: ce_cpu_gelu_tanh(ctx, n, x); break;
    case CE_BACKEND_ACT_RELU: ce_cpu_relu(ctx, n, x); break;
    case CE_BACKEND_ACT_SIGMOID: ce_cpu_sigmoid(ctx, n, x); break;
    case CE_BACKEND_ACT_TANH: ce_cpu_tanh(ctx, n, x); break;
    case CE_BACKEND_ACT_NONE: break;
    }
}

void ce_cpu_activate_rows(void *ctx, ce_backend_activation act, size_t rows, size_t cols, float *y,
                          size_t ldy)
{
    if (act == CE_BACKEND_ACT_NONE)
        return;
    if (ldy == cols)
        activate(ctx, act, rows * cols, y);
    else
        for (size_t r = 0; r < rows; r++)
            activate(ctx, act, cols, y + r * ldy);
}

void ce_cpu_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                   float beta, float *y, size_t ldy)
{
    const ce_packed_weight *w = prepared;
    if (rows == 0)
        return;
    if (w->precision == CE_PRECISION_INT8) {
        ce_cpu_int8_linear(ctx, prepared, rows, x, ldx, beta, y, ldy);
        return;
    }
    if (w->precision == CE_PRECISION_BF16) {
        ce_cpu_bf16_linear(ctx, prepared, rows, x, ldx, beta, y, ldy);
        return;
    }
    ce_cpu_packed_linear(ctx, w, rows, x, ldx, beta, y, ldy);
    ce_cpu_activate_rows(ctx, w->act, rows, w->out, y, ldy);
}
