/* GPT-2 end to end: Hugging Face's tiny-random-gpt2 (refdata: derived logits and HF's own greedy
 * generation) and the PyTorch fixtures (test/gen/gen_gpt2.py): logits and hidden states within 1e-4
 * on every backend, incremental decoding equal to one full pass, rewind, copied sessions, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "contextembed/contextembed.h"
#include "io/weights.h"
#include "test-util.h"

static ce_session *open_session(const char *dir, const char *backend, ce_model **m)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, ce_test_run_threads), CE_OK);
    ck_assert_msg(ce_model_open(dir, o, m) == CE_OK, "%s: %s", dir, ce_last_error());
    ce_session *s;
    ck_assert_msg(ce_session_create(*m, o, &s) == CE_OK, "%s", ce_last_error());
    ce_options_free(o);
    return s;
}

static int32_t *tensor_i32(ce_weights *w, const char *name, size_t *n)
{
    const ce_tensor_info *t = ce_weights_find(w, name);
    ck_assert_msg(t != NULL, "missing %s", name);
    *n = t->nbytes / 4;
    int32_t *v = malloc(t->nbytes + 4);
    memcpy(v, t->data, t->nbytes);
    return v;
}

static const float *tensor_f32(ce_weights *w, const char *name, size_t *n)
{
    const ce_tensor_info *t = ce_weights_find(w, name);
    ck_assert_msg(t != NULL, "missing %s", name);
    const float *p;
    ck_assert_int_eq(ce_weights_get_f32(w, name, t->ndim, t->shape, &p), CE_OK);
    *n = t->nbytes / 4;
    return p;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i]));
    return m;
}

static float *logits_of(ce_session *s, size_t *count)
{
    ck_assert_int_eq(ce_session_logits(s, NULL, 0, count), CE_ERR_BUFFER_TOO_SMALL);
    float *out = malloc(*count * sizeof *out);
    ck_assert_int_eq(ce_session_logits(s, out, *count, count), CE_OK);
    return out;
}

static int32_t greedy(ce_session *s, size_t vocab)
{
    size_t n;
    float *l = logits_of(s, &n);
    ck_assert_uint_eq(n % vocab, 0);
    ce_sampler *smp;
    ce_sampler_create(1, &smp);
    ce_sampler_configure(smp, 0.0f, 0, 1.0f);
    int32_t id;
    ck_assert_int_eq(ce_sampler_sample(smp, l + n - vocab, vocab, &id), CE_OK); /* last row */
    ce_sampler_free(smp);
    free(l);
    return id;
}

