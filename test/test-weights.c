/* ce_weights: float32 views, zero copy, conversions, error messages, sharded
 * checkpoints, model directories. Files are written byte by byte here. */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/half.h"
#include "io/model_dir.h"
#include "io/weights.h"
#include "test-util.h"

/* ---- scratch directory and file writers ---- */

/* One root per run, made and removed by the parent process (so it goes even
 * when a forked test fails), and a fresh directory inside it per test. */
static char root[512], tmp[600];

static void root_create(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/ce-weights-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root))
        abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void root_remove(void)
{
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void tmp_create(void)
{
    snprintf(tmp, sizeof tmp, "%s/t-XXXXXX", root);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static const char *tpath(const char *name)
{
    static char bufs[8][700];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp, name);
    return b;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *s)
{
    write_bytes(path, s, strlen(s));
}

/* u64le(hlen) + header padded with spaces to hlen (0: no padding) + data. */
static void write_st(const char *path, const char *header, size_t hlen, const void *data,
                     size_t dlen)
{
    size_t h = strlen(header);
    if (hlen == 0)
        hlen = h;
    ck_assert_uint_ge(hlen, h);
    uint8_t *b = malloc(8 + hlen + dlen);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', hlen - h);
    if (dlen)
        memcpy(b + 8 + hlen, data, dlen);
    write_bytes(path, b, 8 + hlen + dlen);
    free(b);
}

static void mkdir_in_tmp(const char *name)
{
    ck_assert_int_eq(mkdir(tpath(name), 0755), 0);
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void assert_message_has(const char *what)
{
    ck_assert_msg(strstr(ce_last_error(), what) != NULL, "message lacks '%s': %s", what,
                  ce_last_error());
}

/* ---- a file with every float dtype ---- */

static const char HEADER[] =
    "{\"__metadata__\": {\"format\": \"pt\"},"
    "\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},"
    "\"h\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [24, 32]},"
    "\"b\": {\"dtype\": \"BF16\", \"shape\": [2, 2], \"data_offsets\": [32, 40]},"
    "\"d\": {\"dtype\": \"F64\", \"shape\": [3], \"data_offsets\": [40, 64]},"
    "\"i\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [64, 80]},"
    "\"m\": {\"dtype\": \"BOOL\", \"shape\": [1], \"data_offsets\": [80, 81]},"
    "\"f2\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [81, 89]},"
    "\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [92, 96]}}";
#define DATA_LEN 96

static const float A[6] = {1.5f, -2.0f, 3.25f, 1e-30f, 65504.0f, -0.0f};
static const float F2[2] = {0.5f, 1234.5f};

static void make_data(uint8_t *d)
{
    memset(d, 0, DATA_LEN);
    memcpy(d, A, sizeof A);
    const uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7c00};
    memcpy(d + 24, h, sizeof h);
    const uint16_t b[4] = {0x3f80, 0xc040, 0x0001, 0xffc1};
    memcpy(d + 32, b, sizeof b);
    const double f64[3] = {0.1, -1e300, 3.0};
    memcpy(d + 40, f64, sizeof f64);
    const int64_t i[2] = {7, -9};
    memcpy(d + 64, i, sizeof i);
    d[80] = 1;
    memcpy(d + 81, F2, sizeof F2);
    const float s = 42.0f;
    memcpy(d + 92, &s, sizeof s);
}

/* Header padded so that the data starts at file offset 8 + hlen. */
static const char *write_model(const char *name, size_t pad_to)
{
    uint8_t data[DATA_LEN];
    make_data(data);
    const char *path = tpath(name);
    write_st(path, HEADER, pad_to, data, sizeof data);
    return path;
}

static const float *get(ce_weights *w, const char *name, int ndim, int64_t d0, int64_t d1)
{
    const int64_t shape[2] = {d0, d1};
    const float *p = NULL;
    ce_status s = ce_weights_get_f32(w, name, ndim, shape, &p);
    ck_assert_msg(s == CE_OK, "%s: %s", name, ce_last_error());
    ck_assert_ptr_nonnull(p);
    return p;
}

static void check_values(ce_weights *w)
{
    const float *a = get(w, "a", 2, 2, 3);
    for (int k = 0; k < 6; k++)
        ck_assert_uint_eq(bits_of(a[k]), bits_of(A[k]));
    const float *h = get(w, "h", 1, 4, 0);
    ck_assert(h[0] == 1.0f && h[1] == -2.0f && h[2] == ldexpf(1.0f, -24));
    ck_assert(isinf(h[3]) && h[3] > 0);
    const float *b = get(w, "b", 2, 2, 2);
    ck_assert(b[0] == 1.0f && b[1] == -3.0f && b[2] == ldexpf(1.0f, -133));
    ck_assert_uint_eq(bits_of(b[3]), 0xffc10000u); /* NaN payload and sign kept */
    const float *d = get(w, "d", 1, 3, 0);
    ck_assert(d[0] == (float)0.1 && isinf(d[1]) && d[1] < 0 && d[2] == 3.0f);
    const float *f2 = get(w, "f2", 1, 2, 0);
    ck_assert(f2[0] == F2[0] && f2[1] == F2[1]);
    const float *s = get(w, "s", 0, 0, 0);
    ck_assert(s[0] == 42.0f);
}

START_TEST(test_read_back_and_zero_copy)
{
    const char *path = write_model("model.safetensors", 8 * ((sizeof HEADER + 7) / 8));
    ce_weights *w = NULL;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    ck_assert_uint_eq(ce_weights_count(w), 8);
    ck_assert_str_eq(ce_weights_at(w, 0)->name, "a");
    ck_assert_str_eq(ce_weights_at(w, 7)->name, "s");
    ck_assert_ptr_null(ce_weights_at(w, 8));
    ck_assert_str_eq(ce_weights_find(w, "f2")->file, path);
    ck_assert_ptr_null(ce_weights_find(w, "f"));
    ck_assert_ptr_null(ce_weights_find(w, "__metadata__"));
    ck_assert_uint_eq(ce_weights_bytes_mapped(w), DATA_LEN - 3);
    check_values(w);

    /* Aligned F32 comes straight from the mapping, converted ones do not. */
    const ce_tensor_info *ta = ce_weights_find(w, "a"), *tf2 = ce_weights_find(w, "f2");
    ck_assert_uint_eq((uintptr_t)ta->data % 4, 0);
    ck_assert_uint_ne((uintptr_t)tf2->data % 4, 0);
    ck_assert_ptr_eq(get(w, "a", 2, 2, 3), ta->data);
    ck_assert_ptr_eq(get(w, "s", 0, 0, 0), ce_weights_find(w, "s")->data);
    ck_assert_ptr_ne(get(w, "f2", 1, 2, 0), tf2->data);
    /* h (4) + b (4) + d (3) + f2 (2) floats converted, once. */
    ck_assert_uint_eq(ce_weights_bytes_converted(w), 13 * sizeof(float));
    const float *h1 = get(w, "h", 1, 4, 0);
    ck_assert_ptr_eq(get(w, "h", 1, 4, 0), h1);
    ck_assert_uint_eq(ce_weights_bytes_converted(w), 13 * sizeof(float));
    ce_weights_close(w);
}
END_TEST

START_TEST(test_misaligned_by_header_padding)
{
    /* An odd header length, 8 + hlen = 3 (mod 4): 'a' (offset 0) and 's' (92) are
     * misaligned, 'f2' (81) becomes aligned. */
    size_t hlen = 4 * ((sizeof HEADER + 3) / 4) + 3;
    const char *path = write_model("odd.safetensors", hlen);
    ce_weights *w = NULL;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    const ce_tensor_info *ta = ce_weights_find(w, "a");
    ck_assert_uint_eq((uintptr_t)ta->data % 4, 3);
    check_values(w);
    ck_assert_ptr_ne(get(w, "a", 2, 2, 3), ta->data);
    /* f2 at offset 81 is now aligned: in place. */
    ck_assert_ptr_eq(get(w, "f2", 1, 2, 0), ce_weights_find(w, "f2")->data);
    ck_assert_uint_eq(ce_weights_bytes_converted(w), (4 + 4 + 3 + 6 + 1) * sizeof(float));
    ce_weights_close(w);
}
END_TEST

START_TEST(test_get_errors_name_file_and_tensor)
{
    const char *path = write_model("model.safetensors", 0);
    ce_weights *w = NULL;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    const float *sentinel = (const float *)0x1, *p = sentinel;

    const int64_t wrong[2] = {3, 2};
    ck_assert_int_eq(ce_weights_get_f32(w, "a", 2, wrong, &p), CE_ERR_FORMAT);
    assert_message_has(path);
    assert_message_has("'a'");
    assert_message_has("has shape [2, 3], expected [3, 2]");

    const int64_t flat[1] = {6};
    ck_assert_int_eq(ce_weights_get_f32(w, "a", 1, flat, &p), CE_ERR_FORMAT);
    assert_message_has("has shape [2, 3], expected [6]");
    ck_assert_int_eq(ce_weights_get_f32(w, "s", 1, flat, &p), CE_ERR_FORMAT);
    assert_message_has("has shape [], expected [6]");

    ck_assert_int_eq(ce_weights_get_f32(w, "encoder.layer.0.missing", 1, flat, &p),
                     CE_ERR_NOT_FOUND);
    assert_message_has(path);
    assert_message_has("'encoder.layer.0.missing'");

    const int64_t two[1] = {2};
    ck_assert_int_eq(ce_weights_get_f32(w, "i", 1, two, &p), CE_ERR_FORMAT);
    assert_message_has(path);
    assert_message_has("'i'");
    assert_message_has("I64");
    const int64_t one[1] = {1};
    ck_assert_int_eq(ce_weights_get_f32(w, "m", 1, one, &p), CE_ERR_FORMAT);
    assert_message_has("BOOL");

    ck_assert_int_eq(ce_weights_get_f32(w, "a", 9, wrong, &p), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_weights_get_f32(w, "a", 2, NULL, &p), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_weights_get_f32(NULL, "a", 2, wrong, &p), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_eq(p, sentinel);
    ck_assert_uint_eq(ce_weights_bytes_converted(w), 0);
    ce_weights_close(w);

    ce_weights_close(NULL);
    ck_assert_uint_eq(ce_weights_count(NULL), 0);
    ck_assert_ptr_null(ce_weights_at(NULL, 0));
    ck_assert_ptr_null(ce_weights_find(NULL, "a"));
    ck_assert_uint_eq(ce_weights_bytes_converted(NULL), 0);
}
END_TEST

START_TEST(test_duplicate_names_in_one_file)
{
    const uint8_t data[32] = {0};
    const char *path = tpath("dup.safetensors");
    write_st(path,
             "{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
             " \"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 32]}}",
             0, data, sizeof data);
    ce_weights *w = (ce_weights *)0x1;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_ERR_FORMAT);
    ck_assert_ptr_eq(w, (ce_weights *)0x1);
    assert_message_has("'x'");
    assert_message_has("twice");
}
END_TEST

START_TEST(test_many_tensors_hash_lookup)
{
    /* 300 one-element tensors: every name found, through table growth and collisions. */
    enum { N = 300 };
    size_t cap = 128 * N + 16;
    char *header = malloc(cap);
    size_t n = (size_t)snprintf(header, cap, "{");
    float data[N];
    for (int i = 0; i < N; i++) {
        data[i] = (float)i;
        n += (size_t)snprintf(header + n, cap - n,
                              "%s\"layer.%d.w\": {\"dtype\": \"F32\", \"shape\": [1], "
                              "\"data_offsets\": [%d, %d]}",
                              i ? "," : "", i, 4 * i, 4 * i + 4);
    }
    ck_assert_uint_lt(n + 1, cap);
    snprintf(header + n, cap - n, "}");
    const char *path = tpath("many.safetensors");
    write_st(path, header, 0, data, sizeof data);
    free(header);
    ce_weights *w = NULL;
    ck_assert_msg(ce_weights_open_file(path, &w) == CE_OK, "%s", ce_last_error());
    ck_assert_uint_eq(ce_weights_count(w), N);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer.%d.w", i);
        const int64_t one[1] = {1};
        const float *p = NULL;
        ck_assert_int_eq(ce_weights_get_f32(w, name, 1, one, &p), CE_OK);
        ck_assert(*p == (float)i);
    }
    ck_assert_ptr_null(ce_weights_find(w, "layer.300.w"));
    ce_weights_close(w);
}
END_TEST

