/* RoBERTa end to end against the PyTorch reference (test/gen/gen_encoders.py): every layer of
 * every case within 1e-4 on every backend run, alone, packed and as the padded batch; positions
 * after padding_idx (the longest input is max_position_embeddings - pad_token_id - 1); the
 * byte-level BPE tokenizer with RoBERTa's template from tokenizer.json and from vocab.json +
 * merges.txt; and the ways a RoBERTa directory can be wrong. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-encoder-util.h"

static const char *const fixtures[] = {"roberta-tiny", "roberta-tiny-plain"};
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

/* A literal <pad> inside a sequence (attention mask 1): Hugging Face computes
 * positions from input_ids != padding_idx, so that token gets position
 * padding_idx and the tokens after it do not count it. */
START_TEST(test_inner_pad_token)
{
    char dir[4096];
    enc_fixture_dir(fixtures[_i], dir, sizeof dir);
    ce_model *m;
    ce_session *s = enc_open_session(dir, "ref", 1, &m);
    int64_t layers, dim;
    ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim);
    enc_refs r;
    enc_load_refs(dir, "padtok", layers, dim, &r);
    ck_assert_uint_eq(r.n, 1);
    const enc_case *c = &r.cases[0];
    int has_pad = 0;
    for (size_t i = 1; i + 1 < c->len; i++)
        has_pad |= c->ids[i] == 1;
    ck_assert(has_pad);
    ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, c->types), CE_OK);
    double d = enc_compare(s, 0, c);
    ck_assert_msg(d <= ENC_TOL, "%s %s: max diff %g (positions must skip <pad> tokens)",
                  fixtures[_i], c->name, d);
    enc_free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
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
    ck_assert_str_eq(ce_model_architecture(m), "roberta");
    static const struct {
        ce_model_info key;
        const char *name;
    } facts[] = {{CE_INFO_NUM_LAYERS, "layers"},     {CE_INFO_HIDDEN_SIZE, "hidden"},
                 {CE_INFO_NUM_HEADS, "heads"},       {CE_INFO_INTERMEDIATE_SIZE, "intermediate"},
                 {CE_INFO_VOCAB_SIZE, "vocab_size"}, {CE_INFO_MAX_POSITIONS, "max_tokens"}};
    int64_t v;
    for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
        ck_assert_int_eq(ce_model_get_info(m, facts[i].key, &v), CE_OK);
        ck_assert_msg(v == enc_model_int(doc, facts[i].name), "%s: %s is %lld, want %lld", fixture,
                      facts[i].name, (long long)v, (long long)enc_model_int(doc, facts[i].name));
    }
    /* max_position_embeddings - pad_token_id - 1: positions start after padding_idx */
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &v), CE_OK);
    ck_assert_int_eq(v, enc_model_int(doc, "max_position_embeddings") -
                            enc_model_int(doc, "pad_token_id") - 1);
    if (!strcmp(fixture, "roberta-tiny"))
        ck_assert_int_eq(v, 64);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_TYPE_VOCAB_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_OUTPUT_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, enc_model_int(doc, "layers") + 1);

    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), (size_t)enc_model_int(doc, "vocab_size"));
    static const struct {
        ce_special_token role;
        const char *token;
    } roles[] = {{CE_SPECIAL_CLS, "<s>"},    {CE_SPECIAL_BOS, "<s>"},   {CE_SPECIAL_SEP, "</s>"},
                 {CE_SPECIAL_EOS, "</s>"},   {CE_SPECIAL_PAD, "<pad>"}, {CE_SPECIAL_UNK, "<unk>"},
                 {CE_SPECIAL_MASK, "<mask>"}};
    const ce_json *ids = ce_json_get(ce_json_get(doc, "tokenizer"), "special_ids");
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
        int32_t id = -7;
        int64_t want;
        ck_assert(ce_json_get_int(ids, roles[i].token, &want));
        ck_assert_msg(ce_tokenizer_special_id(tok, roles[i].role, &id) == CE_OK,
                      "%s: role of %s: %s", fixture, roles[i].token, ce_last_error());
        ck_assert_msg(id == want, "%s: %s is %d, want %lld", fixture, roles[i].token, (int)id,
                      (long long)want);
    }
    ce_model_free(m);
    ce_json_free(doc);
}
END_TEST

