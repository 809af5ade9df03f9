/* Reduced precision (CE_OPT_PRECISION): the option, what is refused and how,
 * and int8's accuracy contract on the trained models of models/.
 *
 * Accuracy contract, int8 against f32 on the same backend:
 *   gpt2-mini-en, every held-out text (heldout.txt, 40,365 scored tokens):
 *     perplexity within 2 %, next-token argmax agreeing on >= 97 % of them;
 *   bert-mini-en (the first 24 held-out texts, cut to 128 tokens) and
 *   elmo-mini-en (the first 24, as words): every token's vector at every
 *     layer has cosine similarity >= 0.99 with f32's.
 * The reference backend's int8 product (the ground truth the fast kernels
 * follow) gives GPT-2 the same logits as blis's within 1e-3 relative.
 * Bad input: an unknown precision string; a backend that cannot prepare int8,
 * named (a clear error) or left to "auto" (skipped, with a warning); a
 * session asking for another precision or another backend than its model's.
 *
 * The models are the repository's own (models/); without them it skips. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "backends/backend_internal.h"
#include "contextembed/contextembed.h"
#include "io/weights.h"
#include "test-heldout.h"
#include "test-util.h"


/* ---- the option ---- */

START_TEST(test_option)
{
    ce_options *o;
    const char *v = NULL;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_get_string(o, CE_OPT_PRECISION, &v), CE_OK);
    ck_assert_str_eq(v, "f32");
    static const char *const good[] = {"f32", "bf16", "int8"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_PRECISION, good[i]), CE_OK);
        ck_assert_int_eq(ce_options_get_string(o, CE_OPT_PRECISION, &v), CE_OK);
        ck_assert_str_eq(v, good[i]);
        ck_assert_str_eq(ce_precision_name((ce_precision)i), good[i]);
    }
    static const char *const bad[] = {"fp16", "INT8", "", "int4", "f32 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_PRECISION, bad[i]),
                         CE_ERR_INVALID_ARGUMENT);
        if (bad[i][0])
            ck_assert_msg(strstr(ce_last_error(), "f32, bf16, int8") != NULL, "%s",
                          ce_last_error());
    }
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_PRECISION, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_get_string(o, CE_OPT_PRECISION, &v), CE_OK);
    ck_assert_str_eq(v, "int8"); /* the last good value stays */
    int64_t lo, hi;
    ck_assert_int_eq(ce_option_bounds(CE_OPT_PRECISION, &lo, &hi), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_PRECISION, 1), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ce_precision_name((ce_precision)7));
    ce_options_free(o);
}
END_TEST

START_TEST(test_cpu_features)
{
    uint32_t f = ce_cpu_features();
    ck_assert_uint_eq(f, ce_cpu_features());
    ck_assert_uint_eq(f & ~0x3fu, 0);
    if (f & (CE_CPU_AVX512_BF16 | CE_CPU_AVX512))
        ck_assert(f & CE_CPU_AVX2 || !(f & CE_CPU_AVX512));
    fprintf(stderr, "cpu: avx2 %d avx512 %d avx512_bf16 %d amx_bf16 %d vnni %d amx_int8 %d\n",
            !!(f & CE_CPU_AVX2), !!(f & CE_CPU_AVX512), !!(f & CE_CPU_AVX512_BF16),
            !!(f & CE_CPU_AMX_BF16), !!(f & CE_CPU_VNNI), !!(f & CE_CPU_AMX_INT8));
}
END_TEST

/* ---- what is refused ---- */

/* A host backend that prepares f32 weights (packed [out, in]) and counts. */
typedef struct host_weight {
    size_t in, out;
    ce_backend_activation act;
    float *w, *bias;
} host_weight;

static int host_prepares;

static ce_status host_create(int n_threads, void **ctx)
{
    (void)n_threads;
    *ctx = NULL;
    return CE_OK;
}

static void host_destroy(void *ctx)
{
    (void)ctx;
}

static ce_status host_prepare(void *model_state, const ce_linear_desc *d, void **prepared)
{
    (void)model_state;
    host_weight *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->in = d->in, p->out = d->out, p->act = d->act;
    p->w = malloc(d->in * d->out * sizeof *p->w);
    p->bias = calloc(d->out, sizeof *p->bias);
    ck_assert(p->w && p->bias);
    for (size_t j = 0; j < d->out; j++) {
        for (size_t q = 0; q < d->in; q++)
            p->w[j * d->in + q] = d->layout == CE_TRANS ? d->weight[j * d->ld + q]
                                                        : d->weight[q * d->ld + j];
        if (d->bias)
            p->bias[j] = d->bias[j];
    }
    host_prepares++;
    *prepared = p;
    return CE_OK;
}