/* ---- sharded checkpoints ---- */

static const char SHARD1[] =
    "{\"emb\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
    " \"l0\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [8, 12]}}";
static const char SHARD2[] =
    "{\"l1\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}}";
static const char INDEX[] =
    "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {"
    "\"emb\": \"model-00001-of-00002.safetensors\", \"l0\": \"model-00001-of-00002.safetensors\","
    " \"l1\": \"model-00002-of-00002.safetensors\"}}";

static void write_shards(const char *dir)
{
    char p[800];
    const float e[2] = {1.0f, 2.0f};
    uint8_t d1[12];
    memcpy(d1, e, 8);
    const uint16_t l0[2] = {0x4000, 0xbc00};
    memcpy(d1 + 8, l0, 4);
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", tpath(dir));
    write_st(p, SHARD1, 0, d1, sizeof d1);
    const float l1[3] = {4.0f, 5.0f, 6.0f};
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", tpath(dir));
    write_st(p, SHARD2, 0, l1, sizeof l1);
}

static void write_index(const char *dir, const char *text)
{
    char p[800];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", tpath(dir));
    write_text(p, text);
}

static ce_status open_dir_expect(const char *dir, ce_status code)
{
    ce_weights *w = (ce_weights *)0x1;
    ce_status s = ce_weights_open_dir(tpath(dir), &w);
    ck_assert_msg(s == code, "%s: got %s (%s)", dir, ce_status_str(s), ce_last_error());
    ck_assert_ptr_eq(w, (ce_weights *)0x1);
    return s;
}

