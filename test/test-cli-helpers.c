/* The contextembed program's helpers: JSON writer, .npy writer, argument
 * parsing and text input (the commands themselves are tested end to end by
 * test-cli.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/contextembed/args.h"
#include "../tools/contextembed/json_writer.h"
#include "../tools/contextembed/npy_writer.h"
#include "../tools/contextembed/text_input.h"
#include "test-util.h"

/* ---- capture what a writer prints ---------------------------------------- */

typedef struct capture {
    FILE *f;
    char *buf;
    size_t len;
} capture;

static void cap_open(capture *c)
{
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
}

/* Close the stream; the text stays in c->buf (free it). */
static const char *cap_text(capture *c)
{
    fclose(c->f);
    return c->buf;
}

static void check_string(const char *in, size_t len, const char *expected)
{
    capture c;
    cap_open(&c);
    cli_json_string(c.f, in, len);
    ck_assert_str_eq(cap_text(&c), expected);
    free(c.buf);
}

START_TEST(test_json_strings)
{
    check_string("plain", 5, "\"plain\"");
    check_string("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"");
    check_string("a\nb\tc\r\b\f", 8, "\"a\\nb\\tc\\r\\b\\f\"");
    check_string("x\0y\x01\x1f\x7f", 6, "\"x\\u0000y\\u0001\\u001f\\u007f\"");
    check_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* invalid UTF-8: a stray continuation, a truncated sequence, an overlong
     * form, a surrogate, beyond U+10FFFF: each bad byte becomes U+FFFD */
    check_string("a\x80z", 3, "\"a\\ufffdz\"");
    check_string("\xe2\x82", 2, "\"\\ufffd\\ufffd\"");
    check_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
    check_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
    check_string("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    check_string("", 0, "\"\"");
}
END_TEST

START_TEST(test_json_floats_round_trip)
{
    const float values[] = {0.1f, -1.0f / 3.0f, 1e-38f, 3.4028235e38f, 16777217.0f, 1.17549435e-38f,
                            1.4e-45f, -0.0f};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        capture c;
        cap_open(&c);
        cli_json_float(c.f, values[i]);
        const char *s = cap_text(&c);
        float back = strtof(s, NULL);
        ck_assert_msg(memcmp(&back, &values[i], sizeof back) == 0, "%s does not round-trip", s);
        free(c.buf);
    }
}
END_TEST

START_TEST(test_json_arrays_and_non_finite)
{
    capture c;
    cap_open(&c);
    const float f[] = {1.5f, NAN, INFINITY, -INFINITY, 2.0f};
    const int32_t ids[] = {101, -1, 2147483647};
    const size_t offs[] = {0, 0, 3, 7};
    int first = 1;
    fputc('{', c.f);
    cli_json_key(c.f, "data", &first);
    cli_json_float_array(c.f, f, 5);
    cli_json_key(c.f, "ids", &first);
    cli_json_int_array(c.f, ids, 3);
    cli_json_key(c.f, "offsets", &first);
    cli_json_pairs(c.f, offs, 2);
    cli_json_key(c.f, "shape", &first);
    cli_json_size_array(c.f, offs + 2, 2);
    cli_json_key(c.f, "empty", &first);
    cli_json_pairs(c.f, NULL, 0);
    fputc('}', c.f);
    ck_assert_str_eq(cap_text(&c), "{\"data\":[1.5,null,null,null,2],\"ids\":[101,-1,2147483647],"
                                   "\"offsets\":[[0,0],[3,7]],\"shape\":[3,7],\"empty\":[]}");
    free(c.buf);
}
END_TEST

/* ---- .npy ---------------------------------------------------------------- */

