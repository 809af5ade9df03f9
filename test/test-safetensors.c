/* The file layer: mapping, safetensors header validation, f16/bf16 decoding.
 *
 * Test files are written byte by byte here (hand-written JSON headers), so the
 * reader is checked against the format itself, not against a writer of ours. */
#include <errno.h>
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
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "test-util.h"

/* ---- scratch directory and file writers ---- */

/* One root per run, made and removed by the parent process (so it goes even
 * when a forked test fails), and a fresh directory inside it per test. */
static char root[512], tmp[600];

static void root_create(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/ce-safetensors-XXXXXX", base && *base ? base : "/tmp");
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

/* Path of @p name inside the scratch directory (rotating static buffers). */
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

/* Build u64le(hlen) + header padded with spaces to hlen (0: no padding) + data
 * into a malloc'd buffer of *total bytes. */
static uint8_t *st_bytes(const char *header, size_t hlen, const void *data, size_t dlen,
                         size_t *total)
{
    size_t h = strlen(header);
    if (hlen == 0)
        hlen = h;
    ck_assert_uint_ge(hlen, h);
    *total = 8 + hlen + dlen;
    uint8_t *b = malloc(*total);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', hlen - h);
    if (dlen)
        memcpy(b + 8 + hlen, data, dlen);
    return b;
}

static void write_st(const char *path, const char *header, size_t hlen, const void *data,
                     size_t dlen)
{
    size_t n;
    uint8_t *b = st_bytes(header, hlen, data, dlen, &n);
    write_bytes(path, b, n);
    free(b);
}

/* Open @p path expecting failure @p code with @p what in the message. */
static void expect_error(const char *path, ce_status code, const char *what)
{
    ce_safetensors *st = (ce_safetensors *)0x1;
    ce_status s = ce_safetensors_open(path, &st);
    ck_assert_msg(s == code, "%s: got %s (%s), expected %s", what ? what : "", ce_status_str(s),
                  ce_last_error(), ce_status_str(code));
    ck_assert_ptr_eq(st, (ce_safetensors *)0x1);
    ck_assert_msg(strstr(ce_last_error(), path) != NULL, "message lacks the path: %s",
                  ce_last_error());
    if (what)
        ck_assert_msg(strstr(ce_last_error(), what) != NULL, "message lacks '%s': %s", what,
                      ce_last_error());
}

/* ---- a valid file with every float dtype, an int tensor, a misaligned F32 ---- */

static const char VALID_HEADER[] =
    "{\"__metadata__\": {\"format\": \"pt\"},"
    "\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},"
    "\"h\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [24, 32]},"
    "\"b\": {\"dtype\": \"BF16\", \"shape\": [2, 2], \"data_offsets\": [32, 40]},"
    "\"d\": {\"dtype\": \"F64\", \"shape\": [3], \"data_offsets\": [40, 64]},"
    "\"i\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [64, 80]},"
    "\"m\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [80, 81]},"
    "\"f2\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [81, 89]},"
    "\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [89, 93]},"
    "\"z\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [93, 93]}}";
#define VALID_DATA_LEN 93

static void valid_data(uint8_t *d)
{
    memset(d, 0, VALID_DATA_LEN);
    const float a[6] = {1.5f, -2.0f, 3.25f, 1e-30f, 65504.0f, -0.0f};
    memcpy(d, a, sizeof a);
    const uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7c00};
    memcpy(d + 24, h, sizeof h);
    const uint16_t b[4] = {0x3f80, 0xc040, 0x0001, 0x7fc0};
    memcpy(d + 32, b, sizeof b);
    const double f64[3] = {0.1, -1e300, 3.0};
    memcpy(d + 40, f64, sizeof f64);
    const int64_t i[2] = {7, -9};
    memcpy(d + 64, i, sizeof i);
    d[80] = 0xab;
    const float f2[2] = {0.5f, 1234.5f};
    memcpy(d + 81, f2, sizeof f2);
    const float s = 42.0f;
    memcpy(d + 89, &s, sizeof s);
}

