/* The public API's contract: NULL, empty and out-of-range arguments, outputs untouched on
 * failure, options and their bounds, selection / mixing / pooling / normalisation semantics,
 * truncation, determinism and sessions in parallel threads. Uses a small random model. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contextembed/contextembed.h"
#include "test-util.h"

static const char config[] =
    "{\"model_type\": \"bert\", \"vocab_size\": 50, \"hidden_size\": 16, \"num_hidden_layers\": 3,"
    " \"num_attention_heads\": 2, \"intermediate_size\": 32, \"max_position_embeddings\": 12,"
    " \"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12, \"hidden_act\": \"gelu\"}";

enum { L1 = 4, D = 16, T = 7 }; /* output layers, width, tokens */

static ce_model *model;
static ce_session *session;
static const int32_t ids[] = {1, 7, 9, 13, 2, 44, 3};
static const int32_t types[] = {0, 0, 0, 1, 1, 1, 1};
static const size_t T_len = T;

static void setup(void)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, "ref"), CE_OK);
    ck_assert_int_eq(ce_model_open_random(config, sizeof config - 1, 42, o, &model), CE_OK);
    ck_assert_int_eq(ce_session_create(model, NULL, &session), CE_OK);
    ck_assert_str_eq(ce_session_backend(session), "ref");
    ce_options_free(o);
}

static void teardown(void)
{
    ce_session_free(session);
    ce_model_free(model);
}

static float *all_layers(void)
{
    ce_select *sel;
    ce_select_create(&sel);
    ce_select_layers(sel, NULL, 0);
    size_t n;
    float *out = malloc(L1 * T * D * sizeof *out);
    ck_assert_int_eq(ce_session_output(session, 0, sel, out, L1 * T * D, &n), CE_OK);
    ck_assert_uint_eq(n, L1 * T * D);
    ce_select_free(sel);
    return out;
}

static float *read_out(const ce_select *sel, size_t *n)
{
    ck_assert_int_eq(ce_session_output(session, 0, sel, NULL, 0, n), CE_ERR_BUFFER_TOO_SMALL);
    float *out = malloc(*n * sizeof *out);
    ck_assert_int_eq(ce_session_output(session, 0, sel, out, *n, n), CE_OK);
    return out;
}