/* Says it takes int8 but refuses every weight: the CPU lacks something. */
static ce_status host_prepare_refuses(void *model_state, const ce_linear_desc *d, void **prepared)
{
    (void)model_state, (void)prepared;
    ck_assert_int_eq(d->precision, CE_PRECISION_INT8);
    ck_assert_uint_gt(d->struct_size, offsetof(ce_linear_desc, precision));
    return CE_ERR_UNSUPPORTED;
}

/* Takes int8, prepares two weights (the library frees their float32 copies
 * after each) and runs out of memory from the third on. */
static int prepares_before_failing;

static ce_status host_prepare_fails_third(void *model_state, const ce_linear_desc *d,
                                          void **prepared)
{
    if (++prepares_before_failing >= 3)
        return CE_ERR_OUT_OF_MEMORY;
    return host_prepare(model_state, d, prepared);
}

static void host_release(void *model_state, void *prepared)
{
    (void)model_state;
    host_weight *p = prepared;
    free(p->w), free(p->bias), free(p);
}

static void host_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy)
{
    const host_weight *p = prepared;
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < p->out; j++) {
            float s = p->bias[j] + (beta != 0.0f ? y[i * ldy + j] : 0.0f);
            for (size_t q = 0; q < p->in; q++)
                s += x[i * ldx + q] * p->w[j * p->in + q];
            y[i * ldy + j] = s;
        }
        const ce_backend_ops *ref = ce_backend_ref_ops();
        switch (p->act) {
        case CE_BACKEND_ACT_NONE: break;
        case CE_BACKEND_ACT_GELU_ERF: ref->gelu_erf(ctx, p->out, y + i * ldy); break;
        case CE_BACKEND_ACT_GELU_TANH: ref->gelu_tanh(ctx, p->out, y + i * ldy); break;
        case CE_BACKEND_ACT_RELU: ref->relu(ctx, p->out, y + i * ldy); break;
        case CE_BACKEND_ACT_SIGMOID: ref->sigmoid(ctx, p->out, y + i * ldy); break;
        case CE_BACKEND_ACT_TANH: ref->tanh(ctx, p->out, y + i * ldy); break;
        }
    }
}

static ce_backend_ops host_table(const char *name, int priority)
{
    ce_backend_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = CE_BACKEND_ABI_VERSION;
    ops.struct_size = sizeof ops;
    ops.name = name;
    ops.priority = priority;
    ops.create = host_create;
    ops.destroy = host_destroy;
    ops.linear_prepare = host_prepare;
    ops.linear_release = host_release;
    ops.linear = host_linear;
    return ops;
}

static char warnings[4096];

static void keep_warning(void *user, ce_log_level level, const char *message)
{
    (void)user;
    if (level >= CE_LOG_WARNING) {
        size_t n = strlen(warnings);
        snprintf(warnings + n, sizeof warnings - n, "%s\n", message);
    }
}