START_TEST(test_tiny_random_gpt2)
{
    const char *ref = ce_test_refdata();
    if (!ref) {
        fprintf(stderr, "SKIP: tiny-random-gpt2 needs ../shared/refdata\n");
        return;
    }
    const char *backend = ce_test_run_backend(_i);
    if (!ce_test_has_backend(backend))
        return;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/models/tiny-random-gpt2", ref);
    snprintf(path, sizeof path, "%s/derived_numpy_forward_hello_i_believe_in.safetensors", dir);
    ce_weights *w;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    size_t n_ids, n_logits, n_hidden, n_greedy;
    int32_t *ids = tensor_i32(w, "input_ids", &n_ids);
    int32_t *want = tensor_i32(w, "greedy_continuation_ids", &n_greedy);
    const float *ref_logits = tensor_f32(w, "logits", &n_logits);
    const float *ref_hidden = tensor_f32(w, "last_hidden_state_after_ln_f", &n_hidden);
    ce_model *m;
    ce_session *s = open_session(dir, backend, &m);
    ck_assert_str_eq(ce_model_architecture(m), "gpt2");
    /* the whole prompt at once, logits of every position */
    ck_assert_int_eq(ce_session_append(s, ids, n_ids, CE_APPEND_ALL_LOGITS), CE_OK);
    ck_assert_uint_eq(ce_session_logits_rows(s), n_ids);
    size_t n;
    float *got = logits_of(s, &n);
    ck_assert_uint_eq(n, n_logits);
    double d = max_diff(got, ref_logits, n);
    ck_assert_msg(d <= 1e-4, "%s: logits differ by %g", backend, d);
    free(got);
    /* Hugging Face's greedy continuation: twelve tokens of " fe" */
    for (size_t i = 0; i < n_greedy; i++) {
        int32_t next = greedy(s, 1000);
        ck_assert_int_eq(next, want[i]);
        ck_assert_int_eq(next, 641);
        ck_assert_int_eq(ce_session_append(s, &next, 1, 0), CE_OK);
    }
    /* the same model as an embedding model: last layer = hidden state after ln_f */
    ck_assert_int_eq(ce_session_run(s, 1, &n_ids, ids, NULL), CE_OK);
    float *h = malloc(n_hidden * sizeof *h);
    ck_assert_int_eq(ce_session_output(s, 0, NULL, h, n_hidden, &n), CE_OK);
    ck_assert_uint_eq(n, n_hidden);
    d = max_diff(h, ref_hidden, n);
    ck_assert_msg(d <= 1e-4, "%s: hidden state differs by %g", backend, d);
    free(h);
    free(ids);
    free(want);
    ce_weights_close(w);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

static const char *const fixtures[] = {"gpt2-tiny", "gpt2-tiny-untied"};

static int fixture_dir(const char *name, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", ce_test_fixtures(), name);
    struct stat st;
    return stat(dir, &st) == 0;
}

/* Every case: full-pass logits and hidden states, incremental decoding, greedy continuation. */
static void check_fixture(const char *fixture, const char *backend)
{
    char dir[4096], path[4200];
    ck_assert_msg(fixture_dir(fixture, dir, sizeof dir), "fixture %s missing", fixture);
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    ce_weights *w;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    ce_model *m;
    ce_session *s = open_session(dir, backend, &m), *step;
    ck_assert_int_eq(ce_session_create(m, NULL, &step), CE_OK);
    int64_t vocab;
    ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &vocab);
    for (int c = 0;; c++) {
        char name[64];
        snprintf(name, sizeof name, "case%d.input_ids", c);
        if (!ce_weights_find(w, name))
            break;
        size_t n_ids, n_logits, n;
        int32_t *ids = tensor_i32(w, name, &n_ids);
        snprintf(name, sizeof name, "case%d.logits", c);
        const float *want = tensor_f32(w, name, &n_logits);
        ck_assert_int_eq(ce_session_rewind(s, 0), CE_OK);
        ck_assert_int_eq(ce_session_append(s, ids, n_ids, CE_APPEND_ALL_LOGITS), CE_OK);
        float *full = logits_of(s, &n);
        double d = max_diff(full, want, n_logits);
        ck_assert_msg(d <= 1e-4, "%s/%s case %d: logits differ by %g", fixture, backend, c, d);
        /* one token at a time gives the same logits, up to float rounding: a single
         * row may run another kernel than many (the sums in another order) */
        ck_assert_int_eq(ce_session_rewind(step, 0), CE_OK);
        for (size_t i = 0; i < n_ids; i++) {
            ck_assert_int_eq(ce_session_append(step, ids + i, 1, 0), CE_OK);
            float *one = logits_of(step, &n);
            const float *row = full + i * (size_t)vocab;
            d = max_diff(one, row, (size_t)vocab);
            double tol = 2e-6 * fmax(1.0, max_abs(row, (size_t)vocab));
            ck_assert_msg(d <= tol, "%s case %d position %zu: incremental differs by %g (> %g)",
                          fixture, c, i, d, tol);
            free(one);
        }
        free(full);
        free(ids);
    }
    ce_session_free(step);
    ce_session_free(s);
    ce_model_free(m);
    ce_weights_close(w);
}

START_TEST(test_fixture_logits)
{
    char dir[4096];
    const char *fixture = fixtures[_i / CE_TEST_N_RUNS], *backend = ce_test_run_backend(_i % CE_TEST_N_RUNS);
    if (!fixture_dir(fixture, dir, sizeof dir) || !ce_test_has_backend(backend)) {
        fprintf(stderr, "SKIP: %s / %s not available\n", fixture, backend);
        return;
    }
    check_fixture(fixture, backend);
}
END_TEST

/* Greedy continuations of the reference (which re-ran the whole sequence each step). */
START_TEST(test_fixture_greedy_rewind_copy)
{
    char dir[4096], path[4200];
    const char *fixture = fixtures[_i];
    if (!fixture_dir(fixture, dir, sizeof dir))
        return;
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    ce_weights *w;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    ce_model *m;
    ce_session *s = open_session(dir, "auto", &m), *copy;
    ck_assert_int_eq(ce_session_create(m, NULL, &copy), CE_OK);
    int64_t vocab;
    ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &vocab);
    size_t n_ids, n_greedy;
    int32_t *ids = tensor_i32(w, "case1.input_ids", &n_ids);
    int32_t *want = tensor_i32(w, "case1.greedy_ids", &n_greedy);
    ck_assert_int_eq(ce_session_append(s, ids, n_ids, 0), CE_OK);
    ck_assert_int_eq(ce_session_copy_state(copy, s), CE_OK);
    ck_assert_uint_eq(ce_session_context_length(copy), n_ids);
    int32_t got[64];
    for (size_t i = 0; i < n_greedy; i++) {
        got[i] = greedy(s, (size_t)vocab);
        ck_assert_int_eq(got[i], want[i]);
        ck_assert_int_eq(ce_session_append(s, &got[i], 1, 0), CE_OK);
    }
    /* the copy continues identically */
    for (size_t i = 0; i < n_greedy; i++) {
        ck_assert_int_eq(greedy(copy, (size_t)vocab), want[i]);
        ck_assert_int_eq(ce_session_append(copy, &want[i], 1, 0), CE_OK);
    }
    /* rewind to the prompt and re-append: the same continuation */
    ck_assert_int_eq(ce_session_rewind(s, n_ids + 3), CE_OK);
    ck_assert_int_eq(ce_session_logits(s, NULL, 0, &n_ids), CE_ERR_STATE);
    ck_assert_int_eq(ce_session_append(s, &want[3], 1, 0), CE_OK);
    ck_assert_int_eq(greedy(s, (size_t)vocab), want[4]);
    free(ids);
    free(want);
    ce_session_free(copy);
    ce_session_free(s);
    ce_model_free(m);
    ce_weights_close(w);
}
END_TEST

