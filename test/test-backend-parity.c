/* Every kernel slot of every registered backend against the reference
 * backend, on 1 and 2 threads; every backend's prepared linear product
 * (version 2: linear_prepare + linear on the model state of
 * ce_backend_model_open) against gemm + bias + activation of the reference;
 * the reference itself against golden values from PyTorch (float64); the
 * blis backend's exp/erf approximations on dense grids against libm in double.
 *
 * Tolerances (|got - want| <= ...):
 *   gemm        1e-5 * (|alpha| sum_p |a_ip b_pj| + |beta c_ij| + |bias_j|)
 *               (relative to the magnitudes summed: a plain relative test
 *               would fail on legitimate cancellation)
 *   linear      L * 1e-5 * (sum_p |x_ip w_jp| + |bias_j| + |beta y_ij|) + the
 *               activation's own tolerance below at the reference's
 *               pre-activation z, where L bounds the activation's slope
 *               (1.13 for the GELUs, 0.25 sigmoid, 1 otherwise)
 *   layer_norm  1e-5 * (1 + |want|)
 *   softmax     1e-6 + 1e-5 * want; masked entries exactly 0
 *   attention   1e-5 * (1 + 2 S_i) * V_ic, S_i = max_j |scale| sum_c |q_ic k_jc| and
 *               V_ic = max_j |v_jc| over the keys j query i sees (an error d in
 *               a score moves a softmax weight by about 2d relatively)
 *   gelu_erf, gelu_tanh   1e-6 * max(1, |x|)
 *   sigmoid, tanh         1e-6 * |want| + 1e-37
 *   lstm_cell   2e-6 * (1 + |want|)
 *   gate_mix    1e-6 * (|t| + |x|) (also allows x + g (t - x))
 *   add, scale, relu, max_rows, clip   exact
 *   exp (blis)  relative 1e-6 on [-87.33, 88.37]; erf (blis) absolute 1e-6
 * Padding between a row's end and its stride must never be written, and
 * inputs never changed. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ce_config.h"
#include "backends/backend_internal.h"
#include "backends/ref/ref.h"
#if CE_HAVE_BLIS || CE_HAVE_ONEDNN
#include "backends/cpu/cpu_kernels.h"
#endif
#if CE_HAVE_BLIS
#include "backends/cpu/cpu_packed.h"
#else
enum { CE_CPU_ISA_C, CE_CPU_ISA_AVX2, CE_CPU_ISA_BEST }; /* as cpu_packed.h */
#endif
#if CE_HAVE_BLIS
#include "backends/blis/blis_backend.h"
#endif
#if CE_HAVE_ONEDNN
#include "backends/onednn/onednn_amx_tiles.h"
#else
#define CE_AMX_X86 0
#endif
#include "test-util.h"

/* ---- helpers ---- */

typedef struct rng {
    uint64_t s;
} rng;

static float uniform(rng *r) /* [-1, 1) */
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (float)((double)(r->s >> 11) / 4503599627370496.0 - 1.0);
}

static float *filled(rng *r, size_t n, float amp)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[i] = amp * uniform(r);
    return x;
}

static float *copy_of(const float *x, size_t n)
{
    float *y = malloc((n ? n : 1) * sizeof *y);
    ck_assert_ptr_nonnull(y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

/* Failures are counted and the first one described, so that a passing
 * element costs no Check call. */
static char where[96];   /* backend, threads, slot */
static char detail[160]; /* the case within the slot, when it helps */
static char first_failure[512];
static size_t n_failures;

static void expect(bool ok, const char *what, size_t idx, double got, double want, double tol)
{
    if (ok)
        return;
    if (n_failures++ == 0)
        snprintf(first_failure, sizeof first_failure, "%s%s: %s[%zu] = %.9g, want %.9g (tol %.3g)",
                 where, detail, what, idx, got, want, tol);
}

static void expect_close(float got, float want, double tol, const char *what, size_t idx)
{
    bool ok;
    if (isnan(want))
        ok = isnan(got);
    else if (isinf(want))
        ok = got == want;
    else
        ok = fabs((double)got - (double)want) <= tol;
    expect(ok, what, idx, got, want, tol);
}

static void expect_same_bits(const float *got, const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        expect(memcmp(&got[i], &want[i], sizeof *got) == 0, what, i, got[i], want[i], 0.0);
}

/* Row padding [cols, ld) of @p rows rows must be unchanged. */
static void expect_padding(const float *got, const float *orig, size_t rows, size_t cols, size_t ld,
                           const char *what)
{
    for (size_t r = 0; r < rows; r++)
        expect_same_bits(got + r * ld + cols, orig + r * ld + cols, ld - cols, what);
}

static void check_failures(void)
{
    ck_assert_msg(n_failures == 0, "%zu mismatches; first: %s", n_failures, first_failure);
}

typedef void (*slot_check)(const ce_backend *b, const ce_backend *ref, rng *r);

/* Run @p fn for every registered backend on 1 and 2 threads. */
static void for_each_backend(slot_check fn, const char *slot)
{
    ce_backend *ref;
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
    size_t count = ce_backend_count();
    ck_assert_uint_ge(count, 1 + CE_HAVE_BLIS);
    for (size_t i = 0; i < count; i++) {
        for (int threads = 1; threads <= 2; threads++) {
            ce_backend *b;
            ck_assert_int_eq(ce_backend_open(ce_backend_name(i), threads, NULL, &b), CE_OK);
            snprintf(where, sizeof where, "%s/%d threads/%s", ce_backend_name(i), threads, slot);
            n_failures = 0;
            detail[0] = '\0';
            rng r = {0x9E3779B97F4A7C15ull + (uint64_t)i};
            fn(b, ref, &r);
            check_failures();
            ce_backend_close(b);
        }
    }
    ce_backend_close(ref);
}

/* ---- gemm ---- */

typedef struct gemm_case {
    size_t m, n, k;
    ce_transpose ta, tb;
    float alpha, beta;
    bool bias;
    size_t pad;       /* row stride = row length + pad (pad + 1 for B, pad + 2 for C) */
    bool zero_single; /* a stored matrix of one row gets stride 0 (never used) */
} gemm_case;

static float gemm_at(const float *x, size_t ld, ce_transpose t, size_t row, size_t col)
{
    return t == CE_TRANS ? x[col * ld + row] : x[row * ld + col];
}

static size_t gemm_ld(const gemm_case *g, size_t rows, size_t cols, size_t pad)
{
    return g->zero_single && rows == 1 ? 0 : cols + pad;
}

static void run_gemm_case(const ce_backend *b, const ce_backend *ref, rng *r, const gemm_case *g)
{
    size_t ra = g->ta ? g->k : g->m, ca = g->ta ? g->m : g->k;
    size_t rb = g->tb ? g->n : g->k, cb = g->tb ? g->k : g->n;
    size_t lda = gemm_ld(g, ra, ca, g->pad), ldb = gemm_ld(g, rb, cb, g->pad + 1);
    size_t ldc = gemm_ld(g, g->m, g->n, g->pad + 2), size_c = g->m * ldc + g->n;
    float *a = filled(r, ra * lda + ca, 1.0f), *bm = filled(r, rb * ldb + cb, 1.0f);
    float *bias = g->bias ? filled(r, g->n, 2.0f) : NULL;
    float *c0 = filled(r, size_c, 1.0f);
    if (g->beta == 0.0f) /* C must not be read: NaN would leak into the result */
        for (size_t i = 0; i < size_c; i++)
            c0[i] = NAN;
    float *c = copy_of(c0, size_c), *want = copy_of(c0, size_c);
    b->ops.gemm(b->ctx, g->ta, g->tb, g->m, g->n, g->k, g->alpha, a, lda, bm, ldb, g->beta, c, ldc,
                bias);
    ref->ops.gemm(ref->ctx, g->ta, g->tb, g->m, g->n, g->k, g->alpha, a, lda, bm, ldb, g->beta,
                  want, ldc, bias);
    snprintf(detail, sizeof detail, " m=%zu n=%zu k=%zu t=%d%d alpha=%g beta=%g bias=%d lda=%zu",
             g->m, g->n, g->k, g->ta, g->tb, g->alpha, g->beta, g->bias, lda);
    for (size_t i = 0; i < g->m; i++)
        for (size_t j = 0; j < g->n; j++) {
            double mag = g->bias ? fabs(bias[j]) : 0.0;
            for (size_t p = 0; p < g->k; p++)
                mag += fabs(g->alpha * gemm_at(a, lda, g->ta, i, p) *
                            gemm_at(bm, ldb, g->tb, p, j));
            if (g->beta != 0.0f)
                mag += fabs(g->beta * c0[i * ldc + j]);
            expect_close(c[i * ldc + j], want[i * ldc + j], 1e-5 * mag + 1e-30, "C", i * ldc + j);
        }
    if (ldc > g->n)
        expect_padding(c, c0, g->m, g->n, ldc, "C padding");
    free(a), free(bm), free(bias), free(c0), free(c), free(want);
}

static void check_gemm(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const size_t shapes[][3] = {
        {1, 1, 1}, {1, 7, 5}, {1, 768, 64}, {2, 3, 1}, {3, 1, 9}, {5, 17, 31}, {16, 16, 16},
        {33, 65, 17}, {64, 1, 130}, {128, 96, 64}, {7, 200, 1}, {97, 33, 129}, {1, 2001, 300},
    };
    static const float alphas[] = {1.0f, 0.5f, -2.0f, 0.0f};
    static const float betas[] = {0.0f, 1.0f, 0.25f};
    size_t shape_count = sizeof shapes / sizeof *shapes;
    /* every shape with every transpose pair; alpha, beta, bias and the
     * stride padding rotate at different rates so that they mix */
    for (size_t s = 0; s < shape_count; s++)
        for (size_t t = 0; t < 4; t++) {
            size_t v = 4 * s + t;
            gemm_case g = {shapes[s][0], shapes[s][1], shapes[s][2], (ce_transpose)(t >> 1),
                           (ce_transpose)(t & 1), alphas[(s + t) % 4], betas[v % 3], v % 5 < 3,
                           (s + t) % 4, false};
            run_gemm_case(b, ref, r, &g);
        }
    /* single-row operands with stride 0, including m == 1 (GEMV) */
    for (size_t s = 0; s < 3; s++)
        for (size_t t = 0; t < 4; t++) {
            gemm_case g = {shapes[s][0], shapes[s][1], shapes[s][2], (ce_transpose)(t >> 1),
                           (ce_transpose)(t & 1), 1.0f, t % 2 ? 0.5f : 0.0f, t < 2, 1, true};
            run_gemm_case(b, ref, r, &g);
        }
    /* k == 0: C = beta C + bias, C unread when beta == 0 */
    for (int v = 0; v < 4; v++) {
        gemm_case g = {3, 5, 0, CE_NO_TRANS, CE_TRANS, 1.0f, v & 1 ? 0.5f : 0.0f, v >= 2, 1, false};
        run_gemm_case(b, ref, r, &g);
    }
    float sentinel = 42.0f; /* m == 0 and n == 0 touch nothing */
    b->ops.gemm(b->ctx, CE_NO_TRANS, CE_NO_TRANS, 0, 4, 4, 1.0f, NULL, 4, NULL, 4, 0.0f, &sentinel,
                4, NULL);
    b->ops.gemm(b->ctx, CE_NO_TRANS, CE_NO_TRANS, 4, 0, 4, 1.0f, NULL, 4, NULL, 4, 0.0f, &sentinel,
                4, NULL);
    ck_assert_float_eq(sentinel, 42.0f);
}

START_TEST(test_gemm_parity)
{
    for_each_backend(check_gemm, "gemm");
}
END_TEST

/* ---- layer norm ---- */

static void run_layer_norm(const ce_backend *b, const ce_backend *ref, rng *r, size_t rows,
                           size_t dim, float offset, float eps, bool in_place)
{
    size_t ldx = dim + 3, ldy = in_place ? ldx : dim + 1;
    float *x = filled(r, rows * ldx, 2.0f);
    for (size_t i = 0; i < rows * ldx; i++)
        x[i] += offset;
    float *gamma = filled(r, dim, 1.5f), *beta = filled(r, dim, 0.5f);
    float *y0 = in_place ? x : filled(r, rows * ldy, 1.0f);
    float *y = copy_of(y0, rows * ldy), *want = copy_of(y0, rows * ldy);
    const float *xb = in_place ? y : x, *xr = in_place ? want : x;
    b->ops.layer_norm(b->ctx, rows, dim, xb, ldx, gamma, beta, eps, y, ldy);
    ref->ops.layer_norm(ref->ctx, rows, dim, xr, ldx, gamma, beta, eps, want, ldy);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < dim; j++) {
            float w = want[i * ldy + j];
            expect_close(y[i * ldy + j], w, 1e-5 * (1.0 + fabs(w)), "y", i * ldy + j);
        }
    expect_padding(y, y0, rows, dim, ldy, "y padding");
    if (!in_place)
        free(y0);
    free(x), free(gamma), free(beta), free(y), free(want);
}

static void check_layer_norm(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const size_t shapes[][2] = {{1, 1}, {3, 7}, {1, 768}, {17, 64}, {64, 768}, {2, 1001}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        run_layer_norm(b, ref, r, shapes[s][0], shapes[s][1], 0.0f, 1e-12f, false);
        run_layer_norm(b, ref, r, shapes[s][0], shapes[s][1], 50.0f, 1e-5f, s % 2 == 0);
    }
    /* a mean 5000 times the spread: statistics taken naively in float32 are off */
    run_layer_norm(b, ref, r, 5, 768, 1e4f, 1e-12f, false);
}

START_TEST(test_layer_norm_parity)
{
    for_each_backend(check_layer_norm, "layer_norm");
}
END_TEST

/* ---- softmax ---- */

static void run_softmax(const ce_backend *b, const ce_backend *ref, rng *r, size_t rows,
                        size_t cols, float scale, size_t n_valid, int causal, size_t q_offset,
                        float amp)
{
    size_t ldx = cols + 5;
    float *x0 = filled(r, rows * ldx, amp);
    float *x = copy_of(x0, rows * ldx), *want = copy_of(x0, rows * ldx);
    b->ops.softmax(b->ctx, rows, cols, x, ldx, scale, n_valid, causal, q_offset);
    ref->ops.softmax(ref->ctx, rows, cols, want, ldx, scale, n_valid, causal, q_offset);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            float w = want[i * ldx + j];
            bool masked = j >= n_valid || (causal && j > q_offset + i);
            if (masked)
                expect(x[i * ldx + j] == 0.0f, "masked p", i * ldx + j, x[i * ldx + j], 0.0, 0.0);
            else
                expect_close(x[i * ldx + j], w, 1e-6 + 1e-5 * w, "p", i * ldx + j);
        }
    expect_padding(x, x0, rows, cols, ldx, "x padding");
    free(x0), free(x), free(want);
}