/* The longest input fits; one more token is CE_ERR_TOO_LONG, alone or packed. */
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
    int32_t *ids = malloc(2 * n * sizeof *ids), *types = calloc(2 * n, sizeof *types);
    for (size_t i = 0; i < 2 * n; i++)
        ids[i] = 5 + (int32_t)(i % 50);
    ids[0] = 0;
    ids[max - 1] = 2;
    size_t len = (size_t)max;
    ck_assert_msg(ce_session_run(s, 1, &len, ids, types) == CE_OK, "%s", ce_last_error());
    len = n;
    ck_assert_int_eq(ce_session_run(s, 1, &len, ids, types), CE_ERR_TOO_LONG);
    size_t lens[2] = {3, n};
    ck_assert_int_eq(ce_session_run(s, 2, lens, ids, types), CE_ERR_TOO_LONG);
    /* the tokenizer truncates to max_length and keeps </s> last */
    const char *text =
        "The keeper of the lighthouse wrote in his book every night, and every night the "
        "wind blew from the north over the sea, the ships and the old town on the hill.";
    ce_encoding *e;
    ck_assert_int_eq(ce_tokenizer_encode(ce_model_tokenizer(m), text, strlen(text), NULL, 0,
                                         CE_ENCODE_ADD_SPECIAL, (size_t)max, &e),
                     CE_OK);
    ck_assert_uint_eq(ce_encoding_length(e), (size_t)max);
    ck_assert_int_eq(ce_encoding_ids(e)[0], 0);
    ck_assert_int_eq(ce_encoding_ids(e)[max - 1], 2);
    len = ce_encoding_length(e);
    ck_assert_msg(ce_session_run(s, 1, &len, ce_encoding_ids(e), ce_encoding_type_ids(e)) == CE_OK,
                  "%s", ce_last_error());
    ce_encoding_free(e);
    free(ids);
    free(types);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* type_vocab_size is 1: type ids NULL mean zeros; a type id of 1 is out of range. */
START_TEST(test_token_types)
{
    char dir[4096];
    enc_fixture_dir("roberta-tiny", dir, sizeof dir);
    ce_model *m;
    ce_session *s = enc_open_session(dir, "ref", 1, &m);
    int64_t layers, dim;
    ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim);
    enc_refs r;
    enc_load_refs(dir, "case", layers, dim, &r);
    const enc_case *c = &r.cases[2];
    ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, NULL), CE_OK);
    ck_assert(enc_compare(s, 0, c) <= ENC_TOL);
    int32_t *types = calloc(c->len, sizeof *types);
    types[c->len - 1] = 1;
    ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, types), CE_ERR_OUT_OF_RANGE);
    free(types);
    enc_free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

START_TEST(test_text_cases)
{
    ck_assert_int_gt(enc_check_text_cases(fixtures[_i], 1), 3);
}
END_TEST

/* ---- bad input, each in a scratch copy of a fixture ---- */

START_TEST(test_pad_token_id_too_large)
{
    /* 66 positions: pad_token_id 65 leaves no position for any token */
    enc_tmp_copy("roberta-tiny");
    enc_tmp_replace("config.json", "\"pad_token_id\": 1,", "\"pad_token_id\": 65,");
    enc_expect_open_failure(CE_ERR_FORMAT, CE_OK, "pad_token_id");
    enc_tmp_replace("config.json", "\"pad_token_id\": 65,", "\"pad_token_id\": 70,");
    enc_expect_open_failure(CE_ERR_FORMAT, CE_OK, "pad_token_id");
}
END_TEST

START_TEST(test_config_asks_for_another_layer)
{
    enc_tmp_copy(fixtures[_i]);
    char from[64], to[64];
    ce_json *doc = enc_cases_json(fixtures[_i]);
    int64_t layers = enc_model_int(doc, "layers");
    ce_json_free(doc);
    snprintf(from, sizeof from, "\"num_hidden_layers\": %lld,", (long long)layers);
    snprintf(to, sizeof to, "\"num_hidden_layers\": %lld,", (long long)layers + 1);
    enc_tmp_replace("config.json", from, to);
    char needle[64];
    snprintf(needle, sizeof needle, "encoder.layer.%lld.", (long long)layers);
    enc_expect_open_failure(CE_ERR_NOT_FOUND, CE_ERR_FORMAT, needle);
}
END_TEST

