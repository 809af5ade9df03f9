/* Every kernel slot of every registered backend against the reference
 * backend, on 1 and 2 threads; the reference itself against golden values
 * from PyTorch (float64); the blis backend's exp/erf approximations on dense
 * grids against libm in double.
 *
 * Tolerances (|got - want| <= ...):
 *   gemm        1e-5 * (|alpha| sum_p |a_ip b_pj| + |beta c_ij| + |bias_j|)
 *               (relative to the magnitudes summed: a plain relative test
 *               would fail on legitimate cancellation)
 *   layer_norm  1e-5 * (1 + |want|)
 *   softmax     1e-6 + 1e-5 * want; masked entries exactly 0
 *   gelu_erf, gelu_tanh   1e-6 * max(1, |x|)
 *   sigmoid, tanh         1e-6 * |want| + 1e-37
 *   lstm_cell   2e-6 * (1 + |want|)
 *   add, scale, relu      exact
 *   exp (blis)  relative 1e-6 on [-87.33, 88.37]; erf (blis) absolute 1e-6
 * Padding between a row's end and its stride must never be written. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ce_config.h"
#include "backends/backend_internal.h"
#if CE_HAVE_BLIS
#include "backends/blis/blis_backend.h"
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
    suite_add_tcase(s, tc);
    TCase *golden = tcase_create("reference");
    tcase_add_test(golden, test_ref_golden_elementwise);
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