static void check_softmax(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const size_t shapes[][2] = {{1, 1}, {5, 7}, {12, 128}, {128, 513}, {3, 64}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t rows = shapes[s][0], cols = shapes[s][1];
        run_softmax(b, ref, r, rows, cols, 1.0f, cols, 0, 0, 3.0f);
        run_softmax(b, ref, r, rows, cols, 0.125f, cols / 2, 0, 0, 8.0f);
        run_softmax(b, ref, r, rows, cols, -0.5f, cols + 9, 1, 0, 3.0f);
        run_softmax(b, ref, r, rows, cols, 1.0f, cols, 1, 3, 3.0f);
        run_softmax(b, ref, r, rows, cols, 1.0f, 0, 0, 0, 3.0f); /* every row masked */
        run_softmax(b, ref, r, rows, cols, 1.0f, cols, 0, 0, 80.0f); /* needs the max shift */
    }
}

START_TEST(test_softmax_parity)
{
    for_each_backend(check_softmax, "softmax");
}
END_TEST

/* ---- element-wise ---- */

typedef void (*unary_fn)(void *ctx, size_t n, float *x);

/* A dense grid over [-12, 12], then magnitudes 1e-30 .. 3e38 of both signs,
 * the infinities and the zeros. */
static float *grid(size_t *n)
{
    size_t dense = 24 * 4096 + 1, cap = dense + 400;
    float *x = malloc(cap * sizeof *x);
    ck_assert_ptr_nonnull(x);
    size_t k = 0;
    for (size_t i = 0; i < dense; i++)
        x[k++] = -12.0f + (float)i / 4096.0f;
    for (float m = 1e-30f; m < 3e38f; m *= 3.7f) {
        x[k++] = m;
        x[k++] = -m;
    }
    x[k++] = INFINITY;
    x[k++] = -INFINITY;
    x[k++] = 0.0f;
    x[k++] = -0.0f;
    *n = k;
    return x;
}

typedef enum tol_kind { TOL_GELU, TOL_RELATIVE, TOL_EXACT } tol_kind;

static double unary_tol(tol_kind kind, float x, float want)
{
    switch (kind) {
    case TOL_GELU: return 1e-6 * fmax(1.0, fabs(x));
    case TOL_RELATIVE: return 1e-6 * fabs(want) + 1e-37;
    case TOL_EXACT: break;
    }
    return 0.0;
}

static void run_unary(const ce_backend *b, unary_fn fn, unary_fn ref_fn, tol_kind kind,
                      const float *x0, size_t n, const char *what)
{
    float *x = copy_of(x0, n), *want = copy_of(x0, n);
    fn(b->ctx, n, x);
    ref_fn(NULL, n, want);
    for (size_t i = 0; i < n; i++)
        expect_close(x[i], want[i], unary_tol(kind, x0[i], want[i]), what, i);
    free(x), free(want);
}

static void check_unary(const ce_backend *b, const ce_backend *ref, rng *r)
{
    const struct {
        unary_fn fn, ref_fn;
        tol_kind kind;
        const char *name;
    } slots[] = {
        {b->ops.gelu_erf, ref->ops.gelu_erf, TOL_GELU, "gelu_erf"},
        {b->ops.gelu_tanh, ref->ops.gelu_tanh, TOL_GELU, "gelu_tanh"},
        {b->ops.sigmoid, ref->ops.sigmoid, TOL_RELATIVE, "sigmoid"},
        {b->ops.tanh, ref->ops.tanh, TOL_RELATIVE, "tanh"},
        {b->ops.relu, ref->ops.relu, TOL_EXACT, "relu"},
    };
    size_t n_grid;
    float *g = grid(&n_grid);
    static const size_t sizes[] = {1, 7, 1000, 100003};
    for (size_t s = 0; s < sizeof slots / sizeof *slots; s++) {
        run_unary(b, slots[s].fn, slots[s].ref_fn, slots[s].kind, g, n_grid, slots[s].name);
        for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
            float *x = filled(r, sizes[z], 6.0f);
            run_unary(b, slots[s].fn, slots[s].ref_fn, slots[s].kind, x, sizes[z], slots[s].name);
            free(x);
        }
    }
    free(g);
}

START_TEST(test_unary_parity)
{
    for_each_backend(check_unary, "unary");
}
END_TEST

static void check_add_scale(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const size_t sizes[] = {1, 7, 1000, 300001};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t n = sizes[z];
        float *a = filled(r, n, 10.0f), *c = filled(r, n, 10.0f);
        float *y = filled(r, n, 1.0f), *want = copy_of(y, n);
        b->ops.add(b->ctx, n, a, c, y);
        ref->ops.add(NULL, n, a, c, want);
        expect_same_bits(y, want, n, "add");
        float *a2 = copy_of(a, n), *c2 = copy_of(c, n); /* y aliasing a, then b */
        b->ops.add(b->ctx, n, a2, c, a2);
        expect_same_bits(a2, want, n, "add y=a");
        b->ops.add(b->ctx, n, a, c2, c2);
        expect_same_bits(c2, want, n, "add y=b");
        memcpy(want, a, n * sizeof *a);
        b->ops.scale(b->ctx, n, -0.37f, a);
        ref->ops.scale(NULL, n, -0.37f, want);
        expect_same_bits(a, want, n, "scale");
        free(a), free(c), free(y), free(want), free(a2), free(c2);
    }
}

START_TEST(test_add_scale_parity)
{
    for_each_backend(check_add_scale, "add/scale");
}
END_TEST

/* ---- LSTM cell ---- */

static void run_lstm(const ce_backend *b, const ce_backend *ref, rng *r, size_t batch, size_t cell,
                     float forget_bias, float clip)
{
    size_t ldg = 4 * cell + 3, ldc = cell + 1, ldh = cell + 2;
    float *gates = filled(r, batch * ldg, 4.0f);
    float *c0 = filled(r, batch * ldc, 3.0f), *h0 = filled(r, batch * ldh, 1.0f);
    float *c = copy_of(c0, batch * ldc), *cw = copy_of(c0, batch * ldc);
    float *h = copy_of(h0, batch * ldh), *hw = copy_of(h0, batch * ldh);
    b->ops.lstm_cell(b->ctx, batch, cell, gates, ldg, forget_bias, clip, c, ldc, h, ldh);
    ref->ops.lstm_cell(NULL, batch, cell, gates, ldg, forget_bias, clip, cw, ldc, hw, ldh);
    for (size_t i = 0; i < batch; i++)
        for (size_t j = 0; j < cell; j++) {
            float wc = cw[i * ldc + j], wh = hw[i * ldh + j];
            expect_close(c[i * ldc + j], wc, 2e-6 * (1.0 + fabs(wc)), "c", i * ldc + j);
            expect_close(h[i * ldh + j], wh, 2e-6 * (1.0 + fabs(wh)), "h", i * ldh + j);
        }
    expect_padding(c, c0, batch, cell, ldc, "c padding");
    expect_padding(h, h0, batch, cell, ldh, "h padding");
    free(gates), free(c0), free(h0), free(c), free(cw), free(h), free(hw);
}

static void check_lstm(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const size_t shapes[][2] = {{1, 1}, {3, 7}, {1, 512}, {17, 512}, {2, 4096}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        run_lstm(b, ref, r, shapes[s][0], shapes[s][1], 0.0f, 0.0f);
        run_lstm(b, ref, r, shapes[s][0], shapes[s][1], 1.0f, 3.0f);
    }
}

START_TEST(test_lstm_parity)
{
    for_each_backend(check_lstm, "lstm_cell");
}
END_TEST

/* ---- attention ---- */

typedef enum attn_layout {
    ATTN_DENSE,  /* q, k, v, out all [t, d], as BERT */
    ATTN_PADDED, /* every stride larger than d, by a different amount */
    ATTN_GPT2,   /* q (and k, v when tq == tk) inside one [t, 3d] buffer, ld 3d, as GPT-2's
                  * c_attn output; with tq != tk, k and v in [tk, d] caches (decoding) */
} attn_layout;

typedef struct attn_case {
    size_t heads, hd, tq, tk;
    int causal;
    size_t q_offset;
    attn_layout layout;
    float amp;   /* of q and k: large values need the maximum shift */
    float scale; /* 0: 1 / sqrt(hd) */
} attn_case;

/* Keys query @p i sees: j < tk and, when causal, j <= q_offset + i (at least one). */
static size_t attn_keys(const attn_case *a, size_t i)
{
    if (!a->causal)
        return a->tk;
    size_t last = a->q_offset + i + 1;
    return last < a->tk ? last : a->tk;
}