START_TEST(test_valid_file)
{
    uint8_t data[VALID_DATA_LEN];
    valid_data(data);
    const char *path = tpath("model.safetensors");
    size_t hlen = 8 * ((strlen(VALID_HEADER) + 7) / 8); /* data starts 8-byte aligned */
    write_st(path, VALID_HEADER, hlen, data, sizeof data);

    for (unsigned flags = 0; flags <= CE_MAPPED_FILE_NO_MMAP; flags += CE_MAPPED_FILE_NO_MMAP) {
        ce_safetensors *st = NULL;
        ck_assert_int_eq(ce_safetensors_open_ex(path, flags, &st), CE_OK);
        ck_assert(st->map->mapped == !(flags & CE_MAPPED_FILE_NO_MMAP));
        ck_assert_uint_eq(st->count, 9); /* __metadata__ skipped */
        const uint8_t *base = st->map->data + 8 + hlen;
        const struct {
            const char *name;
            ce_dtype dtype;
            int ndim;
            int64_t d0, d1;
            size_t begin, nbytes;
        } want[] = {
            {"a", CE_DTYPE_F32, 2, 2, 3, 0, 24},  {"h", CE_DTYPE_F16, 1, 4, 0, 24, 8},
            {"b", CE_DTYPE_BF16, 2, 2, 2, 32, 8}, {"d", CE_DTYPE_F64, 1, 3, 0, 40, 24},
            {"i", CE_DTYPE_I64, 1, 2, 0, 64, 16}, {"m", CE_DTYPE_U8, 1, 1, 0, 80, 1},
            {"f2", CE_DTYPE_F32, 1, 2, 0, 81, 8}, {"s", CE_DTYPE_F32, 0, 0, 0, 89, 4},
            {"z", CE_DTYPE_F32, 2, 0, 5, 93, 0},
        };
        for (size_t k = 0; k < st->count; k++) {
            const ce_tensor_info *t = &st->tensors[k];
            ck_assert_str_eq(t->name, want[k].name);
            ck_assert_int_eq(t->dtype, want[k].dtype);
            ck_assert_int_eq(t->ndim, want[k].ndim);
            ck_assert_int_eq(t->shape[0], want[k].d0);
            ck_assert_int_eq(t->shape[1], want[k].d1);
            ck_assert_uint_eq(t->nbytes, want[k].nbytes);
            ck_assert_ptr_eq(t->data, base + want[k].begin);
            ck_assert_str_eq(t->file, path);
            /* The data lies inside the mapping, byte for byte what was written. */
            ck_assert((const uint8_t *)t->data + t->nbytes <= st->map->data + st->map->size);
            ck_assert(memcmp(t->data, data + want[k].begin, t->nbytes) == 0);
        }
        ce_safetensors_close(st);
    }
}
END_TEST

START_TEST(test_truncated_at_every_length)
{
    uint8_t data[VALID_DATA_LEN];
    valid_data(data);
    size_t total;
    uint8_t *full = st_bytes(VALID_HEADER, 0, data, sizeof data, &total);
    const char *path = tpath("cut.safetensors");
    for (size_t len = 0; len < total; len++) {
        write_bytes(path, full, len);
        ce_safetensors *st = (ce_safetensors *)0x1;
        ce_status s = ce_safetensors_open_ex(path, len % 2 ? CE_MAPPED_FILE_NO_MMAP : 0, &st);
        ck_assert_msg(s == (len == 0 ? CE_ERR_IO : CE_ERR_FORMAT), "length %zu: %s (%s)", len,
                      ce_status_str(s), ce_last_error());
        ck_assert_ptr_eq(st, (ce_safetensors *)0x1);
        ck_assert_ptr_nonnull(strstr(ce_last_error(), path));
    }
    write_bytes(path, full, total);
    ce_safetensors *st = NULL;
    ck_assert_int_eq(ce_safetensors_open(path, &st), CE_OK);
    ce_safetensors_close(st);
    free(full);
}
END_TEST