START_TEST(test_null_arguments)
{
    ck_assert_int_eq(ce_options_create(NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_int(NULL, CE_OPT_THREADS, 1), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_string(NULL, CE_OPT_BACKEND, "ref"), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_model_open(NULL, NULL, &model), CE_ERR_INVALID_ARGUMENT);
    ce_model *m = (ce_model *)0x1;
    ck_assert_int_eq(ce_model_open("/nonexistent-dir", NULL, &m), CE_ERR_NOT_FOUND);
    ck_assert_ptr_eq(m, (ce_model *)0x1);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "/nonexistent-dir"));
    ck_assert_int_eq(ce_model_open_random(NULL, 0, 1, NULL, &m), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_model_open_random(config, sizeof config - 1, 1, NULL, NULL),
                     CE_ERR_INVALID_ARGUMENT);
    int64_t v = 5;
    ck_assert_int_eq(ce_model_get_info(NULL, CE_INFO_HIDDEN_SIZE, &v), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_model_get_info(model, (ce_model_info)999, &v), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(v, 5);
    ck_assert_ptr_null(ce_model_architecture(NULL));
    ck_assert_ptr_null(ce_model_tokenizer(NULL));
    ck_assert_ptr_null(ce_model_tokenizer(model)); /* random models have none */
    ce_session *s = (ce_session *)0x1;
    ck_assert_int_eq(ce_session_create(NULL, NULL, &s), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_create(model, NULL, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_eq(s, (ce_session *)0x1);
    ck_assert_int_eq(ce_session_run(NULL, 1, &T_len, ids, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run(session, 1, NULL, ids, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run(session, 1, &T_len, NULL, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run(session, 0, &T_len, ids, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ce_session_backend(NULL));
    ck_assert_int_eq(ce_session_threads(NULL), 0);
    ck_assert_uint_eq(ce_session_num_sequences(NULL), 0);
    size_t n = 3, shape[3], nd;
    ck_assert_int_eq(ce_session_sequence_length(NULL, 0, &n), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_output_shape(NULL, 0, NULL, shape, &nd), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_output_shape(session, 0, NULL, NULL, &nd), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_output(NULL, 0, NULL, NULL, 0, &n), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_output(session, 0, NULL, NULL, 0, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_select_create(NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_select_layers(NULL, NULL, 0), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_select_mix(NULL, NULL, 0, 1), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_select_pool(NULL, CE_POOL_MEAN), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_select_normalize(NULL, 1), CE_ERR_INVALID_ARGUMENT);
    /* destructors accept NULL */
    ce_options_free(NULL);
    ce_model_free(NULL);
    ce_session_free(NULL);
    ce_select_free(NULL);
}
END_TEST

START_TEST(test_status_and_version)
{
    for (int c = 0; c <= CE_ERR_STATE; c++) {
        ck_assert_ptr_nonnull(ce_status_str((ce_status)c));
        ck_assert_str_ne(ce_status_str((ce_status)c), "unknown status");
    }
    ck_assert_str_eq(ce_status_str((ce_status)12345), "unknown status");
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", CE_VERSION_MAJOR, CE_VERSION_MINOR, CE_VERSION_PATCH);
    ck_assert_str_eq(ce_version(), v);
    ck_assert_uint_eq(ce_abi_version(), CE_ABI_VERSION);
    ck_assert_ptr_nonnull(ce_last_error());
}
END_TEST

START_TEST(test_options)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    int64_t lo = -1, hi = -1, v = -7;
    ck_assert_int_eq(ce_option_bounds(CE_OPT_THREADS, &lo, &hi), CE_OK);
    ck_assert(lo == 0 && hi >= 2);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, hi + 1), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, -1), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, 1), CE_OK);
    ck_assert_int_eq(ce_options_get_int(o, CE_OPT_THREADS, &v), CE_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ce_option_bounds(CE_OPT_BACKEND, &lo, &hi), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_option_bounds((ce_option)99, &lo, &hi), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_BACKEND, 1), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_THREADS, "x"), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, ""), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_TRUNCATE, 2), CE_ERR_OUT_OF_RANGE);
    const char *b = NULL;
    ck_assert_int_eq(ce_options_get_string(o, CE_OPT_BACKEND, &b), CE_OK);
    ck_assert_str_eq(b, "auto");
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, "no-such-backend"), CE_OK);
    ce_session *s = (ce_session *)0x1;
    ck_assert_int_eq(ce_session_create(model, o, &s), CE_ERR_NOT_FOUND);
    ck_assert_ptr_eq(s, (ce_session *)0x1);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "no-such-backend"));
    ce_options_set_string(o, CE_OPT_BACKEND, "auto");
    ck_assert_int_eq(ce_session_create(model, o, &s), CE_OK);
    ck_assert_int_eq(ce_session_threads(s), 1);
    ce_session_free(s);
    ce_options_free(o);
}
END_TEST

START_TEST(test_bad_configs)
{
    static const char *const bad[] = {
        "{\"model_type\": \"bert\"}",
        "{\"model_type\": \"gpt7\", \"vocab_size\": 5}",
        "{\"vocab_size\": 5}",
        "[1, 2]",
        "{\"model_type\": \"bert\", \"vocab_size\": -5, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8}",
        "{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 15, \"num_hidden_layers\": 1,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8}",
        "{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8,"
        " \"hidden_act\": \"swish2\"}",
        "{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8,"
        " \"layer_norm_eps\": -1}",
        "{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 16, \"num_hidden_layers\": 1.5,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8}",
        "{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 16, \"num_hidden_layers\": 99999999,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8}",
        "{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
        " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"max_position_embeddings\": 8,"
        " \"position_embedding_type\": \"relative_key\"}",
        "{\"model_type\": ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ce_model *m = (ce_model *)0x1;
        ce_status st = ce_model_open_random(bad[i], strlen(bad[i]), 1, NULL, &m);
        ck_assert_msg(st != CE_OK, "config %zu accepted", i);
        ck_assert_ptr_eq(m, (ce_model *)0x1);
        ck_assert_str_ne(ce_last_error(), "");
    }
}
END_TEST