static void run_attention(const ce_backend *b, const ce_backend *ref, rng *r, const attn_case *a)
{
    size_t d = a->heads * a->hd, ldq, ldk, ldv, ldo;
    switch (a->layout) {
    case ATTN_DENSE: ldq = ldk = ldv = ldo = d; break;
    case ATTN_PADDED: ldq = d + 3, ldk = d + 5, ldv = d + 1, ldo = d + 2; break;
    default:
        ldq = 3 * d, ldk = ldv = a->tq == a->tk ? 3 * d : d, ldo = d + 1;
        break;
    }
    float scale = a->scale != 0.0f ? a->scale : 1.0f / sqrtf((float)a->hd);
    float *qbuf, *kbuf, *vbuf;
    const float *q, *k, *v;
    size_t n_q = a->tq * ldq, n_k = a->tk * ldk, n_v = a->tk * ldv;
    if (a->layout == ATTN_GPT2 && a->tq == a->tk) { /* one buffer, three column ranges */
        qbuf = filled(r, n_q, a->amp);
        for (size_t t = 0; t < a->tq; t++) /* v's columns: amplitude 1 */
            for (size_t c = 0; c < d; c++)
                qbuf[t * ldq + 2 * d + c] /= a->amp;
        kbuf = vbuf = NULL;
        q = qbuf, k = qbuf + d, v = qbuf + 2 * d;
        n_k = n_v = 0;
    } else {
        qbuf = filled(r, n_q, a->amp), kbuf = filled(r, n_k, a->amp), vbuf = filled(r, n_v, 1.0f);
        q = qbuf, k = kbuf, v = vbuf;
    }
    float *q_orig = copy_of(qbuf, n_q), *k_orig = kbuf ? copy_of(kbuf, n_k) : NULL;
    float *v_orig = vbuf ? copy_of(vbuf, n_v) : NULL;
    size_t n_o = a->tq * ldo;
    float *o0 = malloc(n_o * sizeof *o0);
    ck_assert_ptr_nonnull(o0);
    for (size_t i = 0; i < n_o; i++) /* every output must be written; padding must not be */
        o0[i] = NAN;
    float *o = copy_of(o0, n_o), *want = copy_of(o0, n_o);
    b->ops.attention(b->ctx, a->heads, a->hd, a->tq, a->tk, q, ldq, k, ldk, v, ldv, scale,
                     a->causal, a->q_offset, o, ldo);
    ref->ops.attention(ref->ctx, a->heads, a->hd, a->tq, a->tk, q, ldq, k, ldk, v, ldv, scale,
                       a->causal, a->q_offset, want, ldo);
    snprintf(detail, sizeof detail,
             " heads=%zu hd=%zu tq=%zu tk=%zu causal=%d q_offset=%zu layout=%d ldq=%zu", a->heads,
             a->hd, a->tq, a->tk, a->causal, a->q_offset, (int)a->layout, ldq);
    double *v_max = malloc(a->hd * sizeof *v_max);
    ck_assert_ptr_nonnull(v_max);
    size_t v_seen = 0;
    for (size_t h = 0; h < a->heads; h++)
        for (size_t i = 0; i < a->tq; i++) {
            size_t keys = attn_keys(a, i), col = h * a->hd;
            if (i == 0) { /* a new head */
                for (size_t c = 0; c < a->hd; c++)
                    v_max[c] = 0.0;
                v_seen = 0;
            }
            for (; v_seen < keys; v_seen++) /* keys never decrease with i */
                for (size_t c = 0; c < a->hd; c++)
                    v_max[c] = fmax(v_max[c], fabs(v[v_seen * ldv + col + c]));
            double s_max = 0.0;
            for (size_t j = 0; j < keys; j++) {
                double s = 0.0;
                for (size_t c = 0; c < a->hd; c++)
                    s += fabs((double)q[i * ldq + col + c] * k[j * ldk + col + c]);
                s_max = fmax(s_max, fabs(scale) * s);
            }
            for (size_t c = 0; c < a->hd; c++) {
                size_t at = i * ldo + col + c;
                expect_close(o[at], want[at], 1e-5 * (1.0 + 2.0 * s_max) * v_max[c] + 1e-30,
                             "out", at);
            }
        }
    expect_padding(o, o0, a->tq, d, ldo, "out padding");
    expect_same_bits(qbuf, q_orig, n_q, "q (input)");
    if (kbuf) {
        expect_same_bits(kbuf, k_orig, n_k, "k (input)");
        expect_same_bits(vbuf, v_orig, n_v, "v (input)");
    }
    free(qbuf), free(kbuf), free(vbuf), free(q_orig), free(k_orig), free(v_orig);
    free(o0), free(o), free(want), free(v_max);
}

static void check_attention(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const attn_case cases[] = {
        {1, 1, 1, 1, 0, 0, ATTN_DENSE, 1.0f, 0.0f},
        {1, 1, 1, 1, 1, 0, ATTN_PADDED, 1.0f, 0.0f},
        {2, 3, 5, 7, 0, 0, ATTN_PADDED, 1.0f, 0.0f},    /* tq != tk, no mask */
        {2, 3, 5, 7, 1, 2, ATTN_PADDED, 1.0f, 0.0f},    /* query i sees 3 + i keys */
        {2, 8, 6, 10, 1, 0, ATTN_PADDED, 1.0f, 0.0f},   /* causal, keys past the queries */
        {2, 8, 6, 10, 1, 50, ATTN_DENSE, 1.0f, 0.0f},   /* q_offset past tk: all keys */
        {4, 16, 33, 33, 0, 0, ATTN_DENSE, 1.0f, 0.0f},  /* BERT */
        {4, 16, 33, 33, 1, 0, ATTN_GPT2, 1.0f, 0.0f},   /* GPT-2 prompt */
        {3, 64, 17, 17, 0, 0, ATTN_PADDED, 4.0f, 0.0f}, /* large scores */
        {3, 64, 17, 17, 1, 0, ATTN_GPT2, 1.0f, 0.0625f},
        {12, 64, 1, 600, 1, 599, ATTN_GPT2, 1.0f, 0.0f}, /* decoding one token */
        {12, 64, 1, 600, 0, 0, ATTN_PADDED, 1.0f, 0.0f},
        {12, 64, 1, 77, 1, 76, ATTN_DENSE, 2.0f, 0.0f},
        {12, 64, 4, 517, 1, 513, ATTN_GPT2, 1.0f, 0.0f}, /* appending 4 tokens */
        {20, 16, 1, 50, 1, 30, ATTN_PADDED, 1.0f, 0.0f}, /* one row: 20 heads in chunks, 31 keys */
        {2, 64, 300, 300, 1, 0, ATTN_GPT2, 1.0f, 0.0f},
        {2, 64, 200, 200, 0, 0, ATTN_DENSE, 1.0f, 0.0f},
        {2, 32, 257, 257, 0, 0, ATTN_PADDED, 1.0f, 0.0f},
        {2, 96, 70, 70, 1, 0, ATTN_GPT2, 1.0f, 0.0f},    /* 64 + 32 columns: each pass of the sums */
        {3, 72, 9, 40, 1, 31, ATTN_PADDED, 1.0f, 0.0f},  /* 64 + 8: a lone vector, single columns */
        {2, 24, 130, 130, 0, 0, ATTN_DENSE, 3.0f, 0.0f}, /* 16 + 8 */
        {2, 16, 45, 45, 1, 0, ATTN_GPT2, 1.0f, 0.0f},     /* one vector of columns */
        {2, 128, 20, 150, 0, 0, ATTN_PADDED, 2.0f, 0.0f}, /* the widest head in the blocks */
        {3, 80, 40, 260, 1, 220, ATTN_PADDED, 1.0f, 0.0f}, /* 64 + 16 columns; key blocks */
        {2, 64, 129, 129, 1, 0, ATTN_DENSE, 1.0f, 0.0f},  /* a block of one row */
        {1, 300, 3, 40, 1, 37, ATTN_PADDED, 1.0f, 0.0f}, /* a head wider than 256 */
        {1, 513, 2, 9, 0, 0, ATTN_GPT2, 1.0f, 0.0f},
        /* a head's keys and values past what a thread keeps dense: copied per block */
        {1, 64, 3, 8200, 1, 8197, ATTN_DENSE, 1.0f, 0.0f},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        run_attention(b, ref, r, &cases[c]);
}

START_TEST(test_attention_parity)
{
    for_each_backend(check_attention, "attention");
#if CE_HAVE_BLIS || CE_HAVE_ONEDNN
    /* on an AVX-512 CPU the kernel above ran with 16 floats per vector: the 8-float code too */
    int was = ce_cpu_attention_force_width(8);
    for_each_backend(check_attention, "attention, 8-float vectors");
    ce_cpu_attention_force_width(was);
#endif
}
END_TEST

/* ---- ELMo's max over character positions, highway carry, clipping ---- */

static void run_max_rows(const ce_backend *b, const ce_backend *ref, rng *r, size_t groups,
                         size_t rows, size_t cols, size_t pad)
{
    size_t ldy = cols + pad, n_x = groups * rows * cols, n_y = groups * ldy;
    float *x = filled(r, n_x, 5.0f), *x_orig = copy_of(x, n_x);
    float *y0 = filled(r, n_y, 100.0f); /* a kernel that starts from y gets it wrong */
    float *y = copy_of(y0, n_y), *want = copy_of(y0, n_y);
    b->ops.max_rows(b->ctx, groups, rows, cols, x, y, ldy);
    ref->ops.max_rows(ref->ctx, groups, rows, cols, x, want, ldy);
    snprintf(detail, sizeof detail, " groups=%zu rows=%zu cols=%zu ldy=%zu", groups, rows, cols,
             ldy);
    for (size_t g = 0; g < groups; g++)
        expect_same_bits(y + g * ldy, want + g * ldy, cols, "y");
    expect_padding(y, y0, groups, cols, ldy, "y padding");
    expect_same_bits(x, x_orig, n_x, "x (input)");
    free(x), free(x_orig), free(y0), free(y), free(want);
}

static void check_rows_mix_clip(const ce_backend *b, const ce_backend *ref, rng *r)
{
    static const size_t shapes[][4] = {
        {1, 1, 1, 0},   {3, 5, 7, 2},    {40, 49, 12, 0}, {40, 47, 8, 3}, {200, 50, 4, 1},
        {7, 1, 300, 0}, {2, 3, 1001, 5}, {1, 64, 2048, 0},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        run_max_rows(b, ref, r, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3]);

    static const size_t sizes[] = {1, 7, 1000, 100003};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t n = sizes[z];
        snprintf(detail, sizeof detail, " n=%zu", n);
        /* gate_mix: g a sigmoid's output, t a ReLU's */
        float *g = filled(r, n, 0.5f), *t = filled(r, n, 4.0f), *x0 = filled(r, n, 3.0f);
        for (size_t i = 0; i < n; i++)
            g[i] += 0.5f, t[i] = fabsf(t[i]);
        if (n > 2)
            g[0] = 0.0f, g[1] = 1.0f;
        float *g_orig = copy_of(g, n), *t_orig = copy_of(t, n);
        float *x = copy_of(x0, n), *want = copy_of(x0, n);
        b->ops.gate_mix(b->ctx, n, g, t, x);
        ref->ops.gate_mix(ref->ctx, n, g, t, want);
        for (size_t i = 0; i < n; i++)
            expect_close(x[i], want[i], 1e-6 * (fabs(t[i]) + fabs(x0[i])) + 1e-37, "gate_mix",
                         i);
        expect_same_bits(g, g_orig, n, "gate_mix g (input)");
        expect_same_bits(t, t_orig, n, "gate_mix t (input)");
        free(g), free(t), free(g_orig), free(t_orig), free(x), free(want);

        /* clip */
        static const float limits[] = {0.5f, 3.0f, 1e30f};
        for (size_t l = 0; l < 3; l++) {
            for (size_t i = 0; i < n; i++)
                x0[i] = 10.0f * uniform(r);
            if (n > 2)
                x0[0] = INFINITY, x0[1] = -INFINITY;
            x = copy_of(x0, n), want = copy_of(x0, n);
            b->ops.clip(b->ctx, n, limits[l], x);
            ref->ops.clip(ref->ctx, n, limits[l], want);
            expect_same_bits(x, want, n, "clip");
            free(x), free(want);
        }
        free(x0);
    }
}

