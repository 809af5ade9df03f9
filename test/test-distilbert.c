/* DistilBERT end to end against the PyTorch reference (test/gen/gen_encoders.py): every layer of
 * every case within 1e-4 on every backend run, alone, packed and as the padded batch; sinusoidal
 * positions computed by the library (distilbert-tiny stores none) and learned ones; LayerNorm eps
 * 1e-12; no token types (any type ids are ignored); and the ways a DistilBERT directory can be
 * wrong. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-encoder-util.h"

static const char *const fixtures[] = {"distilbert-tiny", "distilbert-tiny-mlm"};
#define N_FIXTURES ((int)(sizeof fixtures / sizeof *fixtures))

START_TEST(test_fixture)
{
    const char *fixture = fixtures[_i / CE_TEST_N_RUNS];
    const char *backend = ce_test_run_backend(_i % CE_TEST_N_RUNS);
    if (!ce_test_has_backend(backend))
        return;
    enc_check_fixture(fixture, backend, ce_test_run_threads, NULL);
}
END_TEST

START_TEST(test_info)
{
    const char *fixture = fixtures[_i];
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_json *doc = enc_cases_json(fixture);
    ce_model *m;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    ck_assert_str_eq(ce_model_architecture(m), "distilbert");
    static const struct {
        ce_model_info key;
        const char *name;
    } facts[] = {{CE_INFO_NUM_LAYERS, "layers"},
                 {CE_INFO_HIDDEN_SIZE, "hidden"},
                 {CE_INFO_NUM_HEADS, "heads"},
                 {CE_INFO_INTERMEDIATE_SIZE, "intermediate"},
                 {CE_INFO_VOCAB_SIZE, "vocab_size"},
                 {CE_INFO_MAX_POSITIONS, "max_tokens"},
                 {CE_INFO_MAX_POSITIONS, "max_position_embeddings"}};
    int64_t v;
    for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
        ck_assert_int_eq(ce_model_get_info(m, facts[i].key, &v), CE_OK);
        ck_assert_msg(v == enc_model_int(doc, facts[i].name), "%s: %s is %lld, want %lld", fixture,
                      facts[i].name, (long long)v, (long long)enc_model_int(doc, facts[i].name));
    }
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_TYPE_VOCAB_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_OUTPUT_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, enc_model_int(doc, "layers") + 1);
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    ck_assert_str_eq(ce_tokenizer_kind(tok), "wordpiece");
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), (size_t)enc_model_int(doc, "vocab_size"));
    static const struct {
        ce_special_token role;
        const char *token;
    } roles[] = {{CE_SPECIAL_CLS, "[CLS]"},
                 {CE_SPECIAL_SEP, "[SEP]"},
                 {CE_SPECIAL_PAD, "[PAD]"},
                 {CE_SPECIAL_UNK, "[UNK]"},
                 {CE_SPECIAL_MASK, "[MASK]"}};
    const ce_json *ids = ce_json_get(ce_json_get(doc, "tokenizer"), "special_ids");
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
        int32_t id = -7;
        int64_t want;
        ck_assert(ce_json_get_int(ids, roles[i].token, &want));
        ck_assert_int_eq(ce_tokenizer_special_id(tok, roles[i].role, &id), CE_OK);
        ck_assert_int_eq(id, want);
    }
    ce_model_free(m);
    ce_json_free(doc);
}
END_TEST

/* Ids from the model's tokenizer; then every text case run with the
 * tokenizer's own type ids (a pair's B may have type 1, which DistilBERT
 * ignores) must still give the golden hidden states. */
START_TEST(test_text_cases)
{
    const char *fixture = fixtures[_i];
    ck_assert_int_gt(enc_check_text_cases(fixture, 0), 1);
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_model *m;
    ce_session *s = enc_open_session(dir, "ref", 1, &m);
    int64_t layers, dim;
    ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim);
    enc_refs r;
    enc_load_refs(dir, "case", layers, dim, &r);
    ce_json *doc = enc_cases_json(fixture);
    const ce_json *cases = ce_json_get(doc, "cases");
    int pairs = 0;
    for (size_t i = 0; i < cases->n; i++) {
        const ce_json *c = cases->items[i];
        const ce_json *text = ce_json_get(c, "text"), *pair = ce_json_get(c, "text_pair");
        if (!text)
            continue;
        const char *name = ce_json_get_string(c, "name");
        const enc_case *ref = NULL;
        for (size_t k = 0; k < r.n; k++)
            if (!strcmp(r.cases[k].name, name))
                ref = &r.cases[k];
        ck_assert_ptr_nonnull(ref);
        ce_encoding *e;
        ck_assert_int_eq(ce_tokenizer_encode(ce_model_tokenizer(m), text->str, text->len,
                                             pair ? pair->str : NULL, pair ? pair->len : 0,
                                             CE_ENCODE_ADD_SPECIAL, 0, &e),
                         CE_OK);
        size_t len = ce_encoding_length(e);
        ck_assert_msg(ce_session_run(s, 1, &len, ce_encoding_ids(e), ce_encoding_type_ids(e)) ==
                          CE_OK,
                      "%s: %s", name, ce_last_error());
        double d = enc_compare(s, 0, ref);
        ck_assert_msg(d <= ENC_TOL, "%s %s from the tokenizer: max diff %g", fixture, name, d);
        pairs += pair != NULL;
        ce_encoding_free(e);
    }
    ck_assert_int_gt(pairs, 0);
    ce_json_free(doc);
    enc_free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* No token types: NULL and any values give the same states. */