START_TEST(test_backend_without_int8)
{
    /* Built before `precisions` existed (a version-2 table of the old size),
     * and a new one that leaves it 0: both prepare f32 only. Priority above
     * every built-in, so "auto" tries them first. */
    ce_backend_ops old = host_table("host-v2-old", 1000);
    old.struct_size = (uint32_t)offsetof(ce_backend_ops, precisions);
    old.precisions = CE_PRECISION_BIT(CE_PRECISION_INT8); /* beyond its struct_size: not read */
    ck_assert_int_eq(ce_backend_register(&old), CE_OK);
    ce_backend_ops zero = host_table("host-f32", 999);
    ck_assert_int_eq(ce_backend_register(&zero), CE_OK);
    ce_backend_ops refuses = host_table("host-refuses", -5);
    refuses.linear_prepare = host_prepare_refuses;
    refuses.precisions = CE_PRECISION_BIT(CE_PRECISION_F32) | CE_PRECISION_BIT(CE_PRECISION_INT8);
    ck_assert_int_eq(ce_backend_register(&refuses), CE_OK);

    const char *dir = ce_test_model_dir("gpt2-mini-en");
    ce_model *m = NULL;
    static const char *const named[] = {"host-v2-old", "host-f32"};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(ce_test_open_at(dir, named[i], "int8", &m), CE_ERR_UNSUPPORTED);
        ck_assert_ptr_null(m);
        char want[96];
        snprintf(want, sizeof want, "backend \"%s\" cannot run precision \"int8\"", named[i]);
        ck_assert_msg(strstr(ce_last_error(), want) && strstr(ce_last_error(), "runs: f32"),
                      "%s", ce_last_error());
    }
    ck_assert_int_eq(host_prepares, 0); /* refused before anything is prepared */
    ck_assert_int_eq(ce_test_open_at(dir, "host-refuses", "int8", &m), CE_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(ce_last_error(), "backend \"host-refuses\": cannot prepare tensor"), "%s",
                  ce_last_error());
    if (ce_test_has_backend("onednn")) {
        ck_assert_int_eq(ce_test_open_at(dir, "onednn", "int8", &m), CE_ERR_UNSUPPORTED);
        ck_assert_msg(strstr(ce_last_error(), "backend \"onednn\" cannot run precision \"int8\""),
                      "%s", ce_last_error());
    }

    /* f32 still works with them */
    m = ce_test_must_open(dir, "host-v2-old", NULL);
    ck_assert_int_gt(host_prepares, 0);
    ce_model_free(m);

    /* "auto" skips them, saying so, and never runs int8 as f32 */
    warnings[0] = '\0';
    ce_set_log_callback(keep_warning, NULL, CE_LOG_WARNING);
    m = ce_test_must_open(dir, NULL, "int8");
    ce_set_log_callback(NULL, NULL, CE_LOG_WARNING);
    ce_session *s = ce_test_must_session(m);
    const char *used = ce_session_backend(s);
    ck_assert_msg(strcmp(used, "host-v2-old") && strcmp(used, "host-f32"), "%s", used);
    ck_assert_msg(strstr(warnings, "host-v2-old") && strstr(warnings, "host-f32"), "%s", warnings);
    int64_t p;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_PRECISION, &p), CE_OK);
    ck_assert_int_eq(p, CE_PRECISION_INT8);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* "auto" below f32 after a backend that failed part way: the weights it
 * prepared had their float32 copies freed; the next backend converts them
 * from the file again and computes what it computes when named. */
START_TEST(test_auto_after_failed_prepare)
{
    ce_backend_ops fails = host_table("host-int8-fails-third", 2000);
    fails.linear_prepare = host_prepare_fails_third;
    fails.precisions = CE_PRECISION_BIT(CE_PRECISION_F32) | CE_PRECISION_BIT(CE_PRECISION_INT8);
    ck_assert_int_eq(ce_backend_register(&fails), CE_OK);
    const char *dir = ce_test_model_dir("gpt2-mini-en");
    warnings[0] = '\0';
    ce_set_log_callback(keep_warning, NULL, CE_LOG_WARNING);
    ce_model *m = ce_test_must_open(dir, NULL, "int8");
    ce_set_log_callback(NULL, NULL, CE_LOG_WARNING);
    ck_assert_int_eq(prepares_before_failing, 3);
    ck_assert_msg(strstr(warnings, "host-int8-fails-third"), "%s", warnings);
    ce_session *s = ce_test_must_session(m);
    const char *used = ce_session_backend(s);
    ck_assert_str_ne(used, "host-int8-fails-third");
    ce_model *named = ce_test_must_open(dir, used, "int8");
    ce_session *t = ce_test_must_session(named);
    int32_t *ids;
    size_t n;
    ce_test_encode_heldout(m, 0, &ids, &n);
    n = n < 32 ? n : 32;
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &v), CE_OK);
    size_t cap = n * (size_t)v;
    float *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
    ck_assert(a && b);
    ce_test_all_logits(s, ids, n, a, cap);
    ce_test_all_logits(t, ids, n, b, cap);
    ck_assert_msg(memcmp(a, b, cap * sizeof *a) == 0, "%s after the failed backend differs", used);
    free(a), free(b), free(ids);
    ce_session_free(s), ce_session_free(t);
    ce_model_free(m), ce_model_free(named);
}
END_TEST

