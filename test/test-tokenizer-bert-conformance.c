/* BERT WordPiece against Hugging Face: every line of the golden
 * bert-base-uncased.jsonl (ids, byte offsets, ids with special tokens, ids
 * with special-token text taken literally, token strings, decoded text, the
 * normalised text) with both the tokenizer.json and the vocab.txt of
 * refdata/tokenizers/bert-base-uncased; every case of llama.cpp's
 * ggml-vocab-bert-bge test vectors; and 4 threads sharing one tokenizer.
 * Skips (77) without ../shared/refdata. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contextembed/tokenizer.h"
#include "io/json.h"
#include "test-util.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"

static const char *refdata;
static ce_json **golden;
static size_t n_golden;

/* ---- reading the references ------------------------------------------------- */

/* ce_json_parse goes through libyaml (YAML 1.1), which refuses a raw DEL and
 * folds a raw NEL (U+0085) into a space, though JSON allows both verbatim in
 * strings (the golden file has "del\x7fchar" and "next\u0085line" raw).
 * Writing DEL and the C1 controls as \u escapes gives the same JSON value. */
static char *escape_for_yaml(const char *s, size_t n, size_t *out_len)
{
    char *o = malloc(6 * n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x7F) {
            k += (size_t)sprintf(o + k, "\\u007f");
        } else if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] < 0xA0) {
            k += (size_t)sprintf(o + k, "\\u%04x", (unsigned char)s[++i]);
        } else {
            o[k++] = (char)c;
        }
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

static void load_golden(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/golden/bert-base-uncased.jsonl", refdata);
    size_t len;
    char *data = ce_test_read_file(path, &len);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    size_t cap = 256;
    golden = malloc(cap * sizeof *golden);
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(data + len - line);
        if (n > 0) {
            if (n_golden == cap)
                golden = realloc(golden, (cap *= 2) * sizeof *golden);
            size_t clean_len;
            char *clean = escape_for_yaml(line, n, &clean_len);
            if (ce_json_parse(clean, clean_len, path, &golden[n_golden]) != CE_OK) {
                fprintf(stderr, "%s\n", ce_last_error());
                exit(1);
            }
            free(clean);
            n_golden++;
        }
        line += n + 1;
    }
    free(data);
}

static size_t int_array(const ce_json *arr, int32_t *out, size_t cap)
{
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(arr->type, CE_JSON_ARRAY);
    ck_assert_uint_le(arr->n, cap);
    for (size_t i = 0; i < arr->n; i++)
        out[i] = (int32_t)arr->items[i]->integer;
    return arr->n;
}

static ce_tokenizer *open_ref(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/bert-base-uncased/%s", refdata, file);
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(path, &tok) == CE_OK, "%s", ce_last_error());
    return tok;
}

/* ---- comparing one golden line ---------------------------------------------- */

#define MAX_TOKENS 1024

typedef struct line_result {
    int failures;
} line_result;

static void mismatch(line_result *r, const ce_json *g, const char *what, size_t at)
{
    if (r->failures++ < 3) {
        int64_t id = -1;
        ce_json_get_int(g, "id", &id);
        fprintf(stderr, "  golden id %lld: %s differs (at %zu)\n", (long long)id, what, at);
    }
}

static void compare_ids(line_result *r, const ce_json *g, const ce_tokenizer *tok,
                        const ce_json *text, const char *key, uint32_t flags)
{
    int32_t want[MAX_TOKENS];
    size_t n = int_array(ce_json_get(g, key), want, MAX_TOKENS);
    ce_encoding *e = NULL;
    if (ce_tokenizer_encode(tok, text->str, text->len, NULL, 0, flags, 0, &e) != CE_OK) {
        fprintf(stderr, "  %s\n", ce_last_error());
        mismatch(r, g, key, 0);
        return;
    }
    size_t m = ce_encoding_length(e);
    for (size_t i = 0; i < (n > m ? n : m); i++)
        if (i >= n || i >= m || ce_encoding_ids(e)[i] != want[i]) {
            mismatch(r, g, key, i);
            break;
        }
    ce_encoding_free(e);
}