/* Each header lies about something; the data section holds 16 bytes. */
START_TEST(test_lying_headers)
{
    static const struct {
        const char *header;
        ce_status code;
        const char *what;
    } cases[] = {
        {"{\"t\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}",
         CE_ERR_UNSUPPORTED, "F8_E4M3"},
        {"{\"t\": {\"dtype\": \"C64\", \"shape\": [2], \"data_offsets\": [0, 16]}}",
         CE_ERR_UNSUPPORTED, "'t'"},
        {"{\"t\": {\"dtype\": 4, \"shape\": [4], \"data_offsets\": [0, 16]}}", CE_ERR_FORMAT,
         "dtype"},
        {"{\"t\": {\"shape\": [4], \"data_offsets\": [0, 16]}}", CE_ERR_FORMAT, "dtype"},
        {"{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 16]}}", CE_ERR_FORMAT, "shape"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [-4], \"data_offsets\": [0, 16]}}", CE_ERR_FORMAT,
         "'t'"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [4.0], \"data_offsets\": [0, 16]}}",
         CE_ERR_FORMAT, "shape"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": \"4\", \"data_offsets\": [0, 16]}}",
         CE_ERR_FORMAT, "shape"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [\"4\"], \"data_offsets\": [0, 16]}}",
         CE_ERR_FORMAT, "shape"},
        {"{\"t\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}",
         CE_ERR_FORMAT, "9 dimensions"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4], "
         "\"data_offsets\": [0, 16]}}",
         CE_ERR_FORMAT, "overflow"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999], "
         "\"data_offsets\": [0, 16]}}",
         CE_ERR_FORMAT, "shape"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 100]}}", CE_ERR_FORMAT,
         "truncated"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 0]}}", CE_ERR_FORMAT,
         "'t'"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [9223372036854775800, "
         "9223372036854775804]}}",
         CE_ERR_FORMAT, "'t'"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", CE_ERR_FORMAT,
         "data_offsets"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", CE_ERR_FORMAT,
         "data_offsets"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}",
         CE_ERR_FORMAT, "data_offsets"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", \"4\"]}}",
         CE_ERR_FORMAT, "data_offsets"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": {\"0\": 4}}}",
         CE_ERR_FORMAT, "data_offsets"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 12]}}", CE_ERR_FORMAT,
         "needs 8"},
        {"{\"t\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [0, 16]}}", CE_ERR_FORMAT,
         "needs 8"},
        {"{\"t\": 5}", CE_ERR_FORMAT, "'t'"},
        {"{\"t\": [\"F32\", [4], [0, 16]]}", CE_ERR_FORMAT, "'t'"},
        {"{\"__metadata__\": {\"n\": 3}}", CE_ERR_FORMAT, "metadata"},
        {"{\"__metadata__\": [\"x\"]}", CE_ERR_FORMAT, "__metadata__"},
        {"{\"a\\u0000b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
         CE_ERR_FORMAT, "NUL"},
    };
    const uint8_t data[16] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[32];
        snprintf(name, sizeof name, "lie%zu.safetensors", i);
        const char *path = tpath(name);
        write_st(path, cases[i].header, 0, data, sizeof data);
        expect_error(path, cases[i].code, cases[i].what);
    }
}
END_TEST

START_TEST(test_overlapping_tensors)
{
    const uint8_t data[32] = {0};
    const char *path = tpath("overlap.safetensors");
    write_st(path,
             "{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
             " \"y\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [12, 28]}}",
             0, data, sizeof data);
    expect_error(path, CE_ERR_FORMAT, "overlap");
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "'x'"));
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "'y'"));
    /* Listed in the reverse order of their offsets, and identical ranges. */
    write_st(path,
             "{\"y\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 32]},"
             " \"x\": {\"dtype\": \"I32\", \"shape\": [5], \"data_offsets\": [0, 20]}}",
             0, data, sizeof data);
    expect_error(path, CE_ERR_FORMAT, "overlap");
    write_st(path,
             "{\"y\": {\"dtype\": \"U8\", \"shape\": [8], \"data_offsets\": [8, 16]},"
             " \"x\": {\"dtype\": \"I8\", \"shape\": [8], \"data_offsets\": [8, 16]}}",
             0, data, sizeof data);
    expect_error(path, CE_ERR_FORMAT, "overlap");
    /* Touching is fine, so are empty tensors anywhere, and holes. */
    write_st(path,
             "{\"y\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 32]},"
             " \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [20, 20]},"
             " \"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
             0, data, sizeof data);
    ce_safetensors *st = NULL;
    ck_assert_int_eq(ce_safetensors_open(path, &st), CE_OK);
    ck_assert_uint_eq(st->count, 3);
    ce_safetensors_close(st);
}
END_TEST

