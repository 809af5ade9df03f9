/* Opening model directories: the good path, and every way a directory can be wrong: corrupt or
 * truncated weights, missing tensors, wrong shapes and dtypes, absurd configs, pickles, missing
 * files. Each must be a clean error naming the file and what was expected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contextembed/contextembed.h"
#include "test-util.h"

static char tmp[256];
static char src[4096];

static void put_file(const char *name, const char *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *get_src(const char *name, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", src, name);
    char *data = ce_test_read_file(path, len);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    return data;
}

static void copy_from_fixture(const char *name)
{
    size_t len;
    char *data = get_src(name, &len);
    put_file(name, data, len);
    free(data);
}

static void setup(void)
{
    snprintf(src, sizeof src, "%s/bert-tiny-uncased", ce_test_fixtures());
    strcpy(tmp, "/tmp/ce-model-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    copy_from_fixture("config.json");
    copy_from_fixture("model.safetensors");
    copy_from_fixture("vocab.txt");
    copy_from_fixture("tokenizer_config.json");
}

static void teardown(void)
{
    static const char *const names[] = {"config.json", "model.safetensors", "vocab.txt",
                                        "tokenizer_config.json", "pytorch_model.bin",
                                        "options.json", "contextembed.yaml"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, names[i]);
        unlink(path);
    }
    rmdir(tmp);
}

static void remove_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    ck_assert_int_eq(unlink(path), 0);
}

/* Opening must fail with @p want and a message holding @p needle. */
static void expect_failure(ce_status want, const char *needle)
{
    ce_model *m = (ce_model *)0x1;
    ce_status st = ce_model_open(tmp, NULL, &m);
    ck_assert_msg(st == want, "got %s (%s), want %s", ce_status_str(st), ce_last_error(),
                  ce_status_str(want));
    ck_assert_ptr_eq(m, (ce_model *)0x1);
    ck_assert_msg(strstr(ce_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  ce_last_error(), needle);
}

/* Replace the first occurrence of @p from by @p to (same length) in file @p name. */
static void patch(const char *name, const char *from, const char *to)
{
    ck_assert_uint_eq(strlen(from), strlen(to));
    size_t len;
    char *data = get_src(name, &len);
    char *at = memmem(data, len, from, strlen(from));
    ck_assert_ptr_nonnull(at);
    memcpy(at, to, strlen(to));
    put_file(name, data, len);
    free(data);
}

START_TEST(test_good_directory)
{
    ce_model *m;
    ck_assert_msg(ce_model_open(tmp, NULL, &m) == CE_OK, "%s", ce_last_error());
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, 64);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_OUTPUT_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, 3);
    ck_assert_str_eq(ce_model_architecture(m), "bert");
    ck_assert_ptr_nonnull(ce_model_tokenizer(m));
    ck_assert_str_eq(ce_tokenizer_kind(ce_model_tokenizer(m)), "wordpiece");
    ce_model_free(m);
}
END_TEST

START_TEST(test_truncated_weights)
{
    size_t len;
    char *data = get_src("model.safetensors", &len);
    /* every length through the header, then a spread through the data */
    for (size_t cut = 0; cut < len; cut += cut < 2048 ? 1 : 997) {
        put_file("model.safetensors", data, cut);
        ce_model *m = (ce_model *)0x1;
        ce_status st = ce_model_open(tmp, NULL, &m);
        ck_assert_msg(st == CE_ERR_FORMAT || st == CE_ERR_IO, "cut %zu: %s", cut, ce_status_str(st));
        ck_assert_ptr_eq(m, (ce_model *)0x1);
        ck_assert_ptr_nonnull(strstr(ce_last_error(), "model.safetensors"));
    }
    free(data);
}
END_TEST

START_TEST(test_missing_tensor)
{
    patch("model.safetensors", "encoder.layer.1.output.dense.bias", "encoder.layer.1.output.dense.biaz");
    expect_failure(CE_ERR_NOT_FOUND, "encoder.layer.1.output.dense.bias");
}
END_TEST

START_TEST(test_wrong_dtype)
{
    patch("model.safetensors", "{\"dtype\":\"F32\",\"shape\":[64,64]", "{\"dtype\":\"I32\",\"shape\":[64,64]");
    expect_failure(CE_ERR_FORMAT, "I32");
}
END_TEST

START_TEST(test_shape_lies)
{
    /* config says hidden 32 while the weights are 64 wide: 2 heads keep it divisible */
    patch("config.json", "\"hidden_size\": 64", "\"hidden_size\": 32");
    expect_failure(CE_ERR_FORMAT, "expected");
}
END_TEST

START_TEST(test_more_layers_than_weights)
{
    patch("config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3");
    expect_failure(CE_ERR_NOT_FOUND, "encoder.layer.2.");
}
END_TEST

START_TEST(test_bad_configs)
{
    put_file("config.json", "{\"model_type\": \"bert\"", 21);
    expect_failure(CE_ERR_FORMAT, "config.json");
    const char t5[] = "{\"model_type\": \"t5\"}";
    put_file("config.json", t5, sizeof t5 - 1);
    expect_failure(CE_ERR_UNSUPPORTED, "t5");
    const char huge[] = "{\"model_type\": \"bert\", \"vocab_size\": 99999999999, \"hidden_size\": 64,"
                        " \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                        " \"intermediate_size\": 128, \"max_position_embeddings\": 64}";
    put_file("config.json", huge, sizeof huge - 1);
    expect_failure(CE_ERR_FORMAT, "vocab_size");
    remove_file("config.json");
    expect_failure(CE_ERR_NOT_FOUND, "config.json");
    put_file("options.json", "{}", 2);
    expect_failure(CE_ERR_UNSUPPORTED, "ELMo");
}
END_TEST

START_TEST(test_pickle_refused)
{
    remove_file("model.safetensors");
    put_file("pytorch_model.bin", "PK\x03\x04", 4);
    expect_failure(CE_ERR_UNSUPPORTED, "safetensors");
    remove_file("pytorch_model.bin");
    expect_failure(CE_ERR_NOT_FOUND, tmp);
}
END_TEST

START_TEST(test_bad_tokenizer_files)
{
    put_file("vocab.txt", "", 0);
    ce_model *m = (ce_model *)0x1;
    ck_assert_int_ne(ce_model_open(tmp, NULL, &m), CE_OK);
    ck_assert_ptr_eq(m, (ce_model *)0x1);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "vocab.txt"));
    /* without any tokenizer file the model still opens, for id input */
    remove_file("vocab.txt");
    ck_assert_int_eq(ce_model_open(tmp, NULL, &m), CE_OK);
    ck_assert_ptr_null(ce_model_tokenizer(m));
    ce_model_free(m);
}
END_TEST

START_TEST(test_not_a_directory)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", tmp);
    ce_model *m = (ce_model *)0x1;
    ck_assert_int_eq(ce_model_open(path, NULL, &m), CE_ERR_IO);
    ck_assert_ptr_eq(m, (ce_model *)0x1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model-open");
    TCase *tc = tcase_create("directories");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_good_directory);
    tcase_add_test(tc, test_truncated_weights);
    tcase_add_test(tc, test_missing_tensor);
    tcase_add_test(tc, test_wrong_dtype);
    tcase_add_test(tc, test_shape_lies);
    tcase_add_test(tc, test_more_layers_than_weights);
    tcase_add_test(tc, test_bad_configs);
    tcase_add_test(tc, test_pickle_refused);
    tcase_add_test(tc, test_bad_tokenizer_files);
    tcase_add_test(tc, test_not_a_directory);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