START_TEST(test_sharded_good)
{
    mkdir_in_tmp("m");
    write_shards("m");
    write_index("m", INDEX);
    ce_weights *w = NULL;
    ck_assert_int_eq(ce_weights_open_dir(tpath("m"), &w), CE_OK);
    ck_assert_uint_eq(ce_weights_count(w), 3);
    const float *p;
    p = get(w, "emb", 1, 2, 0);
    ck_assert(p[0] == 1.0f && p[1] == 2.0f);
    p = get(w, "l0", 1, 2, 0);
    ck_assert(p[0] == 2.0f && p[1] == -1.0f);
    p = get(w, "l1", 1, 3, 0);
    ck_assert(p[0] == 4.0f && p[2] == 6.0f);
    ck_assert_ptr_nonnull(strstr(ce_weights_find(w, "l1")->file, "model-00002-of-00002"));
    ck_assert_ptr_nonnull(strstr(ce_weights_find(w, "emb")->file, "model-00001-of-00002"));
    /* Errors on a sharded model name the shard that holds the tensor. */
    const int64_t bad[1] = {4};
    ck_assert_int_eq(ce_weights_get_f32(w, "l1", 1, bad, &p), CE_ERR_FORMAT);
    assert_message_has("model-00002-of-00002.safetensors: tensor 'l1' has shape [3], expected [4]");
    ce_weights_close(w);
}
END_TEST