START_TEST(test_header_length)
{
    const char *path = tpath("len.safetensors");
    uint8_t b[50] = {0};
    const uint64_t lens[] = {1ull << 40, UINT64_MAX, 43, 9223372036854775808ull};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(lens[i] >> (8 * k));
        write_bytes(path, b, sizeof b);
        expect_error(path, CE_ERR_FORMAT, "exceeds");
    }
    /* A sparse file big enough to hold an absurd header: refused before parsing. */
    const uint64_t big = 101ull << 20;
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(big >> (8 * k));
    b[8] = '{';
    write_bytes(path, b, 9);
    ck_assert_int_eq(truncate(path, (off_t)(big + 8)), 0);
    expect_error(path, CE_ERR_FORMAT, "larger than");
}
END_TEST

START_TEST(test_header_not_an_object)
{
    const char *headers[] = {"[1, 2]",   "\"text\"", "a: 1", "{\"a\": ", "   ",
                             "{}}",      "12",       "null", "  [ {} ]", "{\"x\": 1} {\"y\": 2}",
                             "\xff\xfe{"};
    const char *path = tpath("hdr.safetensors");
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        write_st(path, headers[i], 0, NULL, 0);
        expect_error(path, CE_ERR_FORMAT, NULL);
    }
    /* A zero-length header. */
    uint8_t z[8] = {0};
    write_bytes(path, z, sizeof z);
    expect_error(path, CE_ERR_FORMAT, "not a JSON object");
    /* The empty object is a valid file with no tensors; padding spaces are allowed. */
    write_st(path, "{}", 8, NULL, 0);
    ce_safetensors *st = NULL;
    ck_assert_int_eq(ce_safetensors_open(path, &st), CE_OK);
    ck_assert_uint_eq(st->count, 0);
    ce_safetensors_close(st);
}
END_TEST

START_TEST(test_mapped_file_errors)
{
    ce_mapped_file *f = (ce_mapped_file *)0x1;
    const char *empty = tpath("empty");
    write_bytes(empty, "", 0);
    ck_assert_int_eq(ce_mapped_file_open(empty, &f), CE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "empty"));
    ck_assert_int_eq(ce_mapped_file_open(tmp, &f), CE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "directory"));
    ck_assert_int_eq(ce_mapped_file_open(tpath("absent"), &f), CE_ERR_IO);
    ck_assert_int_eq(ce_mapped_file_open("/dev/null", &f), CE_ERR_IO);
    ck_assert_ptr_eq(f, (ce_mapped_file *)0x1);
    ck_assert_int_eq(ce_mapped_file_open(NULL, &f), CE_ERR_INVALID_ARGUMENT);
    ce_safetensors *st = (ce_safetensors *)0x1;
    ck_assert_int_eq(ce_safetensors_open(tmp, &st), CE_ERR_IO);
    ck_assert_int_eq(ce_safetensors_open(empty, &st), CE_ERR_IO);
    ck_assert_ptr_eq(st, (ce_safetensors *)0x1);
    if (geteuid() != 0) { /* root reads anything */
        const char *locked = tpath("locked");
        write_bytes(locked, "12345678", 8);
        chmod(locked, 0);
        ck_assert_int_eq(ce_safetensors_open(locked, &st), CE_ERR_IO);
    }
    ce_mapped_file_close(NULL);
    ce_safetensors_close(NULL);
}
END_TEST