static void compare_offsets(line_result *r, const ce_json *g, const ce_tokenizer *tok,
                            const ce_json *text)
{
    const ce_json *offs = ce_json_get(g, "byte_offsets");
    ce_encoding *e = NULL;
    ck_assert_int_eq(ce_tokenizer_encode(tok, text->str, text->len, NULL, 0, 0, 0, &e), CE_OK);
    ck_assert_uint_eq(offs->n, ce_encoding_length(e));
    for (size_t i = 0; i < offs->n; i++) {
        const ce_json *p = offs->items[i];
        if ((size_t)p->items[0]->integer != ce_encoding_offsets(e)[2 * i] ||
            (size_t)p->items[1]->integer != ce_encoding_offsets(e)[2 * i + 1]) {
            mismatch(r, g, "byte_offsets", i);
            break;
        }
    }
    ce_encoding_free(e);
}

static void compare_tokens(line_result *r, const ce_json *g, const ce_tokenizer *tok)
{
    int32_t ids[MAX_TOKENS];
    size_t n = int_array(ce_json_get(g, "ids"), ids, MAX_TOKENS);
    const ce_json *tokens = ce_json_get(g, "tokens");
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        const ce_json *want = tokens->items[i];
        if (ce_tokenizer_id_to_token(tok, ids[i], &s, &len) != CE_OK || len != want->len ||
            memcmp(s, want->str, len)) {
            mismatch(r, g, "tokens", i);
            return;
        }
    }
    size_t needed = 0;
    ce_tokenizer_decode(tok, ids, n, 0, NULL, 0, &needed);
    char *buf = malloc(needed + 1);
    const ce_json *decoded = ce_json_get(g, "decoded");
    if (ce_tokenizer_decode(tok, ids, n, 0, buf, needed, &needed) != CE_OK ||
        needed != decoded->len || memcmp(buf, decoded->str, needed))
        mismatch(r, g, "decoded", 0);
    free(buf);
}

static void compare_normalized(line_result *r, const ce_json *g, const ce_tokenizer *tok,
                               const ce_json *text)
{
    const ce_wordpiece *wp = tok->model;
    ce_nchar_buf nb = {0};
    ck_assert_int_eq(ce_bert_normalize(&wp->norm, text->str, 0, text->len, &nb), CE_OK);
    const ce_json *want = ce_json_get(g, "normalized");
    char *s = malloc(4 * nb.n + 1);
    size_t len = 0;
    for (size_t i = 0; i < nb.n; i++)
        len += ce_utf8_put(s + len, nb.v[i].cp);
    if (len != want->len || memcmp(s, want->str, len))
        mismatch(r, g, "normalized", 0);
    free(s);
    ce_nchar_buf_free(&nb);
}

static int run_golden(const char *file)
{
    ce_tokenizer *tok = open_ref(file);
    size_t ok = 0, checks = 0;
    for (size_t k = 0; k < n_golden; k++) {
        const ce_json *g = golden[k];
        const ce_json *text = ce_json_get(g, "text");
        line_result r = {0};
        compare_ids(&r, g, tok, text, "ids", 0);
        compare_offsets(&r, g, tok, text);
        compare_ids(&r, g, tok, text, "ids_with_special", CE_ENCODE_ADD_SPECIAL);
        checks += 5;
        if (ce_json_get(g, "ids_special_as_text")) {
            compare_ids(&r, g, tok, text, "ids_special_as_text", CE_ENCODE_SPECIAL_AS_TEXT);
            checks++;
        }
        compare_tokens(&r, g, tok);
        compare_normalized(&r, g, tok, text);
        ok += r.failures == 0;
    }
    ce_tokenizer_free(tok);
    fprintf(stderr, "golden %s: %zu/%zu lines pass (%zu comparisons)\n", file, ok, n_golden,
            checks);
    return (int)(n_golden - ok);
}

START_TEST(test_golden_tokenizer_json)
{
    ck_assert_uint_ge(n_golden, 200);
    ck_assert_int_eq(run_golden("tokenizer.json"), 0);
}
END_TEST

START_TEST(test_golden_vocab_txt)
{
    ck_assert_int_eq(run_golden("vocab.txt"), 0);
}
END_TEST

/* ---- llama.cpp's ggml-vocab-bert-bge vectors -------------------------------- */