START_TEST(test_run_errors)
{
    size_t n = 99, shape[3], nd;
    ck_assert_int_eq(ce_session_output(session, 0, NULL, NULL, 0, &n), CE_ERR_STATE);
    ck_assert_int_eq(ce_session_output_shape(session, 0, NULL, shape, &nd), CE_ERR_STATE);
    int32_t bad_ids[] = {1, 50};
    size_t two = 2, zero = 0;
    ck_assert_int_eq(ce_session_run(session, 1, &two, bad_ids, NULL), CE_ERR_OUT_OF_RANGE);
    bad_ids[1] = -1;
    ck_assert_int_eq(ce_session_run(session, 1, &two, bad_ids, NULL), CE_ERR_OUT_OF_RANGE);
    int32_t bad_types[] = {0, 2};
    ck_assert_int_eq(ce_session_run(session, 1, &two, ids, bad_types), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_session_run(session, 1, &zero, ids, NULL), CE_ERR_INVALID_ARGUMENT);
    int32_t long_ids[13] = {0};
    size_t thirteen = 13;
    ck_assert_int_eq(ce_session_run(session, 1, &thirteen, long_ids, NULL), CE_ERR_TOO_LONG);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "13"));
    ck_assert_uint_eq(ce_session_num_sequences(session), 0);
    /* a good run, then a failing one: no stale results survive */
    ck_assert_int_eq(ce_session_run(session, 1, &T_len, ids, types), CE_OK);
    ck_assert_int_eq(ce_session_output(session, 1, NULL, NULL, 0, &n), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_session_run(session, 1, &thirteen, long_ids, NULL), CE_ERR_TOO_LONG);
    ck_assert_int_eq(ce_session_output(session, 0, NULL, NULL, 0, &n), CE_ERR_STATE);
}
END_TEST

START_TEST(test_truncate)
{
    int32_t long_ids[15];
    for (int i = 0; i < 15; i++)
        long_ids[i] = i + 1;
    size_t lens[2] = {15, 3};
    ce_options *o;
    ce_options_create(&o);
    ce_options_set_int(o, CE_OPT_TRUNCATE, 1);
    ce_options_set_string(o, CE_OPT_BACKEND, "ref");
    ce_session *s;
    ck_assert_int_eq(ce_session_create(model, o, &s), CE_OK);
    int32_t both[18];
    memcpy(both, long_ids, sizeof long_ids);
    memcpy(both + 15, ids, 3 * sizeof *ids);
    ck_assert_int_eq(ce_session_run(s, 2, lens, both, NULL), CE_OK);
    size_t len;
    ck_assert_int_eq(ce_session_sequence_length(s, 0, &len), CE_OK);
    ck_assert_uint_eq(len, 12);
    ck_assert_int_eq(ce_session_sequence_length(s, 1, &len), CE_OK);
    ck_assert_uint_eq(len, 3);
    size_t n12 = 12, n, m;
    float a[12 * D], b[12 * D], c[3 * D], e[3 * D];
    ck_assert_int_eq(ce_session_output(s, 0, NULL, a, 12 * D, &n), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 1, NULL, c, 3 * D, &m), CE_OK);
    ck_assert_int_eq(ce_session_run(session, 1, &n12, long_ids, NULL), CE_OK);
    ck_assert_int_eq(ce_session_output(session, 0, NULL, b, 12 * D, &n), CE_OK);
    ck_assert_int_eq(ce_session_run(session, 1, &lens[1], ids, NULL), CE_OK);
    ck_assert_int_eq(ce_session_output(session, 0, NULL, e, 3 * D, &m), CE_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_mem_eq(c, e, sizeof c);
    ce_session_free(s);
    ce_options_free(o);
}
END_TEST