START_TEST(test_missing_tensor)
{
    static const char *const names[] = {
        "encoder.layer.1.attention.self.key.bias", "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight", "encoder.layer.2.output.LayerNorm.weight"};
    enc_tmp_copy("roberta-tiny-plain");
    enc_tensors ts;
    enc_tensors_read(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_drop(&ts, names[_i]);
    enc_tensors_write(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_close(&ts);
    enc_expect_open_failure(CE_ERR_NOT_FOUND, CE_ERR_FORMAT, names[_i]);
}
END_TEST

START_TEST(test_missing_merges)
{
    enc_tmp_copy("roberta-tiny-plain");
    enc_tmp_remove("merges.txt");
    enc_expect_open_failure(CE_ERR_IO, CE_ERR_NOT_FOUND, "merges.txt"); /* as a missing file elsewhere */
}
END_TEST

/* The weights agree with the config, but the tokenizer has ids past vocab_size. */
START_TEST(test_vocab_size_below_tokenizer)
{
    static const char *const tensors[] = {"roberta.embeddings.word_embeddings.weight", "lm_head.bias", NULL};
    enc_expect_vocab_below_tokenizer("roberta-tiny", tensors, 11);
}
END_TEST

START_TEST(test_unknown_model_type)
{
    enc_tmp_copy("roberta-tiny");
    enc_tmp_replace("config.json", "\"model_type\": \"roberta\"", "\"model_type\": \"robertax\"");
    enc_expect_open_failure(CE_ERR_UNSUPPORTED, CE_OK, "distilbert");
    /* "roberta" must be listed as a known type, not only inside "robertax" */
    char *msg = strdup(ce_last_error());
    for (char *at = strstr(msg, "robertax"); at; at = strstr(at, "robertax"))
        memset(at, '_', 8);
    ck_assert_msg(strstr(msg, "roberta") != NULL, "message \"%s\" does not list roberta",
                  ce_last_error());
    free(msg);
}
END_TEST

/* Relative position embeddings are another model: refused, not computed as absolute ones. */
START_TEST(test_relative_positions_refused)
{
    enc_tmp_copy("roberta-tiny");
    enc_tmp_replace("config.json", "\"position_embedding_type\": \"absolute\"",
                    "\"position_embedding_type\": \"relative_key\"");
    enc_expect_open_failure(CE_ERR_UNSUPPORTED, CE_ERR_FORMAT, "position_embedding_type");
}
END_TEST

/* ---- random weights from a config alone ---- */

static void check_random(const char *config, int64_t want_max, int64_t want_types)
{
    ce_model *m;
    ck_assert_msg(ce_model_open_random(config, strlen(config), 7, NULL, &m) == CE_OK, "%s",
                  ce_last_error());
    ck_assert_str_eq(ce_model_architecture(m), "roberta");
    int64_t max, v;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &max), CE_OK);
    ck_assert_int_eq(max, want_max);
    if (want_types >= 0) {
        ck_assert_int_eq(ce_model_get_info(m, CE_INFO_TYPE_VOCAB_SIZE, &v), CE_OK);
        ck_assert_int_eq(v, want_types);
    }
    ce_session *s;
    ck_assert_msg(ce_session_create(m, NULL, &s) == CE_OK, "%s", ce_last_error());
    size_t lens[2] = {(size_t)max, 3};
    int32_t *ids = malloc(((size_t)max + 4) * sizeof *ids);
    for (size_t i = 0; i < (size_t)max + 4; i++)
        ids[i] = (int32_t)(3 + i % 90);
    ck_assert_msg(ce_session_run(s, 2, lens, ids, NULL) == CE_OK, "%s", ce_last_error());
    for (size_t q = 0; q < 2; q++) {
        size_t count;
        ck_assert_int_eq(ce_session_output(s, q, NULL, NULL, 0, &count), CE_ERR_BUFFER_TOO_SMALL);
        float *out = malloc(count * sizeof *out);
        ck_assert_int_eq(ce_session_output(s, q, NULL, out, count, &count), CE_OK);
        for (size_t i = 0; i < count; i++)
            ck_assert_msg(isfinite(out[i]), "output %zu of sequence %zu is %g", i, q, out[i]);
        free(out);
    }
    lens[0] = (size_t)max + 1;
    ck_assert_int_eq(ce_session_run(s, 1, lens, ids, NULL), CE_ERR_TOO_LONG);
    free(ids);
    ce_session_free(s);
    ce_model_free(m);
}

START_TEST(test_random_model)
{
    check_random("{\"model_type\": \"roberta\", \"vocab_size\": 100, \"hidden_size\": 32, "
                 "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 64, "
                 "\"max_position_embeddings\": 20, \"pad_token_id\": 1, \"type_vocab_size\": 1, "
                 "\"layer_norm_eps\": 1e-05, \"hidden_act\": \"gelu\"}",
                 18, 1);
    /* RobertaConfig's defaults: pad_token_id 1 */
    check_random("{\"model_type\": \"roberta\", \"vocab_size\": 100, \"hidden_size\": 16, "
                 "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 32, "
                 "\"max_position_embeddings\": 34}",
                 32, -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("roberta");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_fixture, 0, N_FIXTURES * CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_inner_pad_token, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_info, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_max_length, 0, N_FIXTURES);
    tcase_add_test(tc, test_token_types);
    tcase_add_loop_test(tc, test_text_cases, 0, N_FIXTURES);
    tcase_add_test(tc, test_random_model);
    suite_add_tcase(s, tc);

    TCase *bad = tcase_create("bad-input");
    tcase_add_unchecked_fixture(bad, enc_root_create, enc_root_remove);
    tcase_add_test(bad, test_pad_token_id_too_large);
    tcase_add_loop_test(bad, test_config_asks_for_another_layer, 0, N_FIXTURES);
    tcase_add_loop_test(bad, test_missing_tensor, 0, 4);
    tcase_add_test(bad, test_missing_merges);
    tcase_add_test(bad, test_vocab_size_below_tokenizer);
    tcase_add_test(bad, test_unknown_model_type);
    tcase_add_test(bad, test_relative_positions_refused);
    suite_add_tcase(s, bad);
    return ce_test_run(s);
}