START_TEST(test_types_ignored)
{
    const char *fixture = fixtures[_i];
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_model *m;
    ce_session *s = enc_open_session(dir, "ref", 1, &m);
    int64_t layers, dim;
    ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim);
    enc_refs r;
    enc_load_refs(dir, "case", layers, dim, &r);
    int32_t *ones = malloc(128 * sizeof *ones);
    for (int i = 0; i < 128; i++)
        ones[i] = 1;
    const char *worst = "";
    double d = enc_run_packed(s, &r, ones, &worst);
    ck_assert_msg(d <= ENC_TOL, "%s with type ids 1: %s max diff %g", fixture, worst, d);
    const enc_case *c = &r.cases[1];
    ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, NULL), CE_OK);
    ck_assert(enc_compare(s, 0, c) <= ENC_TOL);
    free(ones);
    enc_free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

START_TEST(test_max_length)
{
    const char *fixture = fixtures[_i];
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_model *m;
    ce_session *s = enc_open_session(dir, "ref", 1, &m);
    int64_t max;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &max), CE_OK);
    size_t n = (size_t)max + 1;
    int32_t *ids = malloc(2 * n * sizeof *ids);
    for (size_t i = 0; i < 2 * n; i++)
        ids[i] = 20 + (int32_t)(i % 200);
    size_t len = (size_t)max;
    ck_assert_msg(ce_session_run(s, 1, &len, ids, NULL) == CE_OK, "%s", ce_last_error());
    len = n;
    ck_assert_int_eq(ce_session_run(s, 1, &len, ids, NULL), CE_ERR_TOO_LONG);
    size_t lens[2] = {2, n};
    ck_assert_int_eq(ce_session_run(s, 2, lens, ids, NULL), CE_ERR_TOO_LONG);
    free(ids);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* Hugging Face saves the sinusoidal table with the weights: a checkpoint that
 * stores it (the same values) gives the same states. */