START_TEST(test_rows_mix_clip_parity)
{
    for_each_backend(check_rows_mix_clip, "max_rows/gate_mix/clip");
}
END_TEST

/* ---- prepared linear products (version 2) ---- */

static const char *const act_names[] = {"none", "gelu_erf", "gelu_tanh", "relu", "sigmoid",
                                        "tanh"};

/* The reference's activation, as the families apply it after gemm. */
static void ref_activate(const ce_backend *ref, ce_backend_activation act, size_t n, float *x)
{
    switch (act) {
    case CE_BACKEND_ACT_NONE: break;
    case CE_BACKEND_ACT_GELU_ERF: ref->ops.gelu_erf(NULL, n, x); break;
    case CE_BACKEND_ACT_GELU_TANH: ref->ops.gelu_tanh(NULL, n, x); break;
    case CE_BACKEND_ACT_RELU: ref->ops.relu(NULL, n, x); break;
    case CE_BACKEND_ACT_SIGMOID: ref->ops.sigmoid(NULL, n, x); break;
    case CE_BACKEND_ACT_TANH: ref->ops.tanh(NULL, n, x); break;
    }
}

/* Slope bound L and the activation's own tolerance at pre-activation z. */
static double act_slope(ce_backend_activation act)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF:
    case CE_BACKEND_ACT_GELU_TANH: return 1.13;
    case CE_BACKEND_ACT_SIGMOID: return 0.25;
    default: return 1.0;
    }
}

static double act_tol(ce_backend_activation act, float z, float want)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF:
    case CE_BACKEND_ACT_GELU_TANH: return unary_tol(TOL_GELU, z, want);
    case CE_BACKEND_ACT_SIGMOID:
    case CE_BACKEND_ACT_TANH: return unary_tol(TOL_RELATIVE, z, want);
    default: return 0.0;
    }
}

typedef struct lin_weight {
    size_t in, out, ld;
    ce_transpose layout;
    ce_backend_activation act;
    ce_precision precision; /* below f32, rm is the reference model at that precision */
    const ce_backend_model *rm;
    float *w, *bias; /* the test's copies: the prepared form must not need the originals */
    void *prepared, *ref_prepared; /* ref_prepared: rm's, below f32 */
} lin_weight;

static float lin_w(const lin_weight *lw, size_t j, size_t p) /* W[j, p]: output j, input p */
{
    return lw->layout == CE_TRANS ? lw->w[j * lw->ld + p] : lw->w[p * lw->ld + j];
}

/* Prepare @p lw with the backend's model state (and, below f32, with the
 * reference's, the expected product); the weight and bias handed over are
 * poisoned and freed right after, as the library may drop them. */
static void prepare_weight(const ce_backend_model *bm, rng *r, lin_weight *lw, bool bias,
                           size_t wpad)
{
    size_t rows = lw->layout == CE_TRANS ? lw->out : lw->in;
    size_t cols = lw->layout == CE_TRANS ? lw->in : lw->out;
    lw->ld = cols + wpad;
    size_t n_w = (rows - 1) * lw->ld + cols;
    lw->w = filled(r, n_w, 1.0f);
    lw->bias = bias ? filled(r, lw->out, 2.0f) : NULL;
    float *w_given = copy_of(lw->w, n_w), *b_given = bias ? copy_of(lw->bias, lw->out) : NULL;
    ce_linear_desc desc = {sizeof desc, lw->in,  lw->out, w_given,         lw->ld,
                           lw->layout,  b_given, lw->act, "parity.weight", lw->precision};
    lw->prepared = lw->ref_prepared = NULL;
    ce_status st = bm->ops.linear_prepare(bm->state, &desc, &lw->prepared);
    ck_assert_msg(st == CE_OK, "%s: linear_prepare in=%zu out=%zu layout=%d: %s", where, lw->in,
                  lw->out, lw->layout, ce_last_error());
    ck_assert_ptr_nonnull(lw->prepared);
    if (lw->rm)
        ck_assert_int_eq(lw->rm->ops.linear_prepare(lw->rm->state, &desc, &lw->ref_prepared),
                         CE_OK);
    for (size_t i = 0; i < n_w; i++)
        w_given[i] = NAN;
    for (size_t i = 0; bias && i < lw->out; i++)
        b_given[i] = NAN;
    free(w_given), free(b_given);
}

static void release_weight(const ce_backend_model *bm, lin_weight *lw)
{
    bm->ops.linear_release(bm->state, lw->prepared);
    if (lw->ref_prepared)
        lw->rm->ops.linear_release(lw->rm->state, lw->ref_prepared);
    free(lw->w), free(lw->bias);
}

/* y, the backend's product of @p rows rows of x with @p lw (y0 before it),
 * against the reference: gemm then the activation at f32; the reference's
 * own prepared product below f32. With @p far, the largest difference of the
 * reference from the float32 product, relative to the magnitude, is kept
 * there (cases without activation). */
static void expect_linear(const ce_backend *ref, const lin_weight *lw, size_t rows, const float *x,
                          size_t ldx, float beta, const float *y0, const float *y, size_t ldy,
                          double *far)
{
    size_t n_y = rows * ldy;
    float *z = copy_of(y0, n_y);
    ref->ops.gemm(NULL, CE_NO_TRANS, lw->layout, rows, lw->out, lw->in, 1.0f, x, ldx, lw->w, lw->ld,
                  beta, z, ldy, lw->bias);
    float *want = copy_of(lw->ref_prepared ? y0 : z, n_y);
    if (lw->ref_prepared)
        lw->rm->ops.linear(NULL, lw->ref_prepared, rows, x, ldx, beta, want, ldy);
    else
        for (size_t i = 0; i < rows; i++)
            ref_activate(ref, lw->act, lw->out, want + i * ldy);
    snprintf(detail, sizeof detail,
             " in=%zu out=%zu layout=%s act=%s bias=%d ldw=%zu rows=%zu beta=%g ldx=%zu ldy=%zu",
             lw->in, lw->out, lw->layout == CE_TRANS ? "[out,in]" : "[in,out]",
             act_names[lw->act], lw->bias != NULL, lw->ld, rows, beta, ldx, ldy);
    double slope = act_slope(lw->act);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < lw->out; j++) {
            double mag = lw->bias ? fabs(lw->bias[j]) : 0.0;
            for (size_t p = 0; p < lw->in; p++)
                mag += fabs((double)x[i * ldx + p] * lin_w(lw, j, p));
            if (beta != 0.0f)
                mag += fabs(beta * y0[i * ldy + j]);
            size_t at = i * ldy + j;
            double tol = slope * 1e-5 * mag + act_tol(lw->act, z[at], want[at]) + 1e-30;
            expect_close(y[at], want[at], tol, "y", at);
            if (far && lw->act == CE_BACKEND_ACT_NONE && mag > 0.0)
                *far = fmax(*far, fabs((double)z[at] - want[at]) / mag);
        }
    expect_padding(y, y0, rows, lw->out, ldy, "y padding");
    free(z), free(want);
}
/* The backend's linear slot against the reference (expect_linear). */
static void run_linear(const ce_backend *b, const ce_backend *ref, rng *r, const lin_weight *lw,
                       size_t rows, float beta, size_t xpad, size_t ypad, double *far)
{
    size_t ldx = lw->in + xpad, ldy = lw->out + ypad;
    size_t n_x = rows * ldx, n_y = rows * ldy;
    float *x = filled(r, n_x, 1.0f), *x_orig = copy_of(x, n_x);
    float *y0 = filled(r, n_y, 1.0f);
    if (beta == 0.0f) /* y must not be read */
        for (size_t i = 0; i < n_y; i++)
            y0[i] = NAN;
    float *y = copy_of(y0, n_y);
    b->ops.linear(b->ctx, lw->prepared, rows, x, ldx, beta, y, ldy);
    expect_linear(ref, lw, rows, x, ldx, beta, y0, y, ldy, far);
    expect_same_bits(x, x_orig, n_x, "x (input)");
    free(x), free(x_orig), free(y0), free(y);
}


/* Every weight shape in both layouts, with every activation, bias on and
 * off in turn, applied to 1, 7 and 128 rows with beta 0 and 1 in turn. */
static void check_linear(const char *name, int threads, const ce_backend *ref, rng *r)
{
    ce_backend_model *bm = NULL;
    ck_assert_msg(ce_backend_model_open(name, threads, &bm) == CE_OK, "%s: %s", where,
                  ce_last_error());
    ck_assert(bm->prepares);
    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open(name, threads, bm, &b), CE_OK);
    ck_assert_ptr_eq(b->model, bm);
    static const size_t shapes[][2] = { /* in, out */
        {1, 1},    {3, 5},     {5, 3},    {17, 33},  {64, 64},
        {64, 256}, {256, 64}, {130, 300}, {768, 64}, {1100, 20}, /* two input blocks */
        {96, 448}, {33, 1000}, /* a decoding loop's groups of 4 and 3 blocks, the last block cut */
    };
    /* the kernels' row tiles (6 with AVX2, 12 with AVX-512), whole and cut short */
    /* the onednn backend's float32 kernel: tiles of 6 rows cut short to 1-5,
     * chunks of rows split between threads from 129 rows (260: four of 65 at
     * 2 threads), of 64 rows from 512 for a wide x (1100 -> 20: 520 rows,
     * eight of 65) */
    static const size_t row_counts[] = {1, 3, 5, 7, 13, 25, 128, 260, 520};
    enum { N_ROWS = sizeof row_counts / sizeof *row_counts };
    enum { N_ACT = 6 };
    lin_weight weights[2 * N_ACT];
    size_t v = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t n = 0;
        for (int layout = 0; layout < 2; layout++)
            for (int act = 0; act < N_ACT; act++, v++) {
                lin_weight *lw = &weights[n++];
                *lw = (lin_weight){.in = shapes[s][0], .out = shapes[s][1],
                                   .layout = layout ? CE_TRANS : CE_NO_TRANS,
                                   .act = (ce_backend_activation)act};
                prepare_weight(bm, r, lw, (v + s) % 2 == 0, v % 3 == 0 ? 3 : 0);
            }
        /* all of this shape's weights are prepared before any is used */
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < N_ROWS; k++)
                /* the most rows with two activations of each layout only, and
                 * 520 with a wide x only (time) */
                if ((row_counts[k] <= 128 || i % N_ACT < 2) &&
                    (row_counts[k] <= 260 || shapes[s][0] >= 2 * shapes[s][1]))
                    run_linear(b, ref, r, &weights[i], row_counts[k], (i + k) % 2 ? 1.0f : 0.0f,
                               (i + k) % 3, 1 + (i + 2 * k) % 3, NULL);
        for (size_t i = 0; i < n; i++)
            release_weight(bm, &weights[i]);
    }
    ce_backend_close(b);
    ce_backend_model_close(bm);
}

/* A backend of the test's own that prepares (its weights packed [out, in]
 * with their bias), so that the check above runs even when no built-in
 * backend prepares weights. */
typedef struct packed_weight {
    size_t in, out;
    ce_backend_activation act;
    float *w;    /* [out, in] */
    float *bias; /* [out], zeros when none */
} packed_weight;

static ce_status packed_create(int n_threads, void **ctx)
{
    (void)n_threads;
    *ctx = NULL;
    return CE_OK;
}

static void packed_destroy(void *ctx)
{
    (void)ctx;
}