START_TEST(test_sharded_missing_shard)
{
    mkdir_in_tmp("m");
    write_shards("m");
    write_index("m", INDEX);
    char p[800];
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", tpath("m"));
    ck_assert_int_eq(unlink(p), 0);
    open_dir_expect("m", CE_ERR_IO);
    assert_message_has("model-00002-of-00002.safetensors");
    assert_message_has("model.safetensors.index.json");
}
END_TEST

START_TEST(test_sharded_tensor_not_in_named_shard)
{
    mkdir_in_tmp("m");
    write_shards("m");
    /* l1 exists, but in the other shard. */
    write_index("m", "{\"weight_map\": {\"emb\": \"model-00001-of-00002.safetensors\","
                     " \"l1\": \"model-00001-of-00002.safetensors\","
                     " \"l0\": \"model-00002-of-00002.safetensors\"}}");
    open_dir_expect("m", CE_ERR_FORMAT);
    assert_message_has("'l1'");
    assert_message_has("model-00001-of-00002.safetensors");
    /* A tensor that no shard has. */
    write_index("m", "{\"weight_map\": {\"emb\": \"model-00001-of-00002.safetensors\","
                     " \"ghost\": \"model-00002-of-00002.safetensors\"}}");
    open_dir_expect("m", CE_ERR_FORMAT);
    assert_message_has("'ghost'");
}
END_TEST