START_TEST(test_session_rules)
{
    ce_model *m = ce_test_must_open(ce_test_model_dir("bert-mini-en"), NULL, "int8");
    const char *model_backend = m->settings.backend;
    ce_options *o;
    ce_session *s = NULL;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_PRECISION, "f32"), CE_OK);
    ck_assert_int_eq(ce_session_create(m, o, &s), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(ce_last_error(), "opened at \"int8\""), "%s", ce_last_error());
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_PRECISION, "int8"), CE_OK);
    ck_assert_int_eq(ce_session_create(m, o, &s), CE_OK); /* the model's own: fine */
    ce_session_free(s);
    s = NULL;
    ce_options_free(o);
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    const char *other = strcmp(model_backend, "ref") ? "ref" : "blis";
    if (ce_test_has_backend(other)) {
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, other), CE_OK);
        ck_assert_int_eq(ce_session_create(m, o, &s), CE_ERR_UNSUPPORTED);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(ce_last_error(), "precision \"int8\""), "%s", ce_last_error());
    }
    ce_options_free(o);
    ce_model_free(m);

    /* f32 models keep allowing sessions on another backend (raw weights) */
    m = ce_test_must_open(ce_test_model_dir("bert-mini-en"), NULL, NULL);
    int64_t p = -1;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_PRECISION, &p), CE_OK);
    ck_assert_int_eq(p, CE_PRECISION_F32);
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, "ref"), CE_OK);
    ck_assert_int_eq(ce_session_create(m, o, &s), CE_OK);
    ce_session_free(s);
    ce_options_free(o);
    ce_model_free(m);
}
END_TEST

/* The float32 conversions of an F16 file's weights are freed once the int8
 * copies exist, except a tied head's (the embedding table reads it); each
 * linear weight is converted only as it is prepared, so that at most one of
 * their float32 copies exists at a time (at f32 they are all converted when
 * the model is bound). */
START_TEST(test_int8_memory)
{
    ce_model *f = ce_test_must_open(ce_test_model_dir("gpt2-mini-en"), NULL, NULL);
    ce_model *q = ce_test_must_open(ce_test_model_dir("gpt2-mini-en"), NULL, "int8");
    size_t conv_f32 = ce_weights_bytes_converted(f->weights);
    size_t conv_int8 = ce_weights_bytes_converted(q->weights);
    ce_lin_list *lins = q->arch->linears(q->arch_data);
    size_t freed = 0, shared = 0, largest = 0;
    for (size_t i = 0; i < lins->n; i++) {
        const ce_lin *l = lins->items[i];
        ck_assert_ptr_nonnull(l->prepared);
        if (l->w_shared) {
            ck_assert_ptr_nonnull(l->w);
            shared++;
        } else {
            ck_assert_msg(l->w == NULL, "%s kept its float32 copy", l->name);
            ck_assert_msg(l->src != NULL, "%s was converted before it was prepared", l->name);
            freed += l->in * l->out * sizeof(float);
            largest = l->in * l->out * sizeof(float) > largest ? l->in * l->out * sizeof(float)
                                                               : largest;
        }
    }
    ck_assert_uint_eq(shared, 1); /* the tied LM head */
    ck_assert_uint_eq(conv_int8 + freed, conv_f32);
    ck_assert_uint_eq(ce_weights_bytes_converted_peak(f->weights), conv_f32);
    ck_assert_uint_eq(ce_weights_bytes_converted_peak(q->weights), conv_int8 + largest);
    fprintf(stderr, "gpt2-mini-en: float32 conversions %zu bytes at f32, %zu at int8\n",
            conv_f32, conv_int8);
    ce_model_free(f);
    ce_model_free(q);
}
END_TEST

/* ---- accuracy ---- */

/* The reference's int8 logits against the fast backend's on a few texts:
 * largest |a - b| / max |a| of a row. */