static ce_status packed_prepare(void *model_state, const ce_linear_desc *d, void **prepared)
{
    (void)model_state;
    packed_weight *p = calloc(1, sizeof *p);
    if (!p)
        return CE_ERR_OUT_OF_MEMORY;
    p->in = d->in, p->out = d->out, p->act = d->act;
    p->w = malloc(d->in * d->out * sizeof *p->w);
    p->bias = calloc(d->out, sizeof *p->bias);
    if (!p->w || !p->bias) {
        free(p->w), free(p->bias), free(p);
        return CE_ERR_OUT_OF_MEMORY;
    }
    for (size_t j = 0; j < d->out; j++) {
        for (size_t q = 0; q < d->in; q++)
            p->w[j * d->in + q] = d->layout == CE_TRANS ? d->weight[j * d->ld + q]
                                                        : d->weight[q * d->ld + j];
        if (d->bias)
            p->bias[j] = d->bias[j];
    }
    *prepared = p;
    return CE_OK;
}

static void packed_release(void *model_state, void *prepared)
{
    (void)model_state;
    packed_weight *p = prepared;
    free(p->w), free(p->bias), free(p);
}

static void packed_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                          float beta, float *y, size_t ldy)
{
    (void)ctx;
    const packed_weight *p = prepared;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < p->out; j++) {
            float s = p->bias[j] + (beta != 0.0f ? beta * y[i * ldy + j] : 0.0f);
            for (size_t q = 0; q < p->in; q++)
                s += x[i * ldx + q] * p->w[j * p->in + q];
            switch (p->act) {
            case CE_BACKEND_ACT_NONE: break;
            case CE_BACKEND_ACT_GELU_ERF: s = 0.5f * s * (1.0f + erff(s / sqrtf(2.0f))); break;
            case CE_BACKEND_ACT_GELU_TANH:
                s = 0.5f * s * (1.0f + tanhf(0.7978845608f * (s + 0.044715f * s * s * s)));
                break;
            case CE_BACKEND_ACT_RELU: s = s < 0.0f ? 0.0f : s; break;
            case CE_BACKEND_ACT_SIGMOID: s = 1.0f / (1.0f + expf(-s)); break;
            case CE_BACKEND_ACT_TANH: s = tanhf(s); break;
            }
            y[i * ldy + j] = s;
        }
}

/* y += x W^T + b onto a large y (a residual stream): the sum is to be added
 * to y once, as y + (x W^T + b), not every multiply-add rounded at y's
 * scale (that was 30 times the error allowed here). Every backend that
 * prepares float32 weights, against double. */
#define ACC_IN 3072
#define ACC_OUT 40
#define ACC_ROWS 7
static void check_accumulate(const char *name, int threads)
{
    ce_backend_model *bm = NULL;
    ck_assert_int_eq(ce_backend_model_open_at(name, threads, CE_PRECISION_F32, &bm), CE_OK);
    static float w[ACC_OUT * ACC_IN], bias[ACC_OUT], x[ACC_ROWS * ACC_IN], y[ACC_ROWS * ACC_OUT];
    rng r = {0x5DEECE66Dull};
    for (size_t i = 0; i < ACC_OUT * ACC_IN; i++)
        w[i] = uniform(&r) * 0.1f;
    for (size_t i = 0; i < ACC_ROWS * ACC_IN; i++)
        x[i] = uniform(&r);
    for (size_t i = 0; i < ACC_OUT; i++)
        bias[i] = uniform(&r);
    ce_linear_desc desc = {sizeof desc, ACC_IN, ACC_OUT, w, ACC_IN, CE_TRANS, bias,
                           CE_BACKEND_ACT_NONE, "acc.weight", CE_PRECISION_F32};
    void *prepared = NULL;
    ck_assert_int_eq(bm->ops.linear_prepare(bm->state, &desc, &prepared), CE_OK);
    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open(name, threads, bm, &b), CE_OK);
    for (size_t i = 0; i < ACC_ROWS * ACC_OUT; i++)
        y[i] = 1000.0f + uniform(&r);
    float y0[ACC_ROWS * ACC_OUT];
    memcpy(y0, y, sizeof y0);
    b->ops.linear(b->ctx, prepared, ACC_ROWS, x, ACC_IN, 1.0f, y, ACC_OUT);
    for (size_t i = 0; i < ACC_ROWS; i++)
        for (size_t j = 0; j < ACC_OUT; j++) {
            double want = (double)y0[i * ACC_OUT + j] + bias[j];
            for (size_t k = 0; k < ACC_IN; k++)
                want += (double)x[i * ACC_IN + k] * w[j * ACC_IN + k];
            /* a few roundings at y's scale (ulp 6.1e-5): its sum and blocks of inputs */
            ck_assert_msg(fabs(y[i * ACC_OUT + j] - want) <= 2.5e-4,
                          "%s/%d threads: y[%zu][%zu] = %.9g, want %.9g", name, threads, i, j,
                          y[i * ACC_OUT + j], want);
        }
    ce_backend_close(b);
    bm->ops.linear_release(bm->state, prepared);
    ce_backend_model_close(bm);
}

START_TEST(test_accumulate_large_y)
{
    size_t checked = 0;
    for (size_t i = 0; i < ce_backend_count(); i++) {
        ce_backend_model *bm = NULL;
        const char *name = ce_backend_name(i);
        int prepares = ce_backend_model_open_at(name, 1, CE_PRECISION_F32, &bm) == CE_OK &&
                       bm->prepares;
        ce_backend_model_close(bm);
        for (int threads = 1; prepares && threads <= 2; threads++, checked++)
            check_accumulate(name, threads);
    }
    ck_assert_uint_ge(checked, 1);
}
END_TEST

/* check_linear of backend @p name at 1 and 2 threads, reported as @p label
 * (a variant of its kernels the caller has switched to). */
static void check_linear_variant(const char *name, const char *label, const ce_backend *ref,
                                 uint64_t seed)
{
    for (int threads = 1; threads <= 2; threads++) {
        snprintf(where, sizeof where, "%s/%d threads/linear", label, threads);
        n_failures = 0;
        detail[0] = '\0';
        rng r = {seed + (uint64_t)threads};
        check_linear(name, threads, ref, &r);
        check_failures();
    }
}

START_TEST(test_linear_parity)
{
    ce_backend_ops packed;
    memset(&packed, 0, sizeof packed);
    packed.abi_version = CE_BACKEND_ABI_VERSION;
    packed.struct_size = sizeof packed;
    packed.name = "parity-packed";
    packed.priority = -100;
    packed.create = packed_create;
    packed.destroy = packed_destroy;
    packed.linear_prepare = packed_prepare;
    packed.linear_release = packed_release;
    packed.linear = packed_linear;
    ce_status st = ce_backend_register(&packed); /* CE_ERR_STATE when run twice unforked */
    ck_assert(st == CE_OK || st == CE_ERR_STATE);

    ce_backend *ref;
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
    size_t checked = 0;
    for (size_t i = 0; i < ce_backend_count(); i++) {
        const char *name = ce_backend_name(i);
        ce_backend *probe;
        ck_assert_int_eq(ce_backend_open(name, 1, NULL, &probe), CE_OK);
        bool prepares = ce_backend_prepared_precisions(&probe->ops) &
                        CE_PRECISION_BIT(CE_PRECISION_F32);
        ce_backend_close(probe);
        if (!prepares)
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            snprintf(where, sizeof where, "%s/%d threads/linear", name, threads);
            n_failures = 0;
            detail[0] = '\0';
            rng r = {0xD1B54A32D192ED03ull + (uint64_t)i};
            check_linear(name, threads, ref, &r);
            check_failures();
        }
        fprintf(stderr, "linear: checked backend %s\n", name);
        checked++;
    }
    ck_assert_uint_ge(checked, 1);
#if CE_HAVE_BLIS
    /* on an AVX-512 CPU blis's packed kernel ran with 16-float vectors: the AVX2 one too */
    if ((ce_cpu_features() & CE_CPU_AVX512) && ce_cpu_packed_supported()) {
        int was = ce_cpu_packed_force_isa(CE_CPU_ISA_AVX2);
        check_linear_variant("blis", "blis (AVX2 kernel)", ref, 0xA0761D6478BD642Full);
        ce_cpu_packed_force_isa(was);
    }
#endif
#if CE_HAVE_ONEDNN
    /* the onednn backend's float32 products of several rows on oneDNN's
     * matmul, as on CPUs without AVX-512 (read when a weight is prepared) */
    setenv("CE_DNNL_F32_MATMUL", "1", 1);
    check_linear_variant("onednn", "onednn (oneDNN's matmul)", ref, 0x8EBC6AF09C88C6E3ull);
    unsetenv("CE_DNNL_F32_MATMUL");
#endif
    ce_backend_close(ref);
}
END_TEST

/* ---- int8 weights: every backend that prepares them against the reference ----
 *
 * The reference's quantisation is checked first (|w - q scale| <= scale / 2,
 * |q| <= 127, a group's largest |w| at +-127) and its product against gemm
 * on the dequantised weights (q scale) within the f32 linear tolerance.
 * Every backend whose precisions include int8 then runs the same random
 * weights (both layouts, every activation, groups cut short at the end of a
 * row) on 1 .. 7 and 128 rows; it must match the reference's int8 product
 * within the f32 linear tolerance taken over |x q scale|, since both multiply
 * the same quantised weights (only the order of the float sums differs). */

static void check_quantisation(rng *r)
{
    static const size_t shapes[][2] = {{1, 3}, {63, 5}, {64, 7}, {65, 9}, {200, 17}, {768, 33}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t in = shapes[s][0], out = shapes[s][1];
        float *w = filled(r, in * out, 3.0f);
        if (s == 2)
            for (size_t i = 0; i < in; i++) /* an all-zero row */
                w[i] = 0.0f;
        ce_linear_desc d = {sizeof d,           in,   out, w, in, CE_TRANS, NULL,
                            CE_BACKEND_ACT_NONE, "q", CE_PRECISION_INT8};
        ce_int8_quant q;
        ck_assert_int_eq(ce_int8_quantize(&d, &q), CE_OK);
        ck_assert_uint_eq(q.group, in < CE_INT8_GROUP ? in : CE_INT8_GROUP);
        ck_assert_uint_eq(q.groups, (in + q.group - 1) / q.group);
        for (size_t o = 0; o < out; o++)
            for (size_t g = 0; g < q.groups; g++) {
                float sc = q.scale[o * q.groups + g];
                int top = 0;
                for (size_t i = g * q.group; i < in && i < (g + 1) * q.group; i++) {
                    int v = q.q[o * in + i];
                    ck_assert_int_le(abs(v), 127);
                    top = abs(v) > top ? abs(v) : top;
                    ck_assert_msg(fabs(w[o * in + i] - (double)v * sc) <= 0.5 * sc * (1 + 1e-6),
                                  "w %.9g q %d scale %.9g", w[o * in + i], v, sc);
                }
                ck_assert_int_eq(top, sc > 0.0f ? 127 : 0);
            }
        ce_int8_quant_free(&q);
        free(w);
    }
}

/* W[j, p] of a quantised weight, dequantised. */
static float dequant(const ce_int8_quant *q, size_t j, size_t p)
{
    return (float)q->q[j * q->in + p] * q->scale[j * q->groups + p / q->group];
}