START_TEST(test_stored_sinusoid)
{
    ce_json *doc = enc_cases_json("distilbert-tiny");
    int64_t P = enc_model_int(doc, "max_position_embeddings"), D = enc_model_int(doc, "hidden");
    int64_t layers = enc_model_int(doc, "layers");
    ce_json_free(doc);
    const char *tmp = enc_tmp_copy("distilbert-tiny");
    float *table = malloc((size_t)(P * D) * sizeof *table);
    for (int64_t pos = 0; pos < P; pos++)
        for (int64_t j = 0; j < D; j++) {
            double angle = (double)pos / pow(10000.0, (double)(2 * (j / 2)) / (double)D);
            table[pos * D + j] = (float)(j % 2 == 0 ? sin(angle) : cos(angle));
        }
    enc_tensors ts;
    enc_tensors_read(enc_tmp_path("model.safetensors"), &ts);
    ck_assert_int_eq(enc_tensors_find(&ts, "embeddings.position_embeddings.weight"), -1);
    enc_tensor *t = &ts.t[ts.n++];
    strcpy(t->name, "embeddings.position_embeddings.weight");
    t->dtype = "F32";
    t->ndim = 2;
    t->shape[0] = P;
    t->shape[1] = D;
    t->data = table;
    t->nbytes = (size_t)(P * D) * sizeof *table;
    enc_tensors_write(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_close(&ts);
    free(table);

    ce_model *m;
    ce_session *s = enc_open_session(tmp, "ref", 1, &m);
    char dir[4096];
    enc_fixture_dir("distilbert-tiny", dir, sizeof dir);
    enc_refs r;
    enc_load_refs(dir, "case", layers, D, &r);
    const char *worst = "";
    double d = enc_run_packed(s, &r, NULL, &worst);
    ck_assert_msg(d <= ENC_TOL, "stored sinusoid: %s max diff %g", worst, d);
    enc_free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* ---- bad input, each in a scratch copy of a fixture ---- */

START_TEST(test_config_asks_for_another_layer)
{
    enc_tmp_copy(fixtures[_i]);
    ce_json *doc = enc_cases_json(fixtures[_i]);
    int64_t layers = enc_model_int(doc, "layers");
    ce_json_free(doc);
    char from[64], to[64], needle[64];
    snprintf(from, sizeof from, "\"n_layers\": %lld,", (long long)layers);
    snprintf(to, sizeof to, "\"n_layers\": %lld,", (long long)layers + 1);
    enc_tmp_replace("config.json", from, to);
    snprintf(needle, sizeof needle, "transformer.layer.%lld.", (long long)layers);
    enc_expect_open_failure(CE_ERR_NOT_FOUND, CE_ERR_FORMAT, needle);
}
END_TEST

START_TEST(test_missing_tensor)
{
    static const struct {
        const char *fixture, *tensor;
    } cases[] = {
        {"distilbert-tiny", "transformer.layer.1.ffn.lin2.weight"},
        {"distilbert-tiny", "transformer.layer.0.sa_layer_norm.bias"},
        {"distilbert-tiny", "embeddings.LayerNorm.weight"},
        /* learned positions (sinusoidal_pos_embds false) must be stored */
        {"distilbert-tiny-mlm", "distilbert.embeddings.position_embeddings.weight"},
        {"distilbert-tiny-mlm", "distilbert.transformer.layer.2.attention.k_lin.weight"},
    };
    enc_tmp_copy(cases[_i].fixture);
    enc_tensors ts;
    enc_tensors_read(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_drop(&ts, cases[_i].tensor);
    enc_tensors_write(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_close(&ts);
    enc_expect_open_failure(CE_ERR_NOT_FOUND, CE_ERR_FORMAT, cases[_i].tensor);
}
END_TEST

START_TEST(test_vocab_size_below_tokenizer)
{
    static const char *const tensors[] = {"embeddings.word_embeddings.weight", NULL};
    enc_expect_vocab_below_tokenizer("distilbert-tiny", tensors, 20);
}
END_TEST

START_TEST(test_heads_do_not_divide_dim)
{
    enc_tmp_copy("distilbert-tiny");
    enc_tmp_replace("config.json", "\"n_heads\": 4,", "\"n_heads\": 5,");
    enc_expect_open_failure(CE_ERR_FORMAT, CE_OK, NULL);
}
END_TEST

/* ---- random weights from a config alone ---- */

START_TEST(test_random_model)
{
    static const char *const configs[] = {
        "{\"model_type\": \"distilbert\", \"vocab_size\": 100, \"dim\": 32, \"n_layers\": 2, "
        "\"n_heads\": 4, "
        "\"hidden_dim\": 64, \"max_position_embeddings\": 24, \"sinusoidal_pos_embds\": true, "
        "\"activation\": \"gelu\"}",
        "{\"model_type\": \"distilbert\", \"vocab_size\": 100, \"dim\": 24, \"n_layers\": 1, "
        "\"n_heads\": 3, "
        "\"hidden_dim\": 48, \"max_position_embeddings\": 16, \"sinusoidal_pos_embds\": false, "
        "\"activation\": \"relu\"}",
    };
    static const int64_t max_pos[] = {24, 16};
    ce_model *m;
    ck_assert_msg(ce_model_open_random(configs[_i], strlen(configs[_i]), 3, NULL, &m) == CE_OK,
                  "%s", ce_last_error());
    ck_assert_str_eq(ce_model_architecture(m), "distilbert");
    int64_t max, types;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &max), CE_OK);
    ck_assert_int_eq(max, max_pos[_i]);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_TYPE_VOCAB_SIZE, &types), CE_OK);
    ck_assert_int_eq(types, 0);
    ce_session *s;
    ck_assert_msg(ce_session_create(m, NULL, &s) == CE_OK, "%s", ce_last_error());
    size_t lens[2] = {(size_t)max, 5};
    int32_t ids[64];
    for (size_t i = 0; i < 64; i++)
        ids[i] = (int32_t)(1 + i % 97);
    ck_assert_msg(ce_session_run(s, 2, lens, ids, NULL) == CE_OK, "%s", ce_last_error());
    ce_select *all;
    ck_assert_int_eq(ce_select_create(&all), CE_OK);
    ck_assert_int_eq(ce_select_layers(all, NULL, 0), CE_OK);
    for (size_t q = 0; q < 2; q++) {
        size_t count;
        ck_assert_int_eq(ce_session_output(s, q, all, NULL, 0, &count), CE_ERR_BUFFER_TOO_SMALL);
        float *out = malloc(count * sizeof *out);
        ck_assert_int_eq(ce_session_output(s, q, all, out, count, &count), CE_OK);
        for (size_t i = 0; i < count; i++)
            ck_assert_msg(isfinite(out[i]), "output %zu of sequence %zu is %g", i, q, out[i]);
        free(out);
    }
    ce_select_free(all);
    lens[0] = (size_t)max + 1;
    ck_assert_int_eq(ce_session_run(s, 1, lens, ids, NULL), CE_ERR_TOO_LONG);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("distilbert");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_fixture, 0, N_FIXTURES * CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_info, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_text_cases, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_types_ignored, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_max_length, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_random_model, 0, 2);
    suite_add_tcase(s, tc);

    TCase *bad = tcase_create("scratch-copies");
    tcase_set_timeout(bad, 300);
    tcase_add_unchecked_fixture(bad, enc_root_create, enc_root_remove);
    tcase_add_test(bad, test_stored_sinusoid);
    tcase_add_loop_test(bad, test_config_asks_for_another_layer, 0, N_FIXTURES);
    tcase_add_loop_test(bad, test_missing_tensor, 0, 5);
    tcase_add_test(bad, test_vocab_size_below_tokenizer);
    tcase_add_test(bad, test_heads_do_not_divide_dim);
    suite_add_tcase(s, bad);
    return ce_test_run(s);
}