START_TEST(test_mapped_file_contents)
{
    uint8_t buf[5000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    const char *path = tpath("blob");
    write_bytes(path, buf, sizeof buf);
    ce_mapped_file *a = NULL, *b = NULL;
    ck_assert_int_eq(ce_mapped_file_open(path, &a), CE_OK);
    ck_assert_int_eq(ce_mapped_file_open_ex(path, CE_MAPPED_FILE_NO_MMAP, &b), CE_OK);
    ck_assert(a->mapped && !b->mapped);
    ck_assert_uint_eq(a->size, sizeof buf);
    ck_assert_uint_eq(b->size, sizeof buf);
    ck_assert(memcmp(a->data, buf, sizeof buf) == 0);
    ck_assert(memcmp(b->data, buf, sizeof buf) == 0);
    ck_assert_str_eq(a->path, path);
    ce_mapped_file_close(a);
    ce_mapped_file_close(b);
}
END_TEST

/* ---- f16 / bf16: every bit pattern against an ldexp reference ---- */

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* value = (-1)^s * (implicit + mant) * 2^(exp - bias - mant_bits) */
static float ref_decode(uint16_t v, int mant_bits, int exp_bits, int bias)
{
    int sign = v >> 15;
    int exp = (v >> mant_bits) & ((1 << exp_bits) - 1);
    int mant = v & ((1 << mant_bits) - 1);
    double x;
    if (exp == (1 << exp_bits) - 1)
        x = mant ? NAN : INFINITY;
    else if (exp == 0)
        x = ldexp(mant, 1 - bias - mant_bits);
    else
        x = ldexp((1 << mant_bits) + mant, exp - bias - mant_bits);
    return (float)(sign ? -x : x);
}

static void check_exhaustive(float (*fn)(uint16_t), int mant_bits, int exp_bits, int bias)
{
    for (uint32_t v = 0; v <= 0xffff; v++) {
        float got = fn((uint16_t)v), want = ref_decode((uint16_t)v, mant_bits, exp_bits, bias);
        if (isnan(want)) {
            /* NaN: sign, all-ones exponent and the payload moved to the top. */
            uint32_t expect = ((v & 0x8000u) << 16) | 0x7f800000u |
                              ((v & ((1u << mant_bits) - 1)) << (23 - mant_bits));
            ck_assert_msg(bits_of(got) == expect, "0x%04x: got 0x%08x, want 0x%08x", v,
                          bits_of(got), expect);
        } else {
            ck_assert_msg(bits_of(got) == bits_of(want), "0x%04x: got %a, want %a", v, got, want);
        }
    }
}

START_TEST(test_half_exhaustive)
{
    check_exhaustive(ce_half_to_f32, 10, 5, 15);
    /* Spot values, independent of the reference formula. */
    ck_assert(ce_half_to_f32(0x3c00) == 1.0f);
    ck_assert(ce_half_to_f32(0x7bff) == 65504.0f);
    ck_assert(ce_half_to_f32(0x0001) == 5.9604644775390625e-08f);
    ck_assert(ce_half_to_f32(0x03ff) == 6.097555160522461e-05f);
    ck_assert(ce_half_to_f32(0x0400) == 6.103515625e-05f);
    ck_assert_uint_eq(bits_of(ce_half_to_f32(0x8000)), 0x80000000u);
    ck_assert(isinf(ce_half_to_f32(0xfc00)) && ce_half_to_f32(0xfc00) < 0);
}
END_TEST

START_TEST(test_bf16_exhaustive)
{
    check_exhaustive(ce_bf16_to_f32, 7, 8, 127);
    ck_assert(ce_bf16_to_f32(0x3f80) == 1.0f);
    ck_assert(ce_bf16_to_f32(0xc040) == -3.0f);
    ck_assert(ce_bf16_to_f32(0x7f7f) == 3.3895313892515355e38f);
}
END_TEST

START_TEST(test_half_arrays_unaligned)
{
    uint8_t src[1 + 2 * 5];
    const uint16_t v[5] = {0x3c00, 0x0001, 0x7e01, 0xfbff, 0x8000};
    for (int i = 0; i < 5; i++) { /* little-endian, at an odd address */
        src[1 + 2 * i] = (uint8_t)(v[i] & 0xff);
        src[2 + 2 * i] = (uint8_t)(v[i] >> 8);
    }
    float out[5];
    ce_half_to_f32_array(src + 1, out, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(bits_of(out[i]), bits_of(ce_half_to_f32(v[i])));
    ce_bf16_to_f32_array(src + 1, out, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(bits_of(out[i]), (uint32_t)v[i] << 16);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("file");
    tcase_add_unchecked_fixture(tc, root_create, root_remove);
    tcase_add_checked_fixture(tc, tmp_create, NULL);
    tcase_add_test(tc, test_valid_file);
    tcase_add_test(tc, test_truncated_at_every_length);
    tcase_add_test(tc, test_lying_headers);
    tcase_add_test(tc, test_overlapping_tensors);
    tcase_add_test(tc, test_header_length);
    tcase_add_test(tc, test_header_not_an_object);
    tcase_add_test(tc, test_mapped_file_errors);
    tcase_add_test(tc, test_mapped_file_contents);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("half");
    tcase_add_test(th, test_half_exhaustive);
    tcase_add_test(th, test_bf16_exhaustive);
    tcase_add_test(th, test_half_arrays_unaligned);
    suite_add_tcase(s, th);
    return ce_test_run(s);
}
