/* Sliding windows (CE_OPT_LONG_INPUT = CE_LONG_WINDOW): a sequence longer than
 * the model takes reads as one whose every token comes from the window where it
 * has the most context. The expected vectors are computed here independently:
 * the windows are built by hand, each run alone as an ordinary sequence, and
 * the best window per token picked by Hugging Face's rule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contextembed/contextembed.h"
#include "test-util.h"

#define TOL 1e-5

static ce_model *open_model(const char *name, const char *backend)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ce_test_fixtures(), name);
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, ce_test_run_threads), CE_OK);
    ce_model *m = NULL;
    ck_assert_msg(ce_model_open(path, o, &m) == CE_OK, "%s", ce_last_error());
    ce_options_free(o);
    return m;
}

static ce_session *window_session(ce_model *m, int64_t stride)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_LONG_INPUT, CE_LONG_WINDOW), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_WINDOW_STRIDE, stride), CE_OK);
    ce_session *s = NULL;
    ck_assert_int_eq(ce_session_create(m, o, &s), CE_OK);
    ce_options_free(o);
    return s;
}

/* All layers of sequence @p seq: [L, T, D]. */
static float *all_layers(ce_session *s, size_t seq, size_t *count)
{
    ce_select *sel;
    ck_assert_int_eq(ce_select_create(&sel), CE_OK);
    ck_assert_int_eq(ce_select_layers(sel, NULL, 0), CE_OK);
    ck_assert_int_eq(ce_session_output(s, seq, sel, NULL, 0, count), CE_ERR_BUFFER_TOO_SMALL);
    float *out = malloc(*count * sizeof *out);
    ck_assert_int_eq(ce_session_output(s, seq, sel, out, *count, count), CE_OK);
    ce_select_free(sel);
    return out;
}

/* A long sequence: [CLS] content [SEP] with the fixture's special ids. */
static int32_t *long_ids(const ce_model *m, size_t content, size_t *len)
{
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    int32_t cls, sep;
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_CLS, &cls), CE_OK);
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_SEP, &sep), CE_OK);
    *len = content + 2;
    int32_t *ids = malloc(*len * sizeof *ids);
    ids[0] = cls;
    for (size_t i = 0; i < content; i++)
        ids[i + 1] = (int32_t)(20 + (i * 37) % 200); /* ordinary word pieces */
    ids[*len - 1] = sep;
    return ids;
}

typedef struct win {
    size_t start, len; /* content tokens, counted from the first content token */
} win;

/* Windows of @p content tokens, @p c per window, consecutive ones sharing @p overlap. */
static size_t make_windows(size_t content, size_t c, size_t overlap, win *w)
{
    size_t n = 0;
    for (size_t start = 0;; start += c - overlap) {
        w[n].start = start;
        w[n].len = content - start < c ? content - start : c;
        if (start + w[n++].len >= content)
            return n;
    }
}

static size_t best_window(const win *w, size_t n, size_t p)
{
    size_t best = 0;
    double best_score = -1;
    for (size_t k = 0; k < n; k++) {
        if (p < w[k].start || p >= w[k].start + w[k].len)
            continue;
        size_t left = p - w[k].start, right = w[k].start + w[k].len - 1 - p;
        double sc = (double)(left < right ? left : right) + 0.01 * (double)w[k].len;
        if (sc > best_score) {
            best_score = sc;
            best = k;
        }
    }
    return best;
}

/* Run window k alone ([CLS] slice [SEP]) and return its layers. */
static float *run_window(ce_session *plain, const int32_t *ids, size_t len, win w, size_t *count)
{
    size_t n = w.len + 2;
    int32_t *x = malloc(n * sizeof *x);
    x[0] = ids[0];
    memcpy(x + 1, ids + 1 + w.start, w.len * sizeof *x);
    x[n - 1] = ids[len - 1];
    ck_assert_int_eq(ce_session_run(plain, 1, &n, x, NULL), CE_OK);
    free(x);
    return all_layers(plain, 0, count);
}

static void check_against_windows(ce_model *m, size_t content, size_t overlap)
{
    int64_t max, planes, d;
    ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &max);
    ce_model_get_info(m, CE_INFO_NUM_OUTPUT_LAYERS, &planes);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &d);
    size_t len, count;
    int32_t *ids = long_ids(m, content, &len);
    ce_session *s = window_session(m, (int64_t)overlap), *plain = NULL;
    ck_assert_int_eq(ce_session_create(m, NULL, &plain), CE_OK);
    ck_assert_msg(ce_session_run(s, 1, &len, ids, NULL) == CE_OK, "%s", ce_last_error());
    size_t got_len;
    ck_assert_int_eq(ce_session_sequence_length(s, 0, &got_len), CE_OK);
    ck_assert_uint_eq(got_len, len);
    float *got = all_layers(s, 0, &count);
    ck_assert_uint_eq(count, (size_t)planes * len * (size_t)d);
    win *w = malloc(content * sizeof *w); /* at most one window per content token */
    size_t nw = make_windows(content, (size_t)max - 2, overlap ? overlap : (size_t)max / 4, w);
    ck_assert_uint_gt(nw, 1);
    for (size_t k = 0; k < nw; k++) {
        size_t wc;
        float *ref = run_window(plain, ids, len, w[k], &wc);
        size_t wl = w[k].len + 2;
        for (size_t q = 0; q < len; q++) {
            size_t row;
            if (q == 0 && k == 0)
                row = 0;
            else if (q == len - 1 && k == nw - 1)
                row = wl - 1;
            else if (q > 0 && q < len - 1 && best_window(w, nw, q - 1) == k)
                row = 1 + (q - 1 - w[k].start);
            else
                continue;
            for (int64_t l = 0; l < planes; l++)
                for (int64_t j = 0; j < d; j++) {
                    float a = got[((size_t)l * len + q) * (size_t)d + (size_t)j];
                    float b = ref[((size_t)l * wl + row) * (size_t)d + (size_t)j];
                    ck_assert_msg(fabsf(a - b) <= TOL, "token %zu layer %lld: %g vs %g (window %zu)",
                                  q, (long long)l, a, b, k);
                }
        }
        free(ref);
    }
    free(w);
    free(got);
    free(ids);
    ce_session_free(s);
    ce_session_free(plain);
}