START_TEST(test_layers_and_shapes)
{
    ck_assert_int_eq(ce_session_run(session, 1, &T_len, ids, types), CE_OK);
    float *all = all_layers();
    ce_select *sel;
    ce_select_create(&sel);
    size_t n, shape[3], nd;
    /* default: last layer */
    ck_assert_int_eq(ce_session_output_shape(session, 0, NULL, shape, &nd), CE_OK);
    ck_assert(nd == 3 && shape[0] == 1 && shape[1] == T && shape[2] == D);
    float *last = read_out(NULL, &n);
    ck_assert_mem_eq(last, all + 3 * T * D, T * D * sizeof(float));
    int32_t pick[] = {0, -2, 3};
    ck_assert_int_eq(ce_select_layers(sel, pick, 3), CE_OK);
    float *three = read_out(sel, &n);
    ck_assert_uint_eq(n, 3 * T * D);
    ck_assert_mem_eq(three, all, T * D * sizeof(float));
    ck_assert_mem_eq(three + T * D, all + 2 * T * D, T * D * sizeof(float));
    ck_assert_mem_eq(three + 2 * T * D, all + 3 * T * D, T * D * sizeof(float));
    /* out of range, both ends */
    int32_t bad[] = {4};
    ce_select_layers(sel, bad, 1);
    ck_assert_int_eq(ce_session_output(session, 0, sel, three, n, &n), CE_ERR_OUT_OF_RANGE);
    bad[0] = -5;
    ce_select_layers(sel, bad, 1);
    ck_assert_int_eq(ce_session_output_shape(session, 0, sel, shape, &nd), CE_ERR_OUT_OF_RANGE);
    /* a too small buffer is left untouched */
    ce_select_layers(sel, NULL, 0);
    float small[8];
    memset(small, 0x7f, sizeof small);
    ck_assert_int_eq(ce_session_output(session, 0, sel, small, 8, &n), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, L1 * T * D);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(((unsigned char *)small)[i * 4], 0x7f);
    free(all);
    free(last);
    free(three);
    ce_select_free(sel);
}
END_TEST

START_TEST(test_mix_pool_normalize)
{
    ck_assert_int_eq(ce_session_run(session, 1, &T_len, ids, types), CE_OK);
    float *all = all_layers();
    ce_select *sel;
    ce_select_create(&sel);
    float w[L1] = {0.5f, -1.0f, 2.0f, 0.0f}, gamma = 1.5f;
    ck_assert_int_eq(ce_select_mix(sel, w, 3, gamma), CE_OK);
    size_t n, shape[3], nd;
    ck_assert_int_eq(ce_session_output(session, 0, sel, NULL, 0, &n), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_select_mix(sel, w, L1, gamma), CE_OK);
    ck_assert_int_eq(ce_session_output_shape(session, 0, sel, shape, &nd), CE_OK);
    ck_assert(nd == 3 && shape[0] == 1 && shape[1] == T && shape[2] == D);
    float *mix = read_out(sel, &n);
    double sw = 0, p[L1];
    for (int l = 0; l < L1; l++)
        sw += p[l] = exp(w[l]);
    for (size_t i = 0; i < T * D; i++) {
        double ref = 0;
        for (int l = 0; l < L1; l++)
            ref += gamma * p[l] / sw * all[l * T * D + i];
        ck_assert_double_eq_tol(mix[i], ref, 1e-5);
    }
    /* mean pooling of the mix, then normalised */
    ce_select_pool(sel, CE_POOL_MEAN);
    ck_assert_int_eq(ce_session_output_shape(session, 0, sel, shape, &nd), CE_OK);
    ck_assert(nd == 1 && shape[0] == D);
    float *pooled = read_out(sel, &n);
    for (size_t j = 0; j < D; j++) {
        double acc = 0;
        for (size_t t = 0; t < T; t++)
            acc += mix[t * D + j];
        ck_assert_double_eq_tol(pooled[j], acc / T, 1e-5);
    }
    ce_select_normalize(sel, 1);
    float *unit = read_out(sel, &n);
    double norm = 0;
    for (size_t j = 0; j < D; j++)
        norm += (double)unit[j] * unit[j];
    ck_assert_double_eq_tol(sqrt(norm), 1.0, 1e-5);
    /* max and cls pooling of two layers: shape [2, D] */
    int32_t two[] = {1, -1};
    ce_select_layers(sel, two, 2);
    ce_select_normalize(sel, 0);
    ce_select_pool(sel, CE_POOL_MAX);
    ck_assert_int_eq(ce_session_output_shape(session, 0, sel, shape, &nd), CE_OK);
    ck_assert(nd == 2 && shape[0] == 2 && shape[1] == D);
    float *mx = read_out(sel, &n);
    for (size_t j = 0; j < D; j++) {
        float m1 = -INFINITY, m3 = -INFINITY;
        for (size_t t = 0; t < T; t++) {
            m1 = fmaxf(m1, all[1 * T * D + t * D + j]);
            m3 = fmaxf(m3, all[3 * T * D + t * D + j]);
        }
        ck_assert_float_eq(mx[j], m1);
        ck_assert_float_eq(mx[D + j], m3);
    }
    ce_select_pool(sel, CE_POOL_CLS);
    float *cls = read_out(sel, &n);
    ck_assert_mem_eq(cls, all + 1 * T * D, D * sizeof(float));
    ck_assert_mem_eq(cls + D, all + 3 * T * D, D * sizeof(float));
    ck_assert_int_eq(ce_select_pool(sel, (ce_pool)9), CE_ERR_INVALID_ARGUMENT);
    float inf = INFINITY;
    ck_assert_int_eq(ce_select_mix(sel, &inf, 1, 1.0f), CE_ERR_INVALID_ARGUMENT);
    free(all);
    free(mix);
    free(pooled);
    free(unit);
    free(mx);
    free(cls);
    ce_select_free(sel);
}
END_TEST

