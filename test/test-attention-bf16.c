/* The onednn backend's attention for bf16 models: its AMX kernel
 * (onednn_amx_attention.c) and oneDNN's matmuls (onednn_attention.c).
 *
 * Expected values are computed here in double from the same roundings the
 * contract names: Q, K and V rounded to bf16, the masked softmax of the
 * scaled scores rounded to bf16, the sums exact. What may differ is the
 * order of float32 sums and float32's exp, which can move a probability to
 * the neighbouring bf16 value: the tolerance allows one such step (2^-7 of
 * the row's largest probability) on top of 1e-4. The float32 attention must
 * be measurably elsewhere (else the bf16 path did not run), and fewer than
 * 16 query rows, or a float32 model, must give the float32 kernel's result. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/backend_internal.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/ref/ref.h"
#include "ce_config.h"
#include "io/half.h"
#include "test-util.h"

typedef struct attn_case {
    size_t heads, hd, tq, tk;
    int causal;
    size_t q_offset;
    size_t pad;    /* added to every leading dimension */
    float scale_x; /* the scale is this times 1 / sqrt(hd) (0 for 1) */
} attn_case;

static const attn_case cases[] = {
    {12, 64, 128, 128, 0, 0, 0, 0},    /* BERT-base, 128 tokens */
    {12, 64, 128, 128, 1, 0, 5, 0},    /* a causal prompt */
    {4, 32, 40, 300, 1, 260, 3, 0},    /* 40 tokens appended after 260 */
    {2, 64, 16, 16, 0, 0, 1, 0},       /* the fewest rows that take bf16 */
    {3, 80, 33, 47, 1, 20, 0, 0},      /* 80 columns; q_offset inside the keys */
    {2, 16, 700, 3100, 1, 2400, 2, 0}, /* scores over 4 M values: two chunks of rows */
    {1, 64, 100, 130, 1, 30, 1, 0},    /* one head: its rows split between threads */
    {2, 128, 48, 64, 0, 0, 0, 0},      /* wide heads */
    /* the largest scaled score is then that of the smallest score */
    {2, 64, 40, 70, 0, 0, 1, -60.0f}, /* negative scale, scores far apart; 70 keys */
    {3, 32, 33, 45, 1, 5, 2, -0.5f},  /* the same, causal */
    {2, 32, 20, 50, 0, 0, 0, 1e-30f}, /* scores all but equal */
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(float amp)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return amp * ((float)(rng_state >> 40) / (float)(1u << 24) * 2.0f - 1.0f);
}

static float *filled(size_t n, float amp)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[i] = uniform(amp);
    return x;
}

static double bf(float x)
{
    return ce_bf16_to_f32(ce_bf16_from_f32(x));
}

/* Row i of head h by the contract's roundings; *pmax its largest probability. */
static void expect_row(const attn_case *a, const float *q, size_t ldq, const float *k, size_t ldk,
                       const float *v, size_t ldv, float scale, size_t h, size_t i, double *out,
                       double *pmax)
{
    size_t hd = a->hd, c0 = h * hd;
    size_t valid = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, i);
    double *s = malloc(a->tk * sizeof *s), m = -INFINITY, sum = 0.0;
    ck_assert_ptr_nonnull(s);
    for (size_t j = 0; j < valid; j++) {
        double dot = 0.0;
        for (size_t c = 0; c < hd; c++)
            dot += bf(q[i * ldq + c0 + c]) * bf(k[j * ldk + c0 + c]);
        s[j] = scale * dot;
        m = s[j] > m ? s[j] : m;
    }
    for (size_t j = 0; j < valid; j++)
        sum += exp(s[j] - m);
    *pmax = 0.0;
    for (size_t c = 0; c < hd; c++)
        out[c] = 0.0;
    for (size_t j = 0; j < valid; j++) {
        double p = bf((float)(exp(s[j] - m) / sum));
        *pmax = p > *pmax ? p : *pmax;
        for (size_t c = 0; c < hd; c++)
            out[c] += p * bf(v[j * ldv + c0 + c]);
    }
    free(s);
}

/* The case on @p b; returns the largest difference from the float32
 * reference attention (ref_out). */