static void check_int8_backend(const char *name, int threads, const ce_backend *ref, rng *r,
                               int isa)
{
    ce_backend_model *bm = NULL, *rm = NULL;
    ck_assert_msg(ce_backend_model_open_at(name, threads, CE_PRECISION_INT8, &bm) == CE_OK,
                  "%s: %s", where, ce_last_error());
    ck_assert(bm->prepares);
    ck_assert_int_eq(ce_backend_model_open_at("ref", 1, CE_PRECISION_INT8, &rm), CE_OK);
    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open(name, threads, bm, &b), CE_OK);
    static const size_t shapes[][2] = { /* in, out */
        {1, 1}, {3, 5}, {17, 33}, {64, 64}, {65, 16}, {130, 300}, {200, 47}, {768, 64},
        {50, 20}, {33, 1000}, /* one row's groups of 2, 4 and 3 panels */
    };
    static const size_t row_counts[] = {1, 2, 3, 4, 5, 7, 128};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int layout = 0; layout < 2; layout++)
            for (int act = 0; act < 6; act++) {
                size_t in = shapes[s][0], out = shapes[s][1];
                ce_transpose lay = layout ? CE_TRANS : CE_NO_TRANS;
                size_t rows_w = lay == CE_TRANS ? out : in, cols = lay == CE_TRANS ? in : out;
                size_t ld = cols + (size_t)(act % 2) * 3, n_w = (rows_w - 1) * ld + cols;
                float *w = filled(r, n_w, 1.0f);
                float *bias = (act + s) % 2 ? filled(r, out, 2.0f) : NULL;
                ce_linear_desc d = {sizeof d, in, out, w, ld, lay, bias,
                                    (ce_backend_activation)act, "parity.int8",
                                    CE_PRECISION_INT8};
                void *pb = NULL, *pr = NULL;
#if CE_HAVE_BLIS
                if (isa != CE_CPU_ISA_BEST) { /* other kernels on the blis context */
                    ce_int8_weight *pw = NULL;
                    ck_assert_int_eq(ce_cpu_int8_prepare_isa(&d, isa, &pw), CE_OK);
                    pb = pw;
                } else
#endif
                ck_assert_msg(bm->ops.linear_prepare(bm->state, &d, &pb) == CE_OK, "%s: %s",
                              where, ce_last_error());
                ck_assert_int_eq(rm->ops.linear_prepare(rm->state, &d, &pr), CE_OK);
                ce_int8_quant q;
                ck_assert_int_eq(ce_int8_quantize(&d, &q), CE_OK);
                for (size_t i = 0; i < n_w; i++) /* the prepared forms must not need them */
                    w[i] = NAN;
                for (size_t k = 0; k < sizeof row_counts / sizeof *row_counts; k++) {
                    size_t rows = row_counts[k], ldx = in + k % 3, ldy = out + (k + 1) % 2;
                    float beta = (k + (size_t)act) % 2 ? 1.0f : 0.0f;
                    float *x = filled(r, rows * ldx, 1.0f), *y0 = filled(r, rows * ldy, 1.0f);
                    if (beta == 0.0f)
                        for (size_t i = 0; i < rows * ldy; i++)
                            y0[i] = NAN;
                    float *y = copy_of(y0, rows * ldy), *want = copy_of(y0, rows * ldy);
                    float *z = copy_of(y0, rows * ldy);
                    b->ops.linear(b->ctx, pb, rows, x, ldx, beta, y, ldy);
                    rm->ops.linear(NULL, pr, rows, x, ldx, beta, want, ldy);
                    /* the reference itself against gemm on the dequantised weights */
                    float *wd = malloc(in * out * sizeof *wd);
                    for (size_t j = 0; j < out; j++)
                        for (size_t p = 0; p < in; p++)
                            wd[j * in + p] = dequant(&q, j, p);
                    ref->ops.gemm(NULL, CE_NO_TRANS, CE_TRANS, rows, out, in, 1.0f, x, ldx, wd, in,
                                  beta, z, ldy, bias);
                    float *zact = copy_of(z, rows * ldy);
                    for (size_t i = 0; i < rows; i++)
                        ref_activate(ref, (ce_backend_activation)act, out, zact + i * ldy);
                    snprintf(detail, sizeof detail, " int8 in=%zu out=%zu layout=%d act=%s "
                             "bias=%d rows=%zu beta=%g", in, out, layout, act_names[act],
                             bias != NULL, rows, beta);
                    double slope = act_slope((ce_backend_activation)act);
                    for (size_t i = 0; i < rows; i++)
                        for (size_t j = 0; j < out; j++) {
                            double mag = bias ? fabs(bias[j]) : 0.0;
                            for (size_t p = 0; p < in; p++)
                                mag += fabs((double)x[i * ldx + p] * wd[j * in + p]);
                            if (beta != 0.0f)
                                mag += fabs(y0[i * ldy + j]);
                            size_t at = i * ldy + j;
                            double tol = slope * 1e-5 * mag +
                                         act_tol((ce_backend_activation)act, z[at], want[at]) +
                                         1e-30;
                            expect_close(y[at], want[at], tol, "y", at);
                            expect_close(want[at], zact[at], tol, "ref int8 vs dequantised gemm",
                                         at);
                        }
                    expect_padding(y, y0, rows, out, ldy, "y padding");
                    free(x), free(y0), free(y), free(want), free(z), free(zact), free(wd);
                }
                ce_int8_quant_free(&q);
                bm->ops.linear_release(bm->state, pb);
                rm->ops.linear_release(rm->state, pr);
                free(w), free(bias);
            }
    ce_backend_close(b);
    ce_backend_model_close(bm);
    ce_backend_model_close(rm);
}

typedef void (*precision_check)(const char *name, int threads, const ce_backend *ref, rng *r);

/* Run @p check on every backend but the reference that prepares @p p, at 1
 * and 2 threads; the others must refuse it at open. Returns how many ran. */
static size_t check_precision_backends(ce_precision p, precision_check check, rng *r)
{
    ce_backend *ref;
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
    size_t checked = 0;
    for (size_t i = 0; i < ce_backend_count(); i++) {
        const char *name = ce_backend_name(i);
        if (!strcmp(name, "ref"))
            continue;
        ce_backend *probe;
        ck_assert_int_eq(ce_backend_open(name, 1, NULL, &probe), CE_OK);
        bool prepares = ce_backend_prepared_precisions(&probe->ops) & CE_PRECISION_BIT(p);
        ce_backend_close(probe);
        if (!prepares) {
            ce_backend_model *bm = NULL; /* refused at open, before anything is prepared */
            ck_assert_int_eq(ce_backend_model_open_at(name, 1, p, &bm), CE_ERR_UNSUPPORTED);
            ck_assert_ptr_null(bm);
            continue;
        }
        for (int threads = 1; threads <= 2; threads++) {
            snprintf(where, sizeof where, "%s/%d threads/%s linear", name, threads,
                     ce_precision_name(p));
            n_failures = 0;
            detail[0] = '\0';
            check(name, threads, ref, r);
            check_failures();
        }
        fprintf(stderr, "%s linear: checked backend %s\n", ce_precision_name(p), name);
        checked++;
    }
    ce_backend_close(ref);
    return checked;
}

static void check_int8(const char *name, int threads, const ce_backend *ref, rng *r)
{
    check_int8_backend(name, threads, ref, r, CE_CPU_ISA_BEST);
#if CE_HAVE_BLIS
    if (!strcmp(name, "blis")) { /* its plain C fallback, and AVX2 where AVX-512 ran above */
        check_failures();
        snprintf(where, sizeof where, "blis/%d threads/int8 linear, plain C", threads);
        check_int8_backend(name, threads, ref, r, CE_CPU_ISA_C);
        check_failures();
        snprintf(where, sizeof where, "blis/%d threads/int8 linear, AVX2", threads);
        check_int8_backend(name, threads, ref, r, CE_CPU_ISA_AVX2);
    }
#endif
}

START_TEST(test_int8_parity)
{
    rng r = {0x9E3779B97F4A7C15ull};
    check_quantisation(&r);
    ck_assert_uint_ge(check_precision_backends(CE_PRECISION_INT8, check_int8, &r), 1);
}
END_TEST

/* ---- bf16 weights: every fast backend that prepares them against the reference ----
 *
 * Both round x and W to bf16 to nearest even and multiply exactly; they
 * differ only in the order of their float32 sums (and the instruction's
 * subnormal inputs taken as zero: none here). Each result must match the
 * reference's bf16 product to 1e-5 of the magnitude, and the batch must
 * show it is bf16 at all: somewhere far from the float32 product. */

/* Whether onednn runs bf16 products of several rows on its AMX kernel here. */
static bool amx_products_here(const char *name)
{
#if CE_HAVE_ONEDNN && CE_AMX_X86
    return !strcmp(name, "onednn") && (ce_cpu_features() & CE_CPU_AMX_BF16) &&
           (ce_cpu_features() & CE_CPU_AVX512_BF16) && !getenv("CE_NO_AMX") &&
           ce_amx_tiles_permitted();
#else
    (void)name;
    return false;
#endif
}

/* Whether onednn runs them on its float32 FMA kernel over the widened bf16
 * weight (onednn_rows_f32.c): no AMX, and FMAs faster than VDPBF16PS here
 * or CE_BF16_FMA=1. */
static bool fma_products_here(const char *name)
{
#if CE_HAVE_ONEDNN
    uint32_t need = CE_CPU_AVX512 | CE_CPU_AVX512_BF16;
    return !strcmp(name, "onednn") && !amx_products_here(name) &&
           (ce_cpu_features() & need) == need && ce_cpu_bf16_fma_faster();
#else
    (void)name;
    return false;
#endif
}

/* The backend's linear_same_x fast path (ce_backend_ext), where it has one:
 * groups of weights of one width against the reference one by one. A call it
 * declines must leave every output untouched. Returns the calls it ran. */
static size_t check_same_x(const ce_backend *b, const ce_backend_model *bm, const ce_backend *ref,
                           rng *r, ce_precision precision, const ce_backend_model *rm)
{
    if (!b->ext.linear_same_x)
        return 0;
    /* widths of one and two input blocks; outputs of half a block, a block
     * and a half cut short, and several blocks; every activation */
    static const size_t groups[][4] = {{130, 33, 300, 64}, {768, 64, 20, 96}, {64, 768, 0, 0}};
    static const size_t row_counts[] = {1, 2, 17, 33, 128, 300};
    size_t ran = 0;
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        lin_weight lw[3];
        size_t n = 0;
        for (; n < 3 && groups[g][n + 1]; n++) {
            lw[n] = (lin_weight){.in = groups[g][0], .out = groups[g][n + 1],
                                 .layout = (g + n) % 2 ? CE_TRANS : CE_NO_TRANS,
                                 .act = (ce_backend_activation)((g * 3 + n) % 6),
                                 .precision = precision, .rm = rm};
            prepare_weight(bm, r, &lw[n], (g + n) % 2 == 0, n);
        }
        for (size_t k = 0; k < sizeof row_counts / sizeof *row_counts; k++) {
            size_t rows = row_counts[k], ldx = lw[0].in + k % 3, ldy[3];
            float *x = filled(r, rows * ldx, 1.0f), *x_orig = copy_of(x, rows * ldx);
            float *y0[3], *y[3];
            const void *w[3];
            for (size_t i = 0; i < n; i++) {
                ldy[i] = lw[i].out + (i + k) % 2;
                y0[i] = filled(r, rows * ldy[i], 1.0f);
                for (size_t j = 0; j < rows * ldy[i]; j++) /* y must not be read */
                    y0[i][j] = NAN;
                y[i] = copy_of(y0[i], rows * ldy[i]);
                w[i] = lw[i].prepared;
            }
            int done = b->ext.linear_same_x(b->ctx, n, w, rows, x, ldx, y, ldy);
            for (size_t i = 0; i < n; i++) {
                if (done)
                    expect_linear(ref, &lw[i], rows, x, ldx, 0.0f, y0[i], y[i], ldy[i], NULL);
                else
                    expect_same_bits(y[i], y0[i], rows * ldy[i], "declined: y untouched");
                free(y0[i]), free(y[i]);
            }
            expect_same_bits(x, x_orig, rows * ldx, "x (input)");
            free(x), free(x_orig);
            ran += (size_t)done;
        }
        for (size_t i = 0; i < n; i++)
            release_weight(bm, &lw[i]);
    }
    /* weights of different inputs are not products of one x: declined */
    lin_weight odd[2];
    for (size_t i = 0; i < 2; i++) {
        odd[i] = (lin_weight){.in = 64 + 32 * i, .out = 32, .layout = CE_TRANS,
                              .precision = precision, .rm = rm};
        prepare_weight(bm, r, &odd[i], 0, 0);
    }
    const void *ow[2] = {odd[0].prepared, odd[1].prepared};
    float *ox = filled(r, 17 * 96, 1.0f), *oy0 = filled(r, 17 * 32, 1.0f), *oy1 = filled(r, 17 * 32, 1.0f);
    float *oy[2] = {oy0, oy1};
    const size_t oldy[2] = {32, 32};
    ck_assert_msg(!b->ext.linear_same_x(b->ctx, 2, ow, 17, ox, 96, oy, oldy),
                  "%s: products of 64 and 96 inputs taken as one x", where);
    free(ox), free(oy0), free(oy1);
    for (size_t i = 0; i < 2; i++)
        release_weight(bm, &odd[i]);
    return ran;
}