static int run_llama(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/llama.cpp/ggml-vocab-bert-bge.gguf.inp", refdata);
    size_t inp_len, out_len;
    char *inp = ce_test_read_file(path, &inp_len);
    snprintf(path, sizeof path, "%s/tokenizers/llama.cpp/ggml-vocab-bert-bge.gguf.out", refdata);
    char *out = ce_test_read_file(path, &out_len);
    ck_assert(inp && out);
    ce_tokenizer *tok = open_ref(file);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t cases = 0, ok = 0;
    char *text = inp, *line = out;
    for (;;) {
        char *end = strstr(text, sep);
        if (!end)
            break;
        char *nl = strchr(line, '\n');
        ck_assert_msg(nl, "%s has fewer lines than test cases", path);
        *nl = '\0';
        int32_t want[MAX_TOKENS];
        size_t n = 0;
        for (char *p = line; *p;) {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p)
                break;
            want[n++] = (int32_t)v;
            p = q;
        }
        ce_encoding *e = NULL;
        ck_assert_int_eq(ce_tokenizer_encode(tok, text, (size_t)(end - text), NULL, 0, 0, 0, &e),
                         CE_OK);
        bool same = ce_encoding_length(e) == n;
        for (size_t i = 0; same && i < n; i++)
            same = ce_encoding_ids(e)[i] == want[i];
        if (!same)
            fprintf(stderr, "  llama.cpp case %zu differs: \"%.*s\"\n", cases, (int)(end - text),
                    text);
        ok += same;
        cases++;
        ce_encoding_free(e);
        text = end + sizeof sep - 1;
        line = nl + 1;
    }
    ce_tokenizer_free(tok);
    free(inp);
    free(out);
    fprintf(stderr, "llama.cpp bert-bge with %s: %zu/%zu cases pass\n", file, ok, cases);
    ck_assert_uint_eq(cases, 46);
    return (int)(cases - ok);
}

START_TEST(test_llama_cpp_vectors)
{
    ck_assert_int_eq(run_llama("tokenizer.json"), 0);
    ck_assert_int_eq(run_llama("vocab.txt"), 0);
}
END_TEST

/* ---- threads ------------------------------------------------------------------ */

#define N_THREADS 4
#define ROUNDS    3

typedef struct thread_job {
    const ce_tokenizer *tok;
    ce_encoding **reference; /* one per golden line, from the main thread */
    size_t mismatches;
} thread_job;

static bool same_encoding(const ce_encoding *a, const ce_encoding *b)
{
    size_t n = ce_encoding_length(a);
    return n == ce_encoding_length(b) &&
           !memcmp(ce_encoding_ids(a), ce_encoding_ids(b), n * sizeof(int32_t)) &&
           !memcmp(ce_encoding_type_ids(a), ce_encoding_type_ids(b), n * sizeof(int32_t)) &&
           !memcmp(ce_encoding_offsets(a), ce_encoding_offsets(b), 2 * n * sizeof(size_t));
}

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    for (int round = 0; round < ROUNDS; round++)
        for (size_t k = 0; k < n_golden; k++) {
            const ce_json *text = ce_json_get(golden[k], "text");
            ce_encoding *e = NULL;
            if (ce_tokenizer_encode(job->tok, text->str, text->len, "pair [SEP] text", 15,
                                    CE_ENCODE_ADD_SPECIAL, 0, &e) != CE_OK ||
                !same_encoding(e, job->reference[k]))
                job->mismatches++;
            ce_encoding_free(e);
        }
    return NULL;
}

START_TEST(test_threads)
{
    ce_tokenizer *tok = open_ref("tokenizer.json");
    ce_encoding **reference = calloc(n_golden, sizeof *reference);
    for (size_t k = 0; k < n_golden; k++) {
        const ce_json *text = ce_json_get(golden[k], "text");
        ck_assert_int_eq(ce_tokenizer_encode(tok, text->str, text->len, "pair [SEP] text", 15,
                                             CE_ENCODE_ADD_SPECIAL, 0, &reference[k]),
                         CE_OK);
    }
    pthread_t th[N_THREADS];
    thread_job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (thread_job){tok, reference, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
    }
    size_t mismatches = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        mismatches += jobs[i].mismatches;
    }
    fprintf(stderr, "threads: %d x %d x %zu encodings, %zu mismatches\n", N_THREADS, ROUNDS,
            n_golden, mismatches);
    ck_assert_uint_eq(mismatches, 0);
    for (size_t k = 0; k < n_golden; k++)
        ce_encoding_free(reference[k]);
    free(reference);
    ce_tokenizer_free(tok);
}
END_TEST

int main(void)
{
    refdata = ce_test_refdata();
    if (!refdata)
        return CE_TEST_SKIP;
    load_golden();
    Suite *s = suite_create("tokenizer-bert-conformance");
    TCase *tc = tcase_create("hf");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_golden_tokenizer_json);
    tcase_add_test(tc, test_golden_vocab_txt);
    tcase_add_test(tc, test_llama_cpp_vectors);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    int rc = ce_test_run(s);
    for (size_t k = 0; k < n_golden; k++)
        ce_json_free(golden[k]);
    free(golden);
    return rc;
}