START_TEST(test_npy_header)
{
    const size_t shapes[][3] = {{7, 0, 0}, {2, 3, 0}, {13, 512, 768}};
    const char *tuples[] = {"(7,)", "(2, 3)", "(13, 512, 768)"};
    for (size_t i = 0; i < 3; i++) {
        char h[512];
        size_t n = cli_npy_header(h, sizeof h, shapes[i], i + 1);
        ck_assert_uint_eq(n % 64, 0);
        ck_assert_uint_gt(n, 10);
        ck_assert(memcmp(h, "\x93NUMPY\x01\x00", 8) == 0);
        ck_assert_uint_eq((unsigned char)h[8] | ((unsigned char)h[9] << 8), n - 10);
        ck_assert_int_eq(h[n - 1], '\n');
        char expect[128];
        int len = snprintf(expect, sizeof expect,
                           "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuples[i]);
        ck_assert(memcmp(h + 10, expect, (size_t)len) == 0);
        for (size_t j = 10 + (size_t)len; j < n - 1; j++)
            ck_assert_int_eq(h[j], ' ');
    }
    char small[32];
    ck_assert_uint_eq(cli_npy_header(small, sizeof small, shapes[0], 1), 0);
}
END_TEST

START_TEST(test_npy_write)
{
    capture c;
    cap_open(&c);
    const float data[6] = {1, 2, 3, 4, 5, -0.5f};
    const size_t shape[2] = {2, 3};
    ck_assert_int_eq(cli_npy_write(c.f, data, shape, 2), 1);
    fclose(c.f);
    char h[512];
    size_t hlen = cli_npy_header(h, sizeof h, shape, 2);
    ck_assert_uint_eq(hlen, 128); /* 70 bytes of header rounded up */
    ck_assert_uint_eq(c.len, hlen + sizeof data);
    ck_assert(memcmp(c.buf, h, hlen) == 0);
    const unsigned char *d = (const unsigned char *)c.buf + hlen;
    ck_assert(d[0] == 0x00 && d[1] == 0x00 && d[2] == 0x80 && d[3] == 0x3f); /* 1.0f, little-endian */
    ck_assert(d[20] == 0x00 && d[21] == 0x00 && d[22] == 0x00 && d[23] == 0xbf); /* -0.5f */
    free(c.buf);
}
END_TEST

START_TEST(test_npy_indexed_path)
{
    const char *cases[][2] = {
        {"out.npy", "out.2.npy"},       {"dir.v1/out", "dir.v1/out.2"},
        {"a/b.c.npy", "a/b.c.2.npy"},   {".hidden", ".hidden.2"},
        {"x", "x.2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = cli_npy_indexed_path(cases[i][0], 2);
        ck_assert_str_eq(p, cases[i][1]);
        free(p);
    }
}
END_TEST

/* ---- arguments ----------------------------------------------------------- */

enum { O_MODEL = 1, O_LAYER, O_FLAG };
static const cli_opt opts[] = {
    {O_MODEL, 'm', "model", 1}, {O_LAYER, 0, "layer", 1}, {O_FLAG, 0, "flag", 0}, {0, 0, NULL, 0},
};

/* Parse argv into "id:value" words joined by spaces (errors as "E:message"). */
static void parse_to(int argc, char **argv, char *out, size_t cap)
{
    cli_parser p;
    const char *v;
    int id;
    size_t used = 0;
    out[0] = '\0';
    cli_parser_init(&p, argc, argv, opts);
    while ((id = cli_parser_next(&p, &v)) != CLI_ARG_END && used < cap) {
        if (id == CLI_ARG_ERROR) {
            used += (size_t)snprintf(out + used, cap - used, "%sE:%s", used ? " " : "", p.error);
            break;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%d:%s", used ? " " : "", id,
                                 v ? v : "-none-");
    }
}

START_TEST(test_args_parser)
{
    char out[512];
    char *a1[] = {"embed", "x", "-m", "dir", "--layer", "-1", "--flag", "-", "--", "--flag", "-y"};
    parse_to(11, a1, out, sizeof out);
    ck_assert_str_eq(out, "-1:x 1:dir 2:-1 3:-none- -1:- -1:--flag -1:-y");
    char *a2[] = {"embed", "--model=a=b", "-mDIR", "--layer="};
    parse_to(4, a2, out, sizeof out);
    ck_assert_str_eq(out, "1:a=b 1:DIR 2:");
    char *a3[] = {"embed", "--bogus"};
    parse_to(2, a3, out, sizeof out);
    ck_assert_str_eq(out, "E:unknown option '--bogus'");
    char *a4[] = {"embed", "x", "--layer"};
    parse_to(3, a4, out, sizeof out);
    ck_assert_str_eq(out, "-1:x E:option '--layer' needs a value");
    char *a5[] = {"embed", "--flag=1"};
    parse_to(2, a5, out, sizeof out);
    ck_assert_str_eq(out, "E:option '--flag=1' takes no value");
    char *a6[] = {"embed", "-x"};
    parse_to(2, a6, out, sizeof out);
    ck_assert_str_eq(out, "E:unknown option '-x'");
    char *a7[] = {"embed", "--model"};
    parse_to(2, a7, out, sizeof out);
    ck_assert_str_eq(out, "E:option '--model' needs a value");
}
END_TEST

START_TEST(test_args_numbers)
{
    long v = 99;
    ck_assert(cli_parse_long("12", 0, 12, &v) && v == 12);
    ck_assert(!cli_parse_long("13", 0, 12, &v) && v == 12);
    ck_assert(!cli_parse_long("1x", 0, 99, &v));
    ck_assert(!cli_parse_long("", 0, 99, &v));
    ck_assert(!cli_parse_long("99999999999999999999", 0, 99, &v));

    int32_t *ids = NULL;
    size_t n = 0;
    ck_assert(cli_parse_int_list("101,-2,2147483647", &ids, &n));
    ck_assert(n == 3 && ids[0] == 101 && ids[1] == -2 && ids[2] == 2147483647);
    free(ids);
    const char *bad_ints[] = {"", "1,", ",1", "1,,2", "1.5", "a", "2147483648", "1;2"};
    for (size_t i = 0; i < sizeof bad_ints / sizeof *bad_ints; i++)
        ck_assert_msg(!cli_parse_int_list(bad_ints[i], &ids, &n), "accepted '%s'", bad_ints[i]);

    float *w = NULL, gamma = 0;
    ck_assert(cli_parse_mix("0.5,-1,2e-1:0.25", &w, &n, &gamma));
    ck_assert(n == 3 && w[0] == 0.5f && w[1] == -1.0f && w[2] == 0.2f && gamma == 0.25f);
    free(w);
    ck_assert(cli_parse_mix("1,2", &w, &n, &gamma) && n == 2 && gamma == 1.0f);
    free(w);
    const char *bad_mix[] = {"", ":1", "1,2:", "1,2:x", "1,a", "1:2:3", "nan,1", "1,inf", "1,,2"};
    for (size_t i = 0; i < sizeof bad_mix / sizeof *bad_mix; i++)
        ck_assert_msg(!cli_parse_mix(bad_mix[i], &w, &n, &gamma), "accepted '%s'", bad_mix[i]);
}
END_TEST

/* ---- text input ---------------------------------------------------------- */

static FILE *input(const char *data, size_t len)
{
    FILE *f = fmemopen((void *)data, len, "r");
    ck_assert_ptr_nonnull(f);
    return f;
}

#define TEXT_IS(t, i, lit) \
    ck_assert((t).items[i].len == sizeof(lit) - 1 && !memcmp((t).items[i].data, lit, sizeof(lit) - 1))

START_TEST(test_text_lines)
{
    static const char data[] = "one\r\ntwo\n\nnul\0inside\nlast";
    cli_texts t = {0};
    char err[256];
    FILE *f = input(data, sizeof data - 1);
    ck_assert(cli_texts_read_lines(&t, f, err, sizeof err));
    fclose(f);
    ck_assert_uint_eq(t.n, 5);
    TEXT_IS(t, 0, "one");
    TEXT_IS(t, 1, "two");
    TEXT_IS(t, 2, "");
    TEXT_IS(t, 3, "nul\0inside");
    TEXT_IS(t, 4, "last");
    cli_texts_free(&t);
}
END_TEST

START_TEST(test_text_jsonl)
{
    static const char data[] = "\"a\\nb\"\n\n  \"x\\u0000y\"  \r\n\"\\ud83d\\ude00 \\u00e9\"\n\"\"";
    cli_texts t = {0};
    char err[256];
    FILE *f = input(data, sizeof data - 1);
    ck_assert_msg(cli_texts_read_jsonl(&t, f, err, sizeof err), "%s", err);
    fclose(f);
    ck_assert_uint_eq(t.n, 4);
    TEXT_IS(t, 0, "a\nb");
    TEXT_IS(t, 1, "x\0y");
    TEXT_IS(t, 2, "\xf0\x9f\x98\x80 \xc3\xa9");
    TEXT_IS(t, 3, "");
    cli_texts_free(&t);

    const char *bad[] = {"word\n", "\"a\"\n42\n", "[\"a\"]\n", "\"unterminated\n", "'single'\n",
                         "\"bad \xff byte\"\n"};
    const char *line[] = {"line 1", "line 2", "line 1", "line 1", "line 1", "line 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f = input(bad[i], strlen(bad[i]));
        err[0] = '\0';
        ck_assert_msg(!cli_texts_read_jsonl(&t, f, err, sizeof err), "accepted %s", bad[i]);
        ck_assert_msg(strstr(err, line[i]) != NULL, "message '%s' for %s", err, bad[i]);
        fclose(f);
        cli_texts_free(&t);
    }
}
END_TEST

START_TEST(test_text_collect)
{
    static const char data[] = "s1\ns2\n";
    char *args[] = {"a", "-", "b", "-"};
    cli_texts t = {0};
    char err[256];
    FILE *f = input(data, sizeof data - 1);
    ck_assert(cli_texts_collect(&t, args, 4, 0, f, err, sizeof err));
    fclose(f);
    ck_assert_uint_eq(t.n, 4); /* standard input is read once, where "-" first appears */
    TEXT_IS(t, 0, "a");
    TEXT_IS(t, 1, "s1");
    TEXT_IS(t, 2, "s2");
    TEXT_IS(t, 3, "b");
    cli_texts_free(&t);

    f = input(data, sizeof data - 1);
    ck_assert(cli_texts_collect(&t, NULL, 0, 0, f, err, sizeof err));
    ck_assert_uint_eq(t.n, 2);
    fclose(f);
    cli_texts_free(&t);

    f = input("", 0);
    ck_assert(cli_texts_collect(&t, args, 1, 0, f, err, sizeof err)); /* stdin not read */
    ck_assert_uint_eq(t.n, 1);
    fclose(f);
    cli_texts_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli-helpers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_json_strings);
    tcase_add_test(tc, test_json_floats_round_trip);
    tcase_add_test(tc, test_json_arrays_and_non_finite);
    tcase_add_test(tc, test_npy_header);
    tcase_add_test(tc, test_npy_write);
    tcase_add_test(tc, test_npy_indexed_path);
    tcase_add_test(tc, test_args_parser);
    tcase_add_test(tc, test_args_numbers);
    tcase_add_test(tc, test_text_lines);
    tcase_add_test(tc, test_text_jsonl);
    tcase_add_test(tc, test_text_collect);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