static void check_bf16_backend(const char *name, int threads, const ce_backend *ref, rng *r)
{
    ce_backend_model *bm = NULL, *rm = NULL;
    ck_assert_msg(ce_backend_model_open_at(name, threads, CE_PRECISION_BF16, &bm) == CE_OK,
                  "%s: %s", where, ce_last_error());
    ck_assert(bm->prepares);
    ck_assert_int_eq(ce_backend_model_open_at("ref", 1, CE_PRECISION_BF16, &rm), CE_OK);
    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open(name, threads, bm, &b), CE_OK);
    static const size_t shapes[][2] = { /* in, out */
        {1, 1}, {3, 5}, {17, 33}, {64, 64}, {65, 16}, {130, 300}, {200, 47}, {768, 64},
        {96, 448}, {33, 1000}, /* a decoding loop's groups of 4 and 3 blocks, the last block cut */
        {1100, 20}, /* split by inputs at 2 threads up to 128 rows: 18 and 17 k blocks, cut */
    };
    /* AMX (onednn_amx.c): 16- and 32-row tiles and their tails; 300 rows are
     * four chunks (80, 80, 80, 60) split by rows at 2 threads, three of 128
     * by outputs at 1 */
    static const size_t row_counts[] = {1, 2, 3, 5, 7, 16, 33, 128, 300};
    double far_from_f32 = 0.0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int layout = 0; layout < 2; layout++)
            for (int act = 0; act < 6; act++) {
                lin_weight lw = {.in = shapes[s][0], .out = shapes[s][1],
                                 .layout = layout ? CE_TRANS : CE_NO_TRANS,
                                 .act = (ce_backend_activation)act,
                                 .precision = CE_PRECISION_BF16, .rm = rm};
                prepare_weight(bm, r, &lw, (act + s) % 2 != 0, (size_t)(act % 2) * 3);
                for (size_t k = 0; k < sizeof row_counts / sizeof *row_counts; k++)
                    run_linear(b, ref, r, &lw, row_counts[k], (k + (size_t)act) % 2 ? 1.0f : 0.0f,
                               k % 3, (k + 1) % 2, &far_from_f32);
                release_weight(bm, &lw);
            }
    /* bf16 keeps 8 significant bits: its products are off float32's by about 2^-9 */
    ck_assert_msg(far_from_f32 > 1e-4, "%s: the reference bf16 product is float32's (%g)", where,
                  far_from_f32);
    size_t same_x = check_same_x(b, bm, ref, r, CE_PRECISION_BF16, rm);
    /* onednn on an AMX CPU runs it: everything but one row, and 300 rows at 2
     * threads (split by rows, one product at a time) */
    if (b->ext.linear_same_x && amx_products_here(name))
        ck_assert_uint_eq(same_x, 3 * (threads == 1 ? 5 : 4));
    /* the FMA kernel: 2 to 128 rows (2, 17, 33, 128 of each group) */
    if (b->ext.linear_same_x && fma_products_here(name))
        ck_assert_uint_eq(same_x, 3 * 4);
    ce_backend_close(b);
    ce_backend_model_close(bm);
    ce_backend_model_close(rm);
}

START_TEST(test_bf16_parity)
{
    rng r = {0x2545F4914F6CDD1Dull};
    size_t checked = check_precision_backends(CE_PRECISION_BF16, check_bf16_backend, &r);
    if (ce_cpu_features() & (CE_CPU_AVX512_BF16 | CE_CPU_AMX_BF16)) {
        /* a bf16 CPU: oneDNN runs it where built, blis's own kernel with AVX512-BF16 */
        size_t want = (size_t)CE_HAVE_ONEDNN +
                      (size_t)(CE_HAVE_BLIS && (ce_cpu_features() & CE_CPU_AVX512_BF16));
        ck_assert_uint_eq(checked, want);
    } else {
        ck_assert_uint_eq(checked, 0); /* never emulated */
    }
}
END_TEST

/* The CPU backends' two ways with rows of bf16 without AMX, whichever this
 * CPU prefers (both read when a weight is prepared): float32 FMAs on the
 * widened weight (onednn's rows kernel, blis's packed one) and VDPBF16PS
 * (oneDNN's matmul, blis's own kernel). */
START_TEST(test_bf16_parity_no_amx)
{
#if CE_HAVE_ONEDNN || CE_HAVE_BLIS
    static const char *const names[] = {
#if CE_HAVE_ONEDNN
        "onednn",
#endif
#if CE_HAVE_BLIS
        "blis",
#endif
    };
    rng r = {0x9E3779B97F4A7C15ull};
    uint32_t need = CE_CPU_AVX512 | CE_CPU_AVX512_BF16;
    if ((ce_cpu_features() & need) != need) {
        fprintf(stderr, "bf16 without AMX: skipped, no AVX-512 and AVX512-BF16 here\n");
        return;
    }
    ce_backend *ref;
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
    setenv("CE_NO_AMX", "1", 1);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (int fma = 0; fma < 2; fma++) {
            setenv("CE_BF16_FMA", fma ? "1" : "0", 1);
            ck_assert_int_eq(ce_cpu_bf16_fma_faster(), fma);
            for (int threads = 1; threads <= 2; threads++) {
                snprintf(where, sizeof where, "%s (no AMX, %s)/%d threads/bf16 linear", names[i],
                         fma ? "float32 FMAs" : "VDPBF16PS", threads);
                n_failures = 0;
                detail[0] = '\0';
                check_bf16_backend(names[i], threads, ref, &r);
                check_failures();
            }
        }
    unsetenv("CE_BF16_FMA");
    unsetenv("CE_NO_AMX");
    ce_backend_close(ref);
#else
    fprintf(stderr, "bf16 without AMX: skipped, no CPU backend built\n");
#endif
}
END_TEST

/* A wide x (rows of 2100 inputs: a chunk of 128 rows is 1.05 MB), which
 * onednn's float32 kernel (and its bf16 weights on float32 FMAs) takes in
 * groups of 4 blocks of outputs, each chunk of inputs under the four in
 * turn: 300 outputs are a group of 4 and one of 1 (cut to 44), 2100 inputs
 * 17 chunks (the last cut). At 1 thread 127, 128 and 256 rows (two chunks
 * of 128) go in groups; at 2 threads 256 rows do (a chunk each), 127 and
 * 128 are split by inputs and do not. Every backend that prepares, at f32
 * and bf16, against the reference as check_linear. */
static void check_wide_x(const char *name, int threads, ce_precision p, const ce_backend *ref,
                         rng *r)
{
    ce_backend_model *bm = NULL, *rm = NULL;
    ck_assert_int_eq(ce_backend_model_open_at(name, threads, p, &bm), CE_OK);
    if (p != CE_PRECISION_F32)
        ck_assert_int_eq(ce_backend_model_open_at("ref", 1, p, &rm), CE_OK);
    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open(name, threads, bm, &b), CE_OK);
    static const size_t row_counts[] = {127, 128, 256};
    for (int act = 0; act < 2; act++) {
        lin_weight lw = {.in = 2100, .out = 300, .layout = act ? CE_NO_TRANS : CE_TRANS,
                         .act = act ? CE_BACKEND_ACT_GELU_ERF : CE_BACKEND_ACT_NONE,
                         .precision = p, .rm = rm};
        prepare_weight(bm, r, &lw, act == 0, 0);
        for (size_t k = 0; k < sizeof row_counts / sizeof *row_counts; k++)
            run_linear(b, ref, r, &lw, row_counts[k], (k + (size_t)act) % 2 ? 1.0f : 0.0f, k % 2,
                       1, NULL);
        release_weight(bm, &lw);
    }
    ce_backend_close(b);
    ce_backend_model_close(bm);
    ce_backend_model_close(rm);
}

START_TEST(test_wide_x)
{
    rng r = {0xBF58476D1CE4E5B9ull};
    ce_backend *ref;
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
    size_t checked = 0;
    static const ce_precision precisions[] = {CE_PRECISION_F32, CE_PRECISION_BF16};
    for (size_t i = 0; i < ce_backend_count(); i++) {
        const char *name = ce_backend_name(i);
        ce_backend *probe;
        ck_assert_int_eq(ce_backend_open(name, 1, NULL, &probe), CE_OK);
        uint32_t have = ce_backend_prepared_precisions(&probe->ops);
        ce_backend_close(probe);
        for (size_t q = 0; q < 2; q++)
            for (int threads = 1; (have & CE_PRECISION_BIT(precisions[q])) && threads <= 2;
                 threads++, checked++) {
                snprintf(where, sizeof where, "%s/%d threads/%s wide x", name, threads,
                         ce_precision_name(precisions[q]));
                n_failures = 0;
                detail[0] = '\0';
                check_wide_x(name, threads, precisions[q], ref, &r);
                check_failures();
            }
    }
    ck_assert_uint_ge(checked, 2);
    ce_backend_close(ref);
}
END_TEST

/* The float32 side of linear_same_x: onednn on an AVX-512 CPU runs groups
 * of 2 to 128 rows in one region (its own kernel, onednn_rows_f32.c) and
 * declines 1 and 300 rows; its outputs are the single products' within
 * float32's tolerance. */
START_TEST(test_same_x_f32)
{
    rng r = {0x9E3779B97F4A7C15ull};
    size_t checked = 0;
    for (size_t i = 0; i < ce_backend_count(); i++) {
        const char *name = ce_backend_name(i);
        for (int threads = 1; threads <= 2; threads++) {
            ce_backend_model *bm = NULL;
            if (ce_backend_model_open_at(name, threads, CE_PRECISION_F32, &bm) != CE_OK ||
                !bm->prepares) {
                ce_backend_model_close(bm);
                break;
            }
            ce_backend *b = NULL, *ref = NULL;
            ck_assert_int_eq(ce_backend_open(name, threads, bm, &b), CE_OK);
            ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
            snprintf(where, sizeof where, "%s f32 same x/%d threads", name, threads);
            n_failures = 0;
            detail[0] = '\0';
            /* at f32 the expected product is the reference's gemm: no model of its own */
            size_t ran = check_same_x(b, bm, ref, &r, CE_PRECISION_F32, NULL);
            check_failures();
            if (!strcmp(name, "onednn") && (ce_cpu_features() & CE_CPU_AVX512))
                ck_assert_uint_eq(ran, 3 * 4);
            checked++;
            ce_backend_close(ref);
            ce_backend_close(b);
            ce_backend_model_close(bm);
        }
    }
    ck_assert_uint_ge(checked, 1);
}
END_TEST

/* ---- the reference against PyTorch (float64) ---- */

static void expect_near(const float *got, const double *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "[%zu] = %.9g, want %.9g", i, got[i], want[i]);
}