static double ref_vs_fast(const ce_model *fast, size_t n_texts)
{
    ce_model *r = ce_test_must_open(ce_test_model_dir("gpt2-mini-en"), "ref", "int8");
    ce_session *sq = ce_test_must_session(fast), *sr = ce_test_must_session(r);
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(r, CE_INFO_VOCAB_SIZE, &v), CE_OK);
    size_t vocab = (size_t)v, cap = 256 * vocab;
    float *lq = malloc(cap * sizeof *lq), *lr = malloc(cap * sizeof *lr);
    ck_assert(lq && lr);
    double max_rel = 0.0;
    for (size_t t = 0; t < n_texts; t++) {
        int32_t *ids;
        size_t n;
        ce_test_encode_heldout(r, t, &ids, &n);
        ce_test_all_logits(sq, ids, n, lq, cap);
        ce_test_all_logits(sr, ids, n, lr, cap);
        for (size_t i = 0; i < n; i++) {
            double mx = 0.0, d = 0.0;
            for (size_t j = 0; j < vocab; j++) {
                mx = fmax(mx, fabs(lr[i * vocab + j]));
                d = fmax(d, fabs((double)lr[i * vocab + j] - lq[i * vocab + j]));
            }
            max_rel = fmax(max_rel, d / mx);
        }
        free(ids);
    }
    free(lq), free(lr);
    ce_session_free(sq), ce_session_free(sr);
    ce_model_free(r);
    return max_rel;
}

START_TEST(test_gpt2_int8_contract)
{
    ce_model *q = ce_test_must_open(ce_test_model_dir("gpt2-mini-en"), NULL, "int8");
    ce_model *f = ce_test_must_open(ce_test_model_dir("gpt2-mini-en"), q->settings.backend, NULL);
    ce_test_lm_stats st = ce_test_lm_compare(f, q, ce_test_read_heldout()->n);
    double max_rel = ref_vs_fast(q, 12); /* the reference's int8 is the same model */
    fprintf(stderr,
            "gpt2-mini-en held-out (%zu tokens, backend %s): perplexity f32 %.4f, int8 %.4f "
            "(%+.3f %%); argmax agreement %.2f %%; ref vs %s int8 logits: max rel. diff %.2e\n",
            st.scored, f->settings.backend, st.ppl_f, st.ppl_q, 100.0 * (st.ppl_q / st.ppl_f - 1.0),
            100.0 * st.agree, q->settings.backend, max_rel);
    ck_assert_uint_eq(st.scored, 40365);
    ck_assert_msg(fabs(st.ppl_q / st.ppl_f - 1.0) <= 0.02, "perplexity %.4f vs %.4f", st.ppl_q,
                  st.ppl_f);
    ck_assert_msg(st.agree >= 0.97, "argmax agreement %.4f", st.agree);
    ck_assert_msg(max_rel <= 1e-3, "ref vs fast int8: %.3g", max_rel);
    ce_model_free(f), ce_model_free(q);
}
END_TEST

#define COSINE_MIN 0.99
#define N_ENCODER_TEXTS 24

/* Every token's vector at every layer, int8 against f32: the smallest cosine. */
static double min_cosine(const char *name)
{
    ce_model *q = ce_test_must_open(ce_test_model_dir(name), NULL, "int8");
    ce_model *f = ce_test_must_open(ce_test_model_dir(name), q->settings.backend, NULL);
    double mean, worst = ce_test_min_cosine(f, q, N_ENCODER_TEXTS, &mean);
    fprintf(stderr, "%s (backend %s): cosine int8 vs f32 of every token vector at every layer "
                    "(%d texts): min %.5f, mean %.6f\n",
            name, f->settings.backend, N_ENCODER_TEXTS, worst, mean);
    ce_model_free(f), ce_model_free(q);
    return worst;
}

START_TEST(test_bert_int8_cosine)
{
    double c = min_cosine("bert-mini-en");
    ck_assert_msg(c >= COSINE_MIN, "min cosine %.5f", c);
}
END_TEST

START_TEST(test_elmo_int8_cosine)
{
    double c = min_cosine("elmo-mini-en");
    ck_assert_msg(c >= COSINE_MIN, "min cosine %.5f", c);
}
END_TEST

int main(void)
{
    if (!ce_test_models_present())
        return CE_TEST_SKIP;
    Suite *s = suite_create("precision");
    TCase *tc = tcase_create("precision");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_option);
    tcase_add_test(tc, test_cpu_features);
    tcase_add_test(tc, test_backend_without_int8);
    tcase_add_test(tc, test_session_rules);
    tcase_add_test(tc, test_auto_after_failed_prepare);
    tcase_add_test(tc, test_int8_memory);
    tcase_add_test(tc, test_gpt2_int8_contract);
    tcase_add_test(tc, test_bert_int8_cosine);
    tcase_add_test(tc, test_elmo_int8_cosine);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