START_TEST(test_sharded_duplicate_and_bad_index)
{
    mkdir_in_tmp("m");
    write_shards("m");
    char p[800];
    const float l1[3] = {0};
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", tpath("m"));
    write_st(p, "{\"emb\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}}", 0, l1,
             sizeof l1);
    write_index("m", INDEX);
    open_dir_expect("m", CE_ERR_FORMAT);
    assert_message_has("'emb'");
    assert_message_has("model-00001-of-00002.safetensors and ");

    write_shards("m");
    const char *bad[] = {
        "{\"weight_map\": {\"emb\": \"../model-00001-of-00002.safetensors\"}}",
        "{\"weight_map\": {\"emb\": \"/etc/passwd\"}}",
        "{\"weight_map\": {\"emb\": 3}}",
        "{\"weight_map\": {}}",
        "{\"weight_map\": [\"model-00001-of-00002.safetensors\"]}",
        "{\"metadata\": {}}",
        "{\"weight_map\": ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_index("m", bad[i]);
        open_dir_expect("m", CE_ERR_FORMAT);
        assert_message_has("model.safetensors.index.json");
    }
    /* A corrupt shard is reported as such, with the index as context. */
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", tpath("m"));
    write_bytes(p, "\x40\x00\x00\x00\x00\x00\x00\x00{", 9);
    write_index("m", INDEX);
    open_dir_expect("m", CE_ERR_FORMAT);
    assert_message_has("model-00002-of-00002.safetensors");
}
END_TEST

/* ---- model directories ---- */

START_TEST(test_dir_single_file_preferred)
{
    mkdir_in_tmp("m");
    char p[800];
    snprintf(p, sizeof p, "%s/model.safetensors", tpath("m"));
    uint8_t data[DATA_LEN];
    make_data(data);
    write_st(p, HEADER, 0, data, sizeof data);
    write_index("m", "{\"weight_map\": "); /* ignored: model.safetensors wins */
    snprintf(p, sizeof p, "%s/pytorch_model.bin", tpath("m"));
    write_text(p, "not read");
    ce_weights *w = NULL;
    ck_assert_int_eq(ce_weights_open_dir(tpath("m"), &w), CE_OK);
    ck_assert_uint_eq(ce_weights_count(w), 8);
    check_values(w);
    ce_weights_close(w);
}
END_TEST

START_TEST(test_dir_pickles_refused)
{
    mkdir_in_tmp("m");
    char p[800];
    snprintf(p, sizeof p, "%s/pytorch_model.bin", tpath("m"));
    write_text(p, "PK\x03\x04 pickle");
    snprintf(p, sizeof p, "%s/config.json", tpath("m"));
    write_text(p, "{}");
    open_dir_expect("m", CE_ERR_UNSUPPORTED);
    assert_message_has("pytorch_model.bin");
    assert_message_has("safetensors.torch");
    assert_message_has("save_file");
    assert_message_has("safe_serialization=True");

    mkdir_in_tmp("pt");
    snprintf(p, sizeof p, "%s/weights.pt", tpath("pt"));
    write_text(p, "x");
    open_dir_expect("pt", CE_ERR_UNSUPPORTED);
    assert_message_has("weights.pt");

    mkdir_in_tmp("h5");
    snprintf(p, sizeof p, "%s/elmo_weights.hdf5", tpath("h5"));
    write_text(p, "x");
    open_dir_expect("h5", CE_ERR_UNSUPPORTED);
    assert_message_has("elmo_weights.hdf5");

    /* Trainer state is not weights; an empty directory has none either. */
    mkdir_in_tmp("t");
    snprintf(p, sizeof p, "%s/training_args.bin", tpath("t"));
    write_text(p, "x");
    open_dir_expect("t", CE_ERR_NOT_FOUND);
    assert_message_has("model.safetensors");
    mkdir_in_tmp("e");
    open_dir_expect("e", CE_ERR_NOT_FOUND);

    open_dir_expect("absent", CE_ERR_NOT_FOUND);
    snprintf(p, sizeof p, "%s/config.json", tpath("m"));
    ce_weights *w = (ce_weights *)0x1;
    ck_assert_int_eq(ce_weights_open_dir(p, &w), CE_ERR_IO);
    assert_message_has("not a directory");
    ck_assert_ptr_eq(w, (ce_weights *)0x1);
}
END_TEST

