/* Batches in one call: ce_tokenizer_encode_batch, ce_session_run_texts and
 * ce_session_output_all give exactly what the per-text calls give. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contextembed/contextembed.h"
#include "test-util.h"

static const char *const texts[] = {
    "The tide went out.",
    "Hello, world!",
    "A longer sentence with several words, some punctuation; and more.",
    "x",
    "caf\xc3\xa9 na\xc3\xafve",
};
#define N_TEXTS (sizeof texts / sizeof *texts)

static ce_model *open_fixture(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ce_test_fixtures(), name);
    ce_model *m = NULL;
    ck_assert_msg(ce_model_open(path, NULL, &m) == CE_OK, "%s", ce_last_error());
    return m;
}

static void lengths_of(size_t *lens)
{
    for (size_t i = 0; i < N_TEXTS; i++)
        lens[i] = strlen(texts[i]);
}

START_TEST(test_encode_batch_equals_encode)
{
    ce_model *m = open_fixture(_i ? "roberta-tiny" : "bert-tiny-uncased");
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    size_t lens[N_TEXTS];
    lengths_of(lens);
    const char *pairs[N_TEXTS];
    size_t pair_lens[N_TEXTS];
    for (size_t i = 0; i < N_TEXTS; i++) {
        pairs[i] = texts[N_TEXTS - 1 - i];
        pair_lens[i] = lens[N_TEXTS - 1 - i];
    }
    for (int with_pairs = 0; with_pairs < 2; with_pairs++) {
        ce_encoding *all;
        ck_assert_int_eq(ce_tokenizer_encode_batch(tok, N_TEXTS, texts, lens,
                                                   with_pairs ? pairs : NULL, pair_lens,
                                                   CE_ENCODE_ADD_SPECIAL, 9, &all),
                         CE_OK);
        ck_assert_uint_eq(ce_encoding_num_texts(all), N_TEXTS);
        const size_t *starts = ce_encoding_text_starts(all);
        ck_assert_uint_eq(starts[0], 0);
        ck_assert_uint_eq(starts[N_TEXTS], ce_encoding_length(all));
        for (size_t i = 0; i < N_TEXTS; i++) {
            ce_encoding *one;
            ck_assert_int_eq(ce_tokenizer_encode(tok, texts[i], lens[i],
                                                 with_pairs ? pairs[i] : NULL,
                                                 with_pairs ? pair_lens[i] : 0,
                                                 CE_ENCODE_ADD_SPECIAL, 9, &one),
                             CE_OK);
            size_t n = ce_encoding_length(one), at = starts[i];
            ck_assert_uint_eq(starts[i + 1] - at, n);
            ck_assert_int_eq(ce_encoding_num_texts(one), 1);
            ck_assert_int_eq(memcmp(ce_encoding_ids(all) + at, ce_encoding_ids(one), n * 4), 0);
            ck_assert_int_eq(memcmp(ce_encoding_type_ids(all) + at, ce_encoding_type_ids(one), n * 4), 0);
            ck_assert_int_eq(memcmp(ce_encoding_sequence_ids(all) + at, ce_encoding_sequence_ids(one), n * 4), 0);
            ck_assert_int_eq(memcmp(ce_encoding_offsets(all) + 2 * at, ce_encoding_offsets(one),
                                    2 * n * sizeof(size_t)), 0);
            ce_encoding_free(one);
        }
        ce_encoding_free(all);
    }
    ce_model_free(m);
}
END_TEST

START_TEST(test_encode_batch_errors)
{
    ce_model *m = open_fixture("bert-tiny-uncased");
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    const char *bad[] = {"fine", "bad \xff utf-8"};
    size_t lens[] = {4, 11};
    ce_encoding *e = (ce_encoding *)&e;
    ck_assert_int_eq(ce_tokenizer_encode_batch(tok, 2, bad, lens, NULL, NULL, 0, 0, &e),
                     CE_ERR_INVALID_UTF8);
    ck_assert_ptr_eq(e, (ce_encoding *)&e);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "text 1"));
    ck_assert_int_eq(ce_tokenizer_encode_batch(tok, 2, NULL, lens, NULL, NULL, 0, 0, &e),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_encode_batch(tok, 0, NULL, NULL, NULL, NULL, 0, 0, &e), CE_OK);
    ck_assert_uint_eq(ce_encoding_num_texts(e), 0);
    ck_assert_uint_eq(ce_encoding_length(e), 0);
    ce_encoding_free(e);
    ce_model_free(m);
}
END_TEST

/* Pooled (mean) vectors of every text, per text, through the one-call path and the per-text one. */
static void compare_paths(ce_model *m)
{
    size_t lens[N_TEXTS];
    lengths_of(lens);
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    ce_select *sel;
    ck_assert_int_eq(ce_select_create(&sel), CE_OK);
    ck_assert_int_eq(ce_select_pool(sel, CE_POOL_MEAN), CE_OK);
    uint32_t flags = CE_ENCODE_ADD_SPECIAL;
    ck_assert_msg(ce_session_run_texts(s, N_TEXTS, texts, lens, flags, 0) == CE_OK, "%s",
                  ce_last_error());
    ck_assert_uint_eq(ce_session_num_sequences(s), N_TEXTS);
    size_t count;
    ck_assert_int_eq(ce_session_output_all(s, sel, NULL, 0, &count), CE_ERR_BUFFER_TOO_SMALL);
    float *all = malloc(count * sizeof *all);
    ck_assert_int_eq(ce_session_output_all(s, sel, all, count, &count), CE_OK);
    size_t d = count / N_TEXTS;
    float *one = malloc(d * sizeof *one);
    for (size_t i = 0; i < N_TEXTS; i++) {
        ck_assert_int_eq(ce_session_run_texts(s, 1, texts + i, lens + i, flags, 0), CE_OK);
        size_t c;
        ck_assert_int_eq(ce_session_output(s, 0, sel, one, d, &c), CE_OK);
        ck_assert_uint_eq(c, d);
        for (size_t j = 0; j < d; j++)
            ck_assert_float_eq_tol(all[i * d + j], one[j], 2e-5);
    }
    /* unpooled: refused */
    ce_select *tokens;
    ck_assert_int_eq(ce_select_create(&tokens), CE_OK);
    ck_assert_int_eq(ce_session_output_all(s, tokens, all, count, &count), CE_ERR_INVALID_ARGUMENT);
    ce_select_free(tokens);
    free(one);
    free(all);
    ce_select_free(sel);
    ce_session_free(s);
}