START_TEST(test_random_is_deterministic)
{
    ce_model *m2;
    ck_assert_int_eq(ce_model_open_random(config, sizeof config - 1, 42, NULL, &m2), CE_OK);
    ce_session *s2;
    ck_assert_int_eq(ce_session_create(m2, NULL, &s2), CE_OK);
    ck_assert_int_eq(ce_session_run(s2, 1, &T_len, ids, types), CE_OK);
    ck_assert_int_eq(ce_session_run(session, 1, &T_len, ids, types), CE_OK);
    float a[T * D], b[T * D];
    size_t n;
    ck_assert_int_eq(ce_session_output(s2, 0, NULL, a, T * D, &n), CE_OK);
    ck_assert_int_eq(ce_session_output(session, 0, NULL, b, T * D, &n), CE_OK);
    for (size_t i = 0; i < T * D; i++)
        ck_assert_float_eq_tol(a[i], b[i], 1e-5);
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(m2, CE_INFO_NUM_OUTPUT_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, L1);
    ck_assert_str_eq(ce_model_architecture(m2), "bert");
    ce_session_free(s2);
    ce_model_free(m2);
}
END_TEST

typedef struct worker {
    float out[T * D];
    ce_status st;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    ce_session *s;
    size_t n;
    w->st = ce_session_create(model, NULL, &s);
    for (int i = 0; i < 20 && w->st == CE_OK; i++)
        w->st = ce_session_run(s, 1, &T_len, ids, types);
    if (w->st == CE_OK)
        w->st = ce_session_output(s, 0, NULL, w->out, T * D, &n);
    ce_session_free(s);
    return NULL;
}

START_TEST(test_sessions_in_threads)
{
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, work, &w[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(w[i].st, CE_OK);
        ck_assert_mem_eq(w[i].out, w[0].out, sizeof w[0].out);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("contract");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_status_and_version);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_bad_configs);
    tcase_add_test(tc, test_run_errors);
    tcase_add_test(tc, test_truncate);
    tcase_add_test(tc, test_layers_and_shapes);
    tcase_add_test(tc, test_mix_pool_normalize);
    tcase_add_test(tc, test_random_is_deterministic);
    tcase_add_test(tc, test_sessions_in_threads);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