static double run_case(const ce_backend *b, const ce_backend *ref, const attn_case *a, int bf16)
{
    size_t d = a->heads * a->hd, ldq = d + a->pad, ldk = d + 2 * a->pad, ldv = d + 3 * a->pad;
    size_t ldo = d + a->pad;
    float scale = (a->scale_x != 0.0f ? a->scale_x : 1.0f) / sqrtf((float)a->hd);
    float *q = filled(a->tq * ldq, 1.5f), *k = filled(a->tk * ldk, 1.5f);
    float *v = filled(a->tk * ldv, 1.0f), *o = filled(a->tq * ldo, 0.0f);
    float *want32 = filled(a->tq * ldo, 0.0f);
    for (size_t i = 0; i < a->tq * ldo; i++)
        o[i] = want32[i] = NAN; /* padding must stay NaN */
    b->ops.attention(b->ctx, a->heads, a->hd, a->tq, a->tk, q, ldq, k, ldk, v, ldv, scale,
                     a->causal, a->q_offset, o, ldo);
    ref->ops.attention(ref->ctx, a->heads, a->hd, a->tq, a->tk, q, ldq, k, ldk, v, ldv, scale,
                       a->causal, a->q_offset, want32, ldo);
    double *row = malloc(a->hd * sizeof *row), far = 0.0;
    ck_assert_ptr_nonnull(row);
    for (size_t i = 0; i < a->tq; i++) {
        for (size_t h = 0; h < a->heads; h++) {
            double pmax = 0.0;
            if (bf16)
                expect_row(a, q, ldq, k, ldk, v, ldv, scale, h, i, row, &pmax);
            for (size_t c = 0; c < a->hd; c++) {
                size_t at = i * ldo + h * a->hd + c;
                double want = bf16 ? row[c] : want32[at];
                double tol = bf16 ? 1e-4 + pmax / 128.0 : 1e-5;
                ck_assert_msg(fabs(o[at] - want) <= tol,
                              "heads=%zu hd=%zu tq=%zu tk=%zu causal=%d q_offset=%zu bf16=%d: "
                              "out[%zu][%zu] = %.7g, want %.7g (tol %.2g)",
                              a->heads, a->hd, a->tq, a->tk, a->causal, a->q_offset, bf16, i,
                              h * a->hd + c, o[at], want, tol);
                double dev = fabs(o[at] - want32[at]);
                far = dev > far ? dev : far;
            }
        }
        for (size_t c = d; c < ldo; c++)
            ck_assert_msg(isnan(o[i * ldo + c]), "padding written at row %zu", i);
    }
    free(row);
    free(q), free(k), free(v), free(o), free(want32);
    return far;
}

/* The bf16 attention runs where it was measured to pay: with AMX. */
static int bf16_onednn(void)
{
    return CE_HAVE_ONEDNN && ce_test_has_backend("onednn") && (ce_cpu_features() & CE_CPU_AMX_BF16);
}

/* Both bf16 kernels: the library's AMX one, then oneDNN's matmuls
 * (CE_NO_AMX, read when a session is made). */
START_TEST(test_bf16_attention)
{
    if (!bf16_onednn()) {
        printf("skipped: no onednn backend, or no AMX on this CPU\n");
        return;
    }
    for (int kernel = 0; kernel < 2; kernel++) {
        if (kernel)
            setenv("CE_NO_AMX", "1", 1);
        for (int threads = 1; threads <= 2; threads++) {
            ce_backend_model *bm = NULL;
            ce_backend *b = NULL, *ref = NULL;
            ck_assert_int_eq(ce_backend_model_open_at("onednn", threads, CE_PRECISION_BF16, &bm),
                             CE_OK);
            ck_assert_int_eq(ce_backend_open("onednn", threads, bm, &b), CE_OK);
            ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
            /* the softmax in both versions: AVX-512, then the plain rows (8 floats forced) */
            for (int width = 16; width >= 8; width -= 8) {
                int before = ce_cpu_attention_force_width(width);
                for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
                    double far = run_case(b, ref, &cases[c], 1);
                    /* bf16 inputs move the outputs by about 2^-9 of their size */
                    ck_assert_msg(far > 1e-4, "case %zu: the float32 result (%g): bf16 did not run",
                                  c, far);
                }
                ce_cpu_attention_force_width(before);
            }
            /* fewer rows than a block: the float32 kernel, as decoding */
            attn_case few = {12, 64, 15, 200, 1, 185, 1, 0}, one = {12, 64, 1, 77, 1, 76, 0, 0};
            run_case(b, ref, &few, 0);
            run_case(b, ref, &one, 0);
            ce_backend_close(b);
            ce_backend_model_close(bm);
            ce_backend_close(ref);
        }
    }
    unsetenv("CE_NO_AMX");
}
END_TEST

START_TEST(test_f32_model_attention)
{
    if (!CE_HAVE_ONEDNN || !ce_test_has_backend("onednn")) {
        printf("skipped: no onednn backend\n");
        return;
    }
    ce_backend_model *bm = NULL;
    ce_backend *b = NULL, *plain = NULL, *ref = NULL;
    ck_assert_int_eq(ce_backend_model_open_at("onednn", 2, CE_PRECISION_F32, &bm), CE_OK);
    ck_assert_int_eq(ce_backend_open("onednn", 2, bm, &b), CE_OK);
    ck_assert_int_eq(ce_backend_open("onednn", 2, NULL, &plain), CE_OK); /* no model at all */
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &ref), CE_OK);
    run_case(b, ref, &cases[0], 0);
    run_case(plain, ref, &cases[1], 0);
    ce_backend_close(b);
    ce_backend_close(plain);
    ce_backend_close(ref);
    ce_backend_model_close(bm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attention-bf16");
    TCase *tc = tcase_create("onednn");
    tcase_add_test(tc, test_bf16_attention);
    tcase_add_test(tc, test_f32_model_attention);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