START_TEST(test_ref_golden_elementwise)
{
    const ce_backend_ops *ref = ce_backend_ref_ops();
    static const float x[] = {-3.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 3.0f};
    static const double gelu[] = {-0.00404969409489031, -0.15865525393145702, -0.15426876936299344,
                                  0.0, 0.34573123063700656, 0.841344746068543, 2.99595030590511};
    static const double gelu_tanh[] = {-0.0036373920817729943, -0.15880800939172324,
                                       -0.15428599017485606, 0.0, 0.34571400982514394,
                                       0.8411919906082768, 2.996362607918227};
    static const double sigmoid[] = {0.04742587317756678, 0.2689414213699951, 0.3775406687981454,
                                     0.5, 0.6224593312018546, 0.7310585786300049,
                                     0.9525741268224334};
    static const double tanh_[] = {-0.9950547536867305, -0.7615941559557649, -0.46211715726000974,
                                   0.0, 0.46211715726000974, 0.7615941559557649,
                                   0.9950547536867305};
    static const double relu[] = {0, 0, 0, 0, 0.5, 1, 3};
    float y[7];
    memcpy(y, x, sizeof x), ref->gelu_erf(NULL, 7, y), expect_near(y, gelu, 7, 1e-6);
    memcpy(y, x, sizeof x), ref->gelu_tanh(NULL, 7, y), expect_near(y, gelu_tanh, 7, 1e-6);
    memcpy(y, x, sizeof x), ref->sigmoid(NULL, 7, y), expect_near(y, sigmoid, 7, 1e-7);
    memcpy(y, x, sizeof x), ref->tanh(NULL, 7, y), expect_near(y, tanh_, 7, 1e-7);
    memcpy(y, x, sizeof x), ref->relu(NULL, 7, y), expect_near(y, relu, 7, 0.0);
    static const double scaled[] = {1.5, 0.5, 0.25, 0, -0.25, -0.5, -1.5};
    memcpy(y, x, sizeof x), ref->scale(NULL, 7, -0.5f, y), expect_near(y, scaled, 7, 0.0);
    static const double doubled[] = {-6, -2, -1, 0, 1, 2, 6};
    ref->add(NULL, 7, x, x, y), expect_near(y, doubled, 7, 0.0);
}
END_TEST

START_TEST(test_ref_golden_gemm)
{
    const ce_backend_ops *ref = ce_backend_ref_ops();
    /* A = [[1,2,3],[4,5,6]], B = [[1,0],[-1,2],[0.5,1]]: A B = [[0.5,7],[2,16]] */
    static const float a[] = {1, 2, 3, 4, 5, 6};
    static const float at[] = {1, 4, 2, 5, 3, 6};
    static const float b[] = {1, 0, -1, 2, 0.5f, 1};
    static const float bt[] = {1, -1, 0.5f, 0, 2, 1};
    static const float bias[] = {10, 20};
    static const double ab[] = {0.5, 7, 2, 16};
    /* 2 A B + 0.5 C + bias with C = [[1,1],[2,2]] */
    static const double full[] = {11.5, 34.5, 15, 53};
    float c[4];
    ref->gemm(NULL, CE_NO_TRANS, CE_NO_TRANS, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2, NULL);
    expect_near(c, ab, 4, 0);
    ref->gemm(NULL, CE_TRANS, CE_NO_TRANS, 2, 2, 3, 1, at, 2, b, 2, 0, c, 2, NULL);
    expect_near(c, ab, 4, 0);
    ref->gemm(NULL, CE_NO_TRANS, CE_TRANS, 2, 2, 3, 1, a, 3, bt, 3, 0, c, 2, NULL);
    expect_near(c, ab, 4, 0);
    float cc[] = {1, 1, 2, 2};
    ref->gemm(NULL, CE_TRANS, CE_TRANS, 2, 2, 3, 2, at, 2, bt, 3, 0.5f, cc, 2, bias);
    expect_near(cc, full, 4, 0);
}
END_TEST

START_TEST(test_ref_golden_rows)
{
    const ce_backend_ops *ref = ce_backend_ref_ops();
    float x[] = {1, 2, 3, 4};
    static const float gamma[] = {1, 2, 0.5f, -1}, beta[] = {0, 0.1f, 0.2f, 0.3f};
    static const double ln[] = {-1.341635419968927, -0.7944236133126182, 0.42360590332815445,
                                -1.0416354199689268};
    ref->layer_norm(NULL, 1, 4, x, 4, gamma, beta, 1e-5f, x, 4);
    expect_near(x, ln, 4, 1e-6);

    /* rows: plain; causal (row 1 sees 2 columns); n_valid 0 */
    float s[] = {1, 2, 3, 1, 2, 3, 1, 2, 3};
    static const double sm[] = {0.09003057317038045, 0.2447284710547976, 0.6652409557748218};
    ref->softmax(NULL, 1, 3, s, 3, 1.0f, 3, 0, 0);
    expect_near(s, sm, 3, 1e-7);
    ref->softmax(NULL, 1, 3, s + 3, 3, 1.0f, 3, 1, 1);
    static const double causal[] = {0.2689414213699951, 0.7310585786300049, 0};
    expect_near(s + 3, causal, 3, 1e-7);
    ref->softmax(NULL, 1, 3, s + 6, 3, 1.0f, 0, 0, 0);
    static const double zeros[] = {0, 0, 0};
    expect_near(s + 6, zeros, 3, 0);

    /* gates i, f, g, o for 2 cells, forget bias 1 */
    static const float gates[] = {0.5f, -1.0f, 2.0f, 0.3f, -0.7f, 1.5f, 0.1f, -2.0f};
    float c[] = {0.4f, -3.0f}, h[2];
    ref->lstm_cell(NULL, 1, 2, gates, 8, 1.0f, 0.0f, c, 2, h, 2);
    static const double cw[] = {0.004835288384672287, -2.114073091241856};
    static const double hw[] = {0.002538405984786828, -0.11577705655647094};
    expect_near(c, cw, 2, 1e-6), expect_near(h, hw, 2, 1e-6);
    float c2[] = {0.4f, -3.0f};
    ref->lstm_cell(NULL, 1, 2, gates, 8, 1.0f, 2.0f, c2, 2, h, 2);
    static const double cclip[] = {0.004835288384672287, -2.0};
    static const double hclip[] = {0.002538405984786828, -0.11491490445494829};
    expect_near(c2, cclip, 2, 1e-6), expect_near(h, hclip, 2, 1e-6);
}
END_TEST

/* ---- the blis backend's approximations on dense grids ---- */

#if CE_HAVE_BLIS
START_TEST(test_blis_exp_grid)
{
    size_t n = 0, cap = 2000000;
    float *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y);
    ck_assert(x && y);
    for (double v = -87.33; v <= 88.37 && n < cap; v += 1.0 / 8192)
        x[n++] = (float)v;
    ce_blis_vexp(n, x, y);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double want = exp((double)x[i]);
        double err = fabs(y[i] - want) / want;
        ck_assert_msg(err <= 1e-6, "exp(%.9g) = %.9g, want %.9g", x[i], y[i], want);
        worst = fmax(worst, err);
    }
    fprintf(stderr, "exp: %zu points, worst relative error %.3g\n", n, worst);
    static const float out[] = {-100.0f, -1e30f, -INFINITY, 100.0f, 1e30f, INFINITY};
    ce_blis_vexp(6, out, y);
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq(y[i], 0.0f);
    for (int i = 3; i < 6; i++)
        ck_assert(isinf(y[i]) && y[i] > 0);
    float nan_in = NAN;
    ce_blis_vexp(1, &nan_in, y);
    ck_assert(isnan(y[0]));
    free(x), free(y);
}
END_TEST

START_TEST(test_blis_erf_grid)
{
    size_t n;
    float *x = grid(&n), *y = malloc(n * sizeof *y);
    ck_assert_ptr_nonnull(y);
    ce_blis_verf(n, x, y);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double want = erf((double)x[i]);
        double err = fabs(y[i] - want);
        ck_assert_msg(err <= 1e-6, "erf(%.9g) = %.9g, want %.9g", x[i], y[i], want);
        ck_assert_msg(fabs(y[i] - erff(x[i])) <= 1e-6, "erf(%.9g) vs erff", x[i]);
        worst = fmax(worst, err);
    }
    fprintf(stderr, "erf: %zu points, worst absolute error %.3g\n", n, worst);
    free(x), free(y);
}
END_TEST
#endif

/* ---- the AVX-512 GELUs of the AMX kernel's epilogue on dense grids ---- */

#if defined(__x86_64__) && defined(__GNUC__)
#include "backends/cpu/vec_math_avx512.h"
#define HAVE_VM16 1

__attribute__((target("avx512f"))) static void gelu16(int tanh_form, size_t n, const float *x,
                                                    float *y)
{
    for (size_t i = 0; i < n; i += 16) {
        size_t k = n - i < 16 ? n - i : 16;
        __mmask16 m = (__mmask16)((1u << k) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(y + i, m, tanh_form ? ce_vm16_gelu_tanh(v) : ce_vm16_gelu_erf(v));
    }
}

/* In double, without cancellation on either side. */
static double gelu_f64(int tanh_form, double x)
{
    if (tanh_form)
        return x / (1.0 + exp(-2.0 * sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * erfc(-x / sqrt(2.0));
}

START_TEST(test_avx512_gelu_grid)
{
    if (!(ce_cpu_features() & CE_CPU_AVX512)) {
        fprintf(stderr, "avx512 gelu: skipped, this CPU has no AVX-512\n");
        return;
    }
    size_t n;
    float *x = grid(&n), *y = malloc((n + 1) * sizeof *y);
    ck_assert_ptr_nonnull(y);
    x[n - 4] = NAN; /* in place of +0 (-0 stays): NaN in, NaN out */
    for (int tanh_form = 0; tanh_form < 2; tanh_form++) {
        gelu16(tanh_form, n, x, y);
        double worst = 0.0;
        for (size_t i = 0; i < n; i++) {
            if (isnan(x[i])) {
                ck_assert_msg(isnan(y[i]), "gelu(NaN) = %g", y[i]);
                continue;
            }
            if (isinf(x[i])) { /* +inf is +inf; -inf, like the scalar forms, is not pinned */
                if (x[i] > 0)
                    ck_assert_msg(isinf(y[i]) && y[i] > 0, "gelu(inf) = %g", y[i]);
                continue;
            }
            double want = gelu_f64(tanh_form, x[i]), err = fabs(y[i] - want);
            ck_assert_msg(err <= 1e-6 * fmax(1.0, fabs(x[i])), "gelu_%s(%.9g) = %.9g, want %.9g",
                          tanh_form ? "tanh" : "erf", x[i], y[i], want);
            worst = fmax(worst, err / fmax(1.0, fabs(x[i])));
        }
        fprintf(stderr, "avx512 gelu_%s: %zu points, worst error %.3g of max(1, |x|)\n",
                tanh_form ? "tanh" : "erf", n, worst);
    }
    free(x), free(y);
}
END_TEST
#endif

static Suite *suite(void)
{
    Suite *s = suite_create("backend-parity");
    TCase *tc = tcase_create("parity");
    tcase_add_test(tc, test_gemm_parity);
    tcase_add_test(tc, test_layer_norm_parity);
    tcase_add_test(tc, test_softmax_parity);
    tcase_add_test(tc, test_unary_parity);
    tcase_add_test(tc, test_add_scale_parity);
    tcase_add_test(tc, test_lstm_parity);
    tcase_add_test(tc, test_attention_parity);
    tcase_add_test(tc, test_rows_mix_clip_parity);
    tcase_add_test(tc, test_int8_parity);
    tcase_add_test(tc, test_bf16_parity);
    tcase_add_test(tc, test_bf16_parity_no_amx);
    tcase_add_test(tc, test_accumulate_large_y);
    tcase_add_test(tc, test_same_x_f32);
    tcase_add_test(tc, test_wide_x);
    /* last: it registers a backend of its own (which matters with CK_FORK=no) */
    tcase_add_test(tc, test_linear_parity);
    suite_add_tcase(s, tc);
    TCase *golden = tcase_create("reference");
    tcase_add_test(golden, test_ref_golden_elementwise);
#ifdef HAVE_VM16
    tcase_add_test(golden, test_avx512_gelu_grid);
#endif
    tcase_add_test(golden, test_ref_golden_gemm);
    tcase_add_test(golden, test_ref_golden_rows);
#if CE_HAVE_BLIS
    tcase_add_test(golden, test_blis_exp_grid);
    tcase_add_test(golden, test_blis_erf_grid);
#endif
    suite_add_tcase(s, golden);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