START_TEST(test_model_dir_probe)
{
    mkdir_in_tmp("m");
    const char *present[] = {
        "config.json", "vocab.txt",         "tokenizer.json",    "tokenizer_config.json",
        "merges.txt",  "contextembed.yaml", "model.safetensors", "special_tokens_map.json"};
    char p[800];
    for (size_t i = 0; i < sizeof present / sizeof *present; i++) {
        snprintf(p, sizeof p, "%s/%s", tpath("m"), present[i]);
        write_text(p, "x");
    }
    /* A symlink to a file counts (the Hugging Face cache), a directory does not. */
    write_text(tpath("real-vocab.json"), "{}");
    snprintf(p, sizeof p, "%s/vocab.json", tpath("m"));
    ck_assert_int_eq(symlink(tpath("real-vocab.json"), p), 0);
    snprintf(p, sizeof p, "%s/options.json", tpath("m"));
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/zz.ckpt", tpath("m"));
    write_text(p, "x");
    snprintf(p, sizeof p, "%s/aa.pth", tpath("m"));
    write_text(p, "x");

    ce_model_dir d;
    ck_assert_int_eq(ce_model_dir_probe(tpath("m"), &d), CE_OK);
    char want[800];
    snprintf(want, sizeof want, "%s/config.json", tpath("m"));
    ck_assert_str_eq(d.config_json, want);
    ck_assert_str_eq(d.dir, tpath("m"));
    ck_assert_ptr_nonnull(d.vocab_txt);
    ck_assert_ptr_nonnull(d.tokenizer_json);
    ck_assert_ptr_nonnull(d.tokenizer_config_json);
    ck_assert_ptr_nonnull(d.special_tokens_map_json);
    ck_assert_ptr_nonnull(d.merges_txt);
    ck_assert_ptr_nonnull(d.contextembed_yaml);
    ck_assert_ptr_nonnull(d.safetensors);
    ck_assert_ptr_nonnull(strstr(d.vocab_json, "/vocab.json"));
    ck_assert_ptr_null(d.options_json);
    ck_assert_ptr_null(d.safetensors_index);
    ck_assert_ptr_null(d.hdf5_weights);
    ck_assert_ptr_nonnull(strstr(d.pickle_weights, "/aa.pth")); /* first by name */
    ce_model_dir_free(&d);
    ck_assert_ptr_null(d.config_json);
    ce_model_dir_free(&d); /* twice is harmless */
    ce_model_dir_free(NULL);

    /* A trailing slash does not double. */
    char slash[800];
    snprintf(slash, sizeof slash, "%s/", tpath("m"));
    ck_assert_int_eq(ce_model_dir_probe(slash, &d), CE_OK);
    ck_assert_str_eq(d.config_json, want);
    ce_model_dir_free(&d);

    ce_model_dir untouched = {.dir = (char *)"sentinel"};
    ck_assert_int_eq(ce_model_dir_probe(want, &untouched), CE_ERR_IO);
    assert_message_has("not a directory");
    assert_message_has(want);
    ck_assert_int_eq(ce_model_dir_probe(tpath("absent"), &untouched), CE_ERR_NOT_FOUND);
    assert_message_has("absent");
    ck_assert_str_eq(untouched.dir, "sentinel");
    ck_assert_int_eq(ce_model_dir_probe(NULL, &untouched), CE_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- files written by other tools (shared/refdata): values checked against a
 * Python json + numpy reading of the same bytes ---- */

static double sum_of(const float *p, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static void check_tensor(ce_weights *w, const char *name, int64_t d0, int64_t d1, float first,
                         float last, double sum)
{
    const float *p = get(w, name, 2, d0, d1);
    size_t n = (size_t)(d0 * d1);
    ck_assert_msg(p[0] == first && p[n - 1] == last, "%s: %a %a", name, p[0], p[n - 1]);
    ck_assert_msg(fabs(sum_of(p, n) - sum) < 1e-9, "%s: sum %.17g, want %.17g", name, sum_of(p, n),
                  sum);
}

/* Every tensor through get_f32 with its own shape; returns how many were float. */
static size_t get_all(ce_weights *w)
{
    size_t floats = 0;
    for (size_t i = 0; i < ce_weights_count(w); i++) {
        const ce_tensor_info *t = ce_weights_at(w, i);
        const float *p = NULL;
        ce_status s = ce_weights_get_f32(w, t->name, t->ndim, t->shape, &p);
        ck_assert_int_eq(s, ce_dtype_is_float(t->dtype) ? CE_OK : CE_ERR_FORMAT);
        floats += s == CE_OK;
    }
    return floats;
}

START_TEST(test_refdata_files)
{
    const char *ref = ce_test_refdata();
    ck_assert_ptr_nonnull(ref);
    char p[800];
    snprintf(p, sizeof p, "%s/models/tiny-random-gpt2", ref);
    ce_weights *w = NULL;
    ck_assert_msg(ce_weights_open_dir(p, &w) == CE_OK, "%s", ce_last_error());
    ck_assert_uint_eq(ce_weights_count(w), 64);
    check_tensor(w, "transformer.h.0.attn.c_attn.weight", 32, 96, 0.02560567855834961f,
                 -0.031678564846515656f, 2.6888116869440637);
    check_tensor(w, "transformer.wte.weight", 1000, 32, -0.020643139258027077f,
                 -0.004175789188593626f, 0.07420032310841407);
    /* The reference writer aligns its data: every tensor is used in place. */
    ck_assert_uint_eq(get_all(w), 64);
    ck_assert_uint_eq(ce_weights_bytes_converted(w), 0);
    ce_weights_close(w);

    snprintf(p, sizeof p, "%s/elmo/bilm-tf/lm_weights.safetensors", ref);
    ck_assert_msg(ce_weights_open_file(p, &w) == CE_OK, "%s", ce_last_error());
    ck_assert_uint_eq(ce_weights_count(w), 33);
    check_tensor(w, "char_embed", 261, 4, 0.22819972038269043f, -0.5561524629592896f,
                 24.49664287804626);
    ck_assert_uint_eq(get_all(w), 33);
    ce_weights_close(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("weights");
    TCase *tc = tcase_create("weights");
    tcase_add_unchecked_fixture(tc, root_create, root_remove);
    tcase_add_checked_fixture(tc, tmp_create, NULL);
    tcase_add_test(tc, test_read_back_and_zero_copy);
    tcase_add_test(tc, test_misaligned_by_header_padding);
    tcase_add_test(tc, test_get_errors_name_file_and_tensor);
    tcase_add_test(tc, test_duplicate_names_in_one_file);
    tcase_add_test(tc, test_many_tensors_hash_lookup);
    tcase_add_test(tc, test_sharded_good);
    tcase_add_test(tc, test_sharded_missing_shard);
    tcase_add_test(tc, test_sharded_tensor_not_in_named_shard);
    tcase_add_test(tc, test_sharded_duplicate_and_bad_index);
    tcase_add_test(tc, test_dir_single_file_preferred);
    tcase_add_test(tc, test_dir_pickles_refused);
    tcase_add_test(tc, test_model_dir_probe);
    suite_add_tcase(s, tc);
    if (ce_test_refdata()) { /* else a SKIP line is printed and the rest still runs */
        TCase *tr = tcase_create("refdata");
        tcase_add_test(tr, test_refdata_files);
        suite_add_tcase(s, tr);
    }
    return ce_test_run(s);
}