static const char config[] =
    "{\"model_type\": \"gpt2\", \"vocab_size\": 40, \"n_embd\": 16, \"n_layer\": 2, \"n_head\": 2,"
    " \"n_positions\": 8, \"n_inner\": null}";

START_TEST(test_decode_errors)
{
    ce_model *m, *bert;
    ck_assert_int_eq(ce_model_open_random(config, sizeof config - 1, 7, NULL, &m), CE_OK);
    ce_session *s, *other;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    size_t n = 0;
    int32_t ids[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ck_assert_int_eq(ce_session_logits(s, NULL, 0, &n), CE_ERR_STATE);
    ck_assert_int_eq(ce_session_append(s, ids, 0, 0), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_append(s, NULL, 1, 0), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_append(s, ids, 1, 0x80), CE_ERR_INVALID_ARGUMENT);
    int32_t bad = 40;
    ck_assert_int_eq(ce_session_append(s, &bad, 1, 0), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_session_append(s, ids, 9, 0), CE_ERR_TOO_LONG);
    ck_assert_uint_eq(ce_session_context_length(s), 0);
    ck_assert_int_eq(ce_session_append(s, ids, 6, 0), CE_OK);
    ck_assert_int_eq(ce_session_append(s, ids, 3, 0), CE_ERR_TOO_LONG);
    ck_assert_uint_eq(ce_session_context_length(s), 6);
    ck_assert_int_eq(ce_session_append(s, ids, 2, 0), CE_OK);
    ck_assert_int_eq(ce_session_append(s, ids, 1, 0), CE_ERR_TOO_LONG);
    ck_assert_int_eq(ce_session_rewind(s, 9), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_session_rewind(s, 2), CE_OK);
    ck_assert_uint_eq(ce_session_context_length(s), 2);
    ck_assert_uint_eq(ce_session_logits_rows(s), 0);
    ck_assert_int_eq(ce_session_copy_state(s, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_copy_state(NULL, s), CE_ERR_INVALID_ARGUMENT);
    /* a BERT model is not a decoder; sessions of different models do not mix */
    static const char bert_cfg[] =
        "{\"model_type\": \"bert\", \"vocab_size\": 40, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8}";
    ck_assert_int_eq(ce_model_open_random(bert_cfg, sizeof bert_cfg - 1, 1, NULL, &bert), CE_OK);
    ck_assert_int_eq(ce_session_create(bert, NULL, &other), CE_OK);
    ck_assert_int_eq(ce_session_append(other, ids, 1, 0), CE_ERR_UNSUPPORTED);
    ck_assert_int_eq(ce_session_rewind(other, 0), CE_ERR_UNSUPPORTED);
    ck_assert_uint_eq(ce_session_context_length(other), 0);
    ck_assert_int_eq(ce_session_copy_state(s, other), CE_ERR_INVALID_ARGUMENT);
    ce_session_free(other);
    ce_model_free(bert);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

START_TEST(test_batch_equals_sequences)
{
    ce_model *m;
    ck_assert_int_eq(ce_model_open_random(config, sizeof config - 1, 7, NULL, &m), CE_OK);
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    int32_t ids[] = {1, 2, 3, 4, 5, 9, 8, 7};
    size_t lens[] = {5, 3}, n;
    ce_select *all;
    ce_select_create(&all);
    ce_select_layers(all, NULL, 0);
    float both[3 * 5 * 16], one[3 * 5 * 16];
    ck_assert_int_eq(ce_session_run(s, 2, lens, ids, NULL), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 1, all, both, sizeof both / 4, &n), CE_OK);
    ck_assert_uint_eq(n, 3 * 3 * 16);
    ck_assert_int_eq(ce_session_run(s, 1, &lens[1], ids + 5, NULL), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 0, all, one, sizeof one / 4, &n), CE_OK);
    ck_assert(max_diff(both, one, n) <= 1e-6);
    /* the last hidden state of a prefix does not depend on later tokens (causal) */
    ck_assert_int_eq(ce_session_run(s, 1, &lens[0], ids, NULL), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 0, all, both, sizeof both / 4, &n), CE_OK);
    size_t three = 3;
    ck_assert_int_eq(ce_session_run(s, 1, &three, ids, NULL), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 0, all, one, sizeof one / 4, &n), CE_OK);
    for (int l = 0; l < 3; l++)
        ck_assert(max_diff(both + l * 5 * 16, one + l * 3 * 16, 3 * 16) <= 1e-6);
    ce_select_free(all);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpt2");
    TCase *tc = tcase_create("decoder");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_tiny_random_gpt2, 0, CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_fixture_logits, 0, 2 * CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_fixture_greedy_rewind_copy, 0, 2);
    tcase_add_test(tc, test_decode_errors);
    tcase_add_test(tc, test_batch_equals_sequences);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
