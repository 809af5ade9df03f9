/* Limits of what files may make the library do: token ids at INT32_MAX
 * (vocab.json, tokenizer.json, tokenizer_config.json's added tokens, the
 * next free id of a named special token), the size caps of the files read
 * whole (io/read_file.h), and the JSON reader's memory: its budget, its peak
 * resident size against the document's, and its streamed input across
 * window boundaries. Every case must end in a clean status with a message,
 * never in a sanitizer report. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contextembed/contextembed.h"
#include "io/json.h"
#include "io/read_file.h"
#include "test-util.h"

static char tmpdir[] = "/tmp/ce-test-limits-XXXXXX";
static int n_dirs;

static char *new_dir(void)
{
    if (n_dirs == 0)
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    char *d = malloc(strlen(tmpdir) + 16);
    ck_assert_ptr_nonnull(d);
    sprintf(d, "%s/%d", tmpdir, n_dirs++);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    return d;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* After each test (in its process): its directories go. */
static void remove_dirs(void)
{
    if (n_dirs)
        nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    ck_assert_ptr_nonnull(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *p = path_in(dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

/* A sparse file of @p size bytes: the caps refuse it before reading. */
static void sparse_file(const char *dir, const char *name, off_t size)
{
    char *p = path_in(dir, name);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    close(fd);
    free(p);
}

/* Open @p path (file or directory); expect @p want and @p msg in the message. */
static void expect_open(const char *path, ce_status want, const char *msg)
{
    ce_tokenizer *tok = (ce_tokenizer *)&tok;
    ce_status st = ce_tokenizer_open(path, &tok);
    ck_assert_msg(st == want, "%s: status %d, want %d (%s)", path, st, want, ce_last_error());
    if (st != CE_OK) {
        ck_assert_ptr_eq(tok, (ce_tokenizer *)&tok);
        ck_assert_msg(!msg || strstr(ce_last_error(), msg), "\"%s\" lacks \"%s\"", ce_last_error(),
                      msg);
    } else {
        ce_tokenizer_free(tok);
    }
}

/* ---- ids at INT32_MAX ---------------------------------------------------------------- */

#define GPT2_BL                                                                            \
    "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}"

START_TEST(test_vocab_json_max_id)
{
    static const struct {
        const char *vocab, *config, *model_config, *msg;
    } cases[] = {
        /* the largest id, then a named token the vocabulary lacks: no next id */
        {"{\"a\": 2147483647, \"b\": 0}", "{\"unk_token\": \"zz\"}", NULL, "no token id is left"},
        {"{\"a\": 2147483647, \"b\": 0}", "{\"additional_special_tokens\": [\"x\", \"y\"]}", NULL,
         "no token id is left"},
        /* RoBERTa's default specials take the next ids too */
        {"{\"a\": 2147483647}", NULL, "{\"model_type\": \"roberta\"}", "no token id is left"},
        {"{\"a\": 2147483647}", "{\"tokenizer_class\": \"RobertaTokenizer\"}", NULL,
         "no token id is left"},
        /* an added token of tokenizer_config.json at the largest id */
        {"{\"a\": 0}",
         "{\"added_tokens_decoder\": {\"2147483647\": {\"content\": \"q\"}}, \"eos_token\": \"e\"}",
         NULL, "no token id is left"},
        {"{\"a\": 0}", "{\"added_tokens_decoder\": {\"2147483648\": {\"content\": \"q\"}}}", NULL,
         "added_tokens_decoder"},
        /* the largest id alone: the id table refuses the hole */
        {"{\"a\": 2147483647}", NULL, NULL, "token ids up to 2147483647"},
        {"{\"a\": 2147483648}", NULL, NULL, "no valid id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *dir = new_dir();
        write_file(dir, "vocab.json", cases[i].vocab);
        write_file(dir, "merges.txt", "#version: 0.2\n");
        if (cases[i].config)
            write_file(dir, "tokenizer_config.json", cases[i].config);
        if (cases[i].model_config)
            write_file(dir, "config.json", cases[i].model_config);
        expect_open(dir, CE_ERR_FORMAT, cases[i].msg);
        free(dir);
    }
}
END_TEST

START_TEST(test_tokenizer_json_max_id)
{
    static const struct {
        const char *vocab, *added;
        ce_status want;
    } cases[] = {
        {"{\"a\": 2147483647}", "[]", CE_ERR_FORMAT},
        {"{\"a\": 0}", "[{\"id\": 2147483647, \"content\": \"x\"}]", CE_ERR_FORMAT},
        {"{\"a\": 0}", "[{\"id\": 2147483648, \"content\": \"x\"}]", CE_ERR_FORMAT},
        {"{\"a\": 0}", "[{\"id\": -1, \"content\": \"x\"}]", CE_ERR_FORMAT},
        /* an added token past the vocabulary, with a hole before it, is fine */
        {"{\"a\": 0}", "[{\"id\": 1000, \"content\": \"x\"}]", CE_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *dir = new_dir(), doc[1024];
        snprintf(doc, sizeof doc,
                 "{%s, \"model\": {\"type\": \"BPE\", \"vocab\": %s, \"merges\": []}, "
                 "\"added_tokens\": %s}",
                 GPT2_BL, cases[i].vocab, cases[i].added);
        write_file(dir, "tokenizer.json", doc);
        expect_open(dir, cases[i].want, NULL);
        free(dir);
    }
}
END_TEST

/* Ids past the vocabulary with holes: encoding and decoding them is fine,
 * the holes are errors. */
START_TEST(test_added_past_vocabulary)
{
    char *dir = new_dir();
    write_file(dir, "tokenizer.json",
               "{" GPT2_BL ", \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
               " \"added_tokens\": [{\"id\": 1000, \"content\": \"<x>\", \"special\": true}]}");
    ce_tokenizer *tok;
    ck_assert_int_eq(ce_tokenizer_open(dir, &tok), CE_OK);
    ce_encoding *enc;
    ck_assert_int_eq(ce_tokenizer_encode(tok, "a<x>a", 5, NULL, 0, 0, 0, &enc), CE_OK);
    ck_assert_uint_eq(ce_encoding_length(enc), 3);
    ck_assert_int_eq(ce_encoding_ids(enc)[1], 1000);
    ce_encoding_free(enc);
    const char *s;
    size_t len;
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, 1000, &s, &len), CE_OK);
    ck_assert_int_ne(ce_tokenizer_id_to_token(tok, 500, &s, &len), CE_OK);
    ck_assert_int_ne(ce_tokenizer_id_to_token(tok, 2147483647, &s, &len), CE_OK);
    char out[64];
    size_t need;
    int32_t bad[] = {0, 500};
    ck_assert_int_ne(ce_tokenizer_decode(tok, bad, 2, 0, out, sizeof out, &need), CE_OK);
    ce_tokenizer_free(tok);
    free(dir);
}
END_TEST

/* ---- size caps ---------------------------------------------------------------------- */

START_TEST(test_side_file_caps)
{
#define WP_VOCAB "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\na\n"
    static const struct {
        const char *file; /* made too big */
        off_t size;
        const char *good[2][2]; /* name, text: the files it goes with */
    } cases[] = {
        {"tokenizer.json", ((off_t)256 << 20) + 1, {{NULL}}},
        {"vocab.txt", ((off_t)256 << 20) + 1, {{NULL}}},
        {"vocab.json", ((off_t)256 << 20) + 1, {{"merges.txt", ""}}},
        {"merges.txt", ((off_t)256 << 20) + 1, {{"vocab.json", "{\"a\": 0}"}}},
        {"tokenizer_config.json", ((off_t)64 << 20) + 1, {{"vocab.txt", WP_VOCAB}}},
        {"tokenizer_config.json", ((off_t)64 << 20) + 1,
         {{"vocab.json", "{\"a\": 0}"}, {"merges.txt", ""}}},
        {"special_tokens_map.json", ((off_t)64 << 20) + 1,
         {{"vocab.json", "{\"a\": 0}"}, {"merges.txt", ""}}},
        {"config.json", ((off_t)64 << 20) + 1,
         {{"vocab.json", "{\"a\": 0}"}, {"merges.txt", ""}}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *dir = new_dir();
        for (size_t k = 0; k < 2 && cases[i].good[k][0]; k++)
            write_file(dir, cases[i].good[k][0], cases[i].good[k][1]);
        sparse_file(dir, cases[i].file, cases[i].size);
        char *p = path_in(dir, cases[i].file);
        expect_open(dir, CE_ERR_FORMAT, p);
        ck_assert_msg(strstr(ce_last_error(), " MB"), "%s", ce_last_error());
        free(p);
        free(dir);
    }
}
END_TEST

START_TEST(test_model_file_caps)
{
    /* config.json, options.json, modules.json, the shard index: 64 MB */
    static const char *const files[] = {"config.json", "model.safetensors.index.json"};
    char *fx = malloc(strlen(ce_test_fixtures()) + 64);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *dir = new_dir();
        sprintf(fx, "%s/bert-tiny-uncased", ce_test_fixtures());
        static const char *const copy[] = {"config.json", "vocab.txt", "tokenizer_config.json",
                                           "special_tokens_map.json"};
        for (size_t k = 0; k < 4; k++) {
            if (!strcmp(copy[k], files[i]))
                continue;
            char *src = path_in(fx, copy[k]);
            size_t len;
            char *text = ce_test_read_file(src, &len);
            ck_assert_ptr_nonnull(text);
            write_file(dir, copy[k], text);
            free(text);
            free(src);
        }
        sparse_file(dir, files[i], ((off_t)64 << 20) + 1);
        ce_model *m = (ce_model *)&m;
        ce_status st = ce_model_open(dir, NULL, &m);
        ck_assert_msg(st == CE_ERR_FORMAT && strstr(ce_last_error(), files[i]) &&
                          strstr(ce_last_error(), "64 MB"),
                      "%s: %d %s", files[i], st, ce_last_error());
        ck_assert_ptr_eq(m, (ce_model *)&m);
        free(dir);
    }
    free(fx);
}
END_TEST

/* A device or pipe has no size to check first: reading stops at the cap. */
START_TEST(test_stream_caps)
{
    char *data = (char *)&data;
    size_t len = 7;
    ck_assert_int_eq(ce_read_file("/dev/zero", (size_t)1 << 20, &data, &len), CE_ERR_FORMAT);
    ck_assert_ptr_eq(data, (char *)&data);
    ck_assert_uint_eq(len, 7);
    ce_json *j = (ce_json *)&j;
    ck_assert_int_ne(ce_json_parse_file("/dev/zero", &j), CE_OK);
    ck_assert_int_eq(ce_json_parse_file_max("/dev/urandom", 1 << 20, &j) == CE_OK, 0);
    ck_assert_ptr_eq(j, (ce_json *)&j);
}
END_TEST

/* ---- the JSON reader's memory -------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, const char *sep, const char *tail,
                    size_t bytes, size_t *len)
{
    size_t hu = strlen(unit), hs = strlen(sep), n = 0;
    char *s = malloc(bytes + strlen(head) + hu + hs + strlen(tail) + 1);
    n += (size_t)sprintf(s, "%s", head);
    for (size_t i = 0; n < bytes; i++) {
        if (i)
            memcpy(s + n, sep, hs), n += hs;
        memcpy(s + n, unit, hu);
        n += hu;
    }
    n += (size_t)sprintf(s + n, "%s", tail);
    *len = n;
    return s;
}

START_TEST(test_json_budget)
{
    size_t len;
    /* 4 bytes a value, 80 bytes a node: refused, with a message */
    char *doc = repeat("[", "[0]", ",", "]", 4 << 20, &len);
    ce_json *j = (ce_json *)&j;
    ck_assert_int_eq(ce_json_parse(doc, len, "tiny.json", &j), CE_ERR_FORMAT);
    ck_assert_msg(strstr(ce_last_error(), "times its size"), "%s", ce_last_error());
    ck_assert_ptr_eq(j, (ce_json *)&j);
    free(doc);
    /* repeated scalars and empty containers are stored once: fine */
    static const char *const units[] = {"1", "[]", "{}", "\"F32\"", "null"};
    for (size_t i = 0; i < 5; i++) {
        doc = repeat("[", units[i], ",", "]", 4 << 20, &len);
        ck_assert_msg(ce_json_parse(doc, len, "repeated.json", &j) == CE_OK, "%s: %s", units[i],
                      ce_last_error());
        ck_assert_ptr_eq(j->items[0], j->items[1]);
        ce_json_free(j);
        free(doc);
    }
}
END_TEST

static long max_rss_kb(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss;
}

/* A 16 MB header-like document and a 16 MB string: the peak resident size
 * grows by at most 8 and 3 times the document (11.6 and 4.3 before the
 * reader was reworked). Sanitizers change what memory costs: skipped there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

START_TEST(test_json_peak_memory)
{
#ifdef UNDER_ASAN
    puts("peak memory: not measured under AddressSanitizer");
    return;
#endif
    char *dir = new_dir(), unit[160];
    size_t len;
    snprintf(unit, sizeof unit,
             "\"layer.%d.attention.self.query.weight\":{\"dtype\":\"F32\",\"shape\":[768,768],"
             "\"data_offsets\":[%d,%d]}",
             rand(), rand(), rand());
    char *docs[2] = {repeat("{", unit, ",", "}", 16 << 20, &len), NULL};
    docs[1] = malloc((16 << 20) + 16);
    memset(docs[1], 'x', (16 << 20) + 16);
    memcpy(docs[1], "[\"", 2);
    strcpy(docs[1] + (16 << 20) + 12, "\"]");
    const double bound[2] = {8, 3};
    for (int k = 0; k < 2; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) { /* a fresh process: its peak is this parse's */
            size_t n = strlen(docs[k]);
            write_file(dir, "doc.json", docs[k]);
            char *p = path_in(dir, "doc.json");
            long before = max_rss_kb();
            ce_json *j;
            if (ce_json_parse_file(p, &j) != CE_OK)
                _exit(2);
            double ratio = (double)(max_rss_kb() - before) * 1024.0 / (double)n;
            printf("%s document of %zu bytes: peak +%.2f times its size\n", k ? "string" : "header",
                   n, ratio);
            fflush(stdout);
            ce_json_free(j);
            _exit(ratio <= bound[k] ? 0 : 1);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "document %d: status %d", k,
                      status);
    }
    free(docs[0]);
    free(docs[1]);
    free(dir);
}
END_TEST