START_TEST(test_run_texts_equals_per_text)
{
    static const char *const names[] = {"bert-tiny-uncased", "roberta-tiny", "st-mean",
                                        "elmo-skip", "gpt2-tiny"};
    ce_model *m = open_fixture(names[_i]);
    compare_paths(m);
    ce_model_free(m);
}
END_TEST

START_TEST(test_run_texts_errors)
{
    ce_model *m = NULL;
    const char cfg[] = "{\"model_type\": \"bert\", \"vocab_size\": 30, \"hidden_size\": 8, "
                       "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
                       "\"intermediate_size\": 16, \"max_position_embeddings\": 16}";
    ck_assert_int_eq(ce_model_open_random(cfg, sizeof cfg - 1, 1, NULL, &m), CE_OK);
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    size_t len = 5;
    const char *t = "hello";
    ck_assert_int_eq(ce_session_run_texts(s, 1, &t, &len, 0, 0), CE_ERR_UNSUPPORTED);
    ck_assert_int_eq(ce_session_run_texts(s, 0, &t, &len, 0, 0), CE_ERR_INVALID_ARGUMENT);
    ce_session_free(s);
    ce_model_free(m);
    m = open_fixture("bert-tiny-uncased");
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    const char *two[] = {"ok", "bad \xc3"};
    size_t lens[] = {2, 5};
    ck_assert_int_eq(ce_session_run_texts(s, 2, two, lens, 0, 0), CE_ERR_INVALID_UTF8);
    ck_assert_uint_eq(ce_session_num_sequences(s), 0);
    ce_select *sel;
    ck_assert_int_eq(ce_select_create(&sel), CE_OK);
    size_t count;
    ck_assert_int_eq(ce_session_output_all(s, sel, NULL, 0, &count), CE_ERR_STATE);
    ce_select_free(sel);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_loop_test(tc, test_encode_batch_equals_encode, 0, 2);
    tcase_add_test(tc, test_encode_batch_errors);
    tcase_add_loop_test(tc, test_run_texts_equals_per_text, 0, 5);
    tcase_add_test(tc, test_run_texts_errors);
    suite_add_tcase(su, tc);
    return ce_test_run(su);
}