START_TEST(test_tokens_from_their_best_window)
{
    const char *backend = ce_test_run_backend(_i);
    if (!ce_test_has_backend(backend))
        return;
    ce_model *m = open_model("bert-tiny-uncased", backend);
    check_against_windows(m, 150, 16); /* 64 positions: windows of 62 content tokens */
    check_against_windows(m, 63, 1);   /* just one token too many */
    check_against_windows(m, 100, 0);  /* 0: the default overlap, a quarter of 64 */
    check_against_windows(m, 200, 61); /* the largest overlap there is */
    ce_model_free(m);
}
END_TEST

/* Sequences that fit are computed exactly as without windows, also in a batch with a long one. */
START_TEST(test_fitting_sequences_unchanged)
{
    ce_model *m = open_model("roberta-tiny", "ref");
    size_t long_len, count_a, count_b;
    int32_t *ids = long_ids(m, 100, &long_len);
    int32_t batch[200];
    size_t lengths[2] = {10, long_len};
    memcpy(batch, ids, 9 * sizeof *batch);
    batch[9] = ids[long_len - 1];
    memcpy(batch + 10, ids, long_len * sizeof *batch);
    ce_session *s = window_session(m, 0), *plain = NULL;
    ck_assert_int_eq(ce_session_create(m, NULL, &plain), CE_OK);
    ck_assert_int_eq(ce_session_run(s, 2, lengths, batch, NULL), CE_OK);
    ck_assert_int_eq(ce_session_run(plain, 1, lengths, batch, NULL), CE_OK);
    float *a = all_layers(s, 0, &count_a), *b = all_layers(plain, 0, &count_b);
    ck_assert_uint_eq(count_a, count_b);
    for (size_t i = 0; i < count_a; i++)
        ck_assert_float_eq_tol(a[i], b[i], TOL);
    /* the plain session refuses the long one */
    ck_assert_int_eq(ce_session_run(plain, 1, &long_len, ids, NULL), CE_ERR_TOO_LONG);
    free(a);
    free(b);
    free(ids);
    ce_session_free(s);
    ce_session_free(plain);
    ce_model_free(m);
}
END_TEST

/* Pooling reads the stitched tokens: the mean equals the mean of the per-token output. */
START_TEST(test_pooling_over_stitched_tokens)
{
    ce_model *m = open_model("bert-tiny-uncased", "ref");
    size_t len, count, pooled_count;
    int32_t *ids = long_ids(m, 130, &len);
    ce_session *s = window_session(m, 0);
    ck_assert_int_eq(ce_session_run(s, 1, &len, ids, NULL), CE_OK);
    float *tokens = all_layers(s, 0, &count);
    ce_select *sel;
    ck_assert_int_eq(ce_select_create(&sel), CE_OK);
    ck_assert_int_eq(ce_select_pool(sel, CE_POOL_MEAN), CE_OK);
    float mean[256];
    ck_assert_int_eq(ce_session_output(s, 0, sel, mean, 256, &pooled_count), CE_OK);
    size_t d = pooled_count, planes = count / (len * d);
    for (size_t j = 0; j < d; j++) {
        double acc = 0;
        for (size_t t = 0; t < len; t++)
            acc += tokens[((planes - 1) * len + t) * d + j];
        ck_assert_float_eq_tol(mean[j], (float)(acc / (double)len), 1e-5);
    }
    ce_select_free(sel);
    free(tokens);
    free(ids);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

START_TEST(test_bad_stride_and_decoders)
{
    ce_model *m = open_model("bert-tiny-uncased", "ref");
    size_t len;
    int32_t *ids = long_ids(m, 100, &len);
    ce_session *s = window_session(m, 62); /* 64 positions - 2 specials: no new token */
    ck_assert_int_eq(ce_session_run(s, 1, &len, ids, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "stride"));
    ck_assert_uint_eq(ce_session_num_sequences(s), 0);
    ce_session_free(s);
    free(ids);
    ce_model_free(m);
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_LONG_INPUT, 3), CE_ERR_OUT_OF_RANGE);
    ce_options_free(o);
    m = open_model("gpt2-tiny", "ref");
    s = window_session(m, 0);
    int32_t many[100] = {0};
    size_t n = 100;
    ck_assert_int_eq(ce_session_run(s, 1, &n, many, NULL), CE_ERR_UNSUPPORTED);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("windows");
    TCase *tc = tcase_create("windows");
    tcase_add_loop_test(tc, test_tokens_from_their_best_window, 0, CE_TEST_N_RUNS);
    tcase_add_test(tc, test_fitting_sequences_unchanged);
    tcase_add_test(tc, test_pooling_over_stitched_tokens);
    tcase_add_test(tc, test_bad_stride_and_decoders);
    suite_add_tcase(su, tc);
    return ce_test_run(su);
}