/* Surrogate pairs, raw characters YAML dislikes or folds, and a long key
 * rewritten as an explicit key, across the file window's edge (64 KB): the
 * streamed rewrite sees the same units. */
START_TEST(test_json_file_window_edges)
{
    char *dir = new_dir();
    char *p = path_in(dir, "edge.json");
    size_t body = 65536 - 16, key = 1100;
    char *doc = malloc(body + key + 64);
    for (size_t shift = 0; shift < 20; shift++) {
        memcpy(doc, "[\"", 2);
        memset(doc + 2, 'x', body + shift);
        strcpy(doc + 2 + body + shift, "\\ud83d\\ude00\x7f\xc2\x85 \xe2\x80\xa8 \\\"\"]");
        write_file(dir, "edge.json", doc);
        ce_json *j;
        ck_assert_msg(ce_json_parse_file(p, &j) == CE_OK, "shift %zu: %s", shift, ce_last_error());
        const ce_json *s = j->items[0];
        ck_assert_uint_eq(s->len, body + shift + 4 + 1 + 2 + 5 + 1);
        ck_assert_mem_eq(s->str + body + shift, "\xf0\x9f\x98\x80\x7f\xc2\x85 \xe2\x80\xa8 \"", 13);
        ce_json_free(j);
        /* an object's key past 1024 characters, its colon on the next line,
         * written to libyaml as an explicit key across the edge */
        size_t at = body - key / 2 + shift;
        memset(doc, ' ', at);
        doc[0] = '{';
        strcpy(doc + at, "\"a\":1,\t\"");
        at += strlen(doc + at);
        memset(doc + at, 'k', key);
        strcpy(doc + at + key, "\"\n:\t{\"b\":[\"c\"]}}");
        write_file(dir, "edge.json", doc);
        ck_assert_msg(ce_json_parse_file(p, &j) == CE_OK, "key, shift %zu: %s", shift, ce_last_error());
        ck_assert_uint_eq(j->n, 2);
        ck_assert_uint_eq(j->key_lens[1], key);
        ck_assert_str_eq(ce_json_get(ce_json_get(j, j->keys[1]), "b")->items[0]->str, "c");
        ce_json_free(j);
    }
    free(doc);
    free(p);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, NULL, remove_dirs);
    tcase_add_test(tc, test_vocab_json_max_id);
    tcase_add_test(tc, test_tokenizer_json_max_id);
    tcase_add_test(tc, test_added_past_vocabulary);
    tcase_add_test(tc, test_side_file_caps);
    tcase_add_test(tc, test_model_file_caps);
    tcase_add_test(tc, test_stream_caps);
    tcase_add_test(tc, test_json_budget);
    tcase_add_test(tc, test_json_peak_memory);
    tcase_add_test(tc, test_json_file_window_edges);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
