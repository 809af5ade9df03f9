/* GPT-2 byte-level BPE against Hugging Face: every line of the golden
 * gpt2.jsonl (ids, byte offsets, ids with special-token text taken
 * literally, token strings, decoded text, decode(encode(x)) == x) through
 * both refdata/tokenizers/gpt2/tokenizer.json and vocab.json + merges.txt;
 * every case of llama.cpp's ggml-vocab-gpt-2 vectors; the small-vocabulary
 * tokenizer of tiny-random-gpt2; 4 threads sharing one tokenizer; and 1 MB
 * without a space through the real vocabulary. Skips (77) without
 * ../shared/refdata. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contextembed/tokenizer.h"
#include "io/json.h"
#include "test-util.h"

static const char *refdata;
static ce_json **golden;
static size_t n_golden;

#define MAX_TOKENS 4096

static void load_golden(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/golden/gpt2.jsonl", refdata);
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
            if (ce_json_parse(line, n, path, &golden[n_golden]) != CE_OK) {
                fprintf(stderr, "%s\n", ce_last_error());
                exit(1);
            }
            n_golden++;
        }
        line += n + 1;
    }
    free(data);
}

static ce_tokenizer *open_path(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", refdata, rel);
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(path, &tok) == CE_OK, "%s", ce_last_error());
    return tok;
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

/* decode(ids) into a malloc'd buffer; NULL on failure. */
static char *decode_all(const ce_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags,
                        size_t *len)
{
    size_t needed = 0;
    ce_status st = ce_tokenizer_decode(tok, ids, n, flags, NULL, 0, &needed);
    if (st != CE_OK && st != CE_ERR_BUFFER_TOO_SMALL)
        return NULL;
    char *buf = malloc(needed + 1);
    if (ce_tokenizer_decode(tok, ids, n, flags, buf, needed, len) != CE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- one golden line ---------------------------------------------------------- */

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

static ce_encoding *encode(const ce_tokenizer *tok, const ce_json *text, uint32_t flags)
{
    ce_encoding *e = NULL;
    if (ce_tokenizer_encode(tok, text->str, text->len, NULL, 0, flags, 0, &e) != CE_OK)
        fprintf(stderr, "  %s\n", ce_last_error());
    return e;
}

static void compare_ids(line_result *r, const ce_json *g, const ce_tokenizer *tok,
                        const ce_json *text, const char *key, uint32_t flags)
{
    int32_t want[MAX_TOKENS];
    size_t n = int_array(ce_json_get(g, key), want, MAX_TOKENS);
    ce_encoding *e = encode(tok, text, flags);
    size_t m = ce_encoding_length(e);
    for (size_t i = 0; i < (n > m ? n : m) || !e; i++)
        if (!e || i >= n || i >= m || ce_encoding_ids(e)[i] != want[i]) {
            mismatch(r, g, key, i);
            break;
        }
    ce_encoding_free(e);
}

static void compare_offsets(line_result *r, const ce_json *g, const ce_tokenizer *tok,
                            const ce_json *text)
{
    const ce_json *offs = ce_json_get(g, "byte_offsets");
    ce_encoding *e = encode(tok, text, 0);
    if (!e || offs->n != ce_encoding_length(e)) {
        mismatch(r, g, "byte_offsets (count)", 0);
        ce_encoding_free(e);
        return;
    }
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
    size_t len;
    char *buf = decode_all(tok, ids, n, 0, &len);
    const ce_json *decoded = ce_json_get(g, "decoded");
    if (!buf || len != decoded->len || memcmp(buf, decoded->str, len))
        mismatch(r, g, "decoded", 0);
    free(buf);
}

/* decode(encode(x)) == x, special tokens recognised or not. */
static void compare_roundtrip(line_result *r, const ce_json *g, const ce_tokenizer *tok,
                              const ce_json *text, uint32_t flags)
{
    ce_encoding *e = encode(tok, text, flags);
    size_t len = 0;
    char *buf = e ? decode_all(tok, ce_encoding_ids(e), ce_encoding_length(e), 0, &len) : NULL;
    if (!buf || len != text->len || memcmp(buf, text->str, len))
        mismatch(r, g, "decode(encode(text))", 0);
    free(buf);
    ce_encoding_free(e);
}

static int run_golden(const char *rel)
{
    ce_tokenizer *tok = open_path(rel);
    ck_assert_str_eq(ce_tokenizer_kind(tok), "bpe");
    size_t ok = 0, checks = 0;
    for (size_t k = 0; k < n_golden; k++) {
        const ce_json *g = golden[k];
        const ce_json *text = ce_json_get(g, "text");
        line_result r = {0};
        compare_ids(&r, g, tok, text, "ids", 0);
        /* GPT2TokenizerFast adds no special tokens */
        compare_ids(&r, g, tok, text, "ids", CE_ENCODE_ADD_SPECIAL);
        compare_offsets(&r, g, tok, text);
        compare_tokens(&r, g, tok);
        compare_roundtrip(&r, g, tok, text, 0);
        compare_roundtrip(&r, g, tok, text, CE_ENCODE_SPECIAL_AS_TEXT);
        checks += 7;
        if (ce_json_get(g, "ids_special_as_text")) {
            compare_ids(&r, g, tok, text, "ids_special_as_text", CE_ENCODE_SPECIAL_AS_TEXT);
            checks++;
        } else {
            compare_ids(&r, g, tok, text, "ids", CE_ENCODE_SPECIAL_AS_TEXT);
        }
        ok += r.failures == 0;
    }
    ce_tokenizer_free(tok);
    fprintf(stderr, "golden gpt2.jsonl with %s: %zu/%zu lines pass (%zu comparisons)\n", rel, ok,
            n_golden, checks);
    return (int)(n_golden - ok);
}

START_TEST(test_golden_tokenizer_json)
{
    ck_assert_uint_ge(n_golden, 200);
    ck_assert_int_eq(run_golden("tokenizers/gpt2/tokenizer.json"), 0);
}
END_TEST

START_TEST(test_golden_vocab_json)
{
    ck_assert_int_eq(run_golden("tokenizers/gpt2/vocab.json"), 0);
}
END_TEST

/* OpenAI's own file names for the same vocabulary. */
START_TEST(test_golden_encoder_json)
{
    ck_assert_int_eq(run_golden("tokenizers/gpt2/encoder.json"), 0);
}
END_TEST

START_TEST(test_specials)
{
    static const char *const files[] = {"tokenizers/gpt2/tokenizer.json",
                                        "tokenizers/gpt2/vocab.json", "tokenizers/gpt2"};
    for (size_t f = 0; f < 3; f++) {
        ce_tokenizer *tok = open_path(files[f]);
        ck_assert_str_eq(ce_tokenizer_kind(tok), "bpe");
        ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), 50257);
        static const ce_special_token roles[] = {CE_SPECIAL_EOS, CE_SPECIAL_BOS, CE_SPECIAL_UNK};
        for (size_t i = 0; i < 3; i++) {
            int32_t id = -1;
            ck_assert_int_eq(ce_tokenizer_special_id(tok, roles[i], &id), CE_OK);
            ck_assert_int_eq(id, 50256);
        }
        int32_t id = 7;
        ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_CLS, &id), CE_ERR_NOT_FOUND);
        ck_assert_int_eq(id, 7);
        /* skipping specials in decode */
        int32_t ids[] = {15496, 50256, 6894};
        size_t len;
        char *s = decode_all(tok, ids, 3, CE_DECODE_SKIP_SPECIAL, &len);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(len, 10);
        ck_assert(!memcmp(s, "Helloworld", 10));
        free(s);
        s = decode_all(tok, ids, 3, 0, &len);
        ck_assert_uint_eq(len, 23);
        ck_assert(!memcmp(s, "Hello<|endoftext|>world", 23));
        free(s);
        ce_tokenizer_free(tok);
    }
}
END_TEST

/* ---- llama.cpp's ggml-vocab-gpt-2 vectors -------------------------------------- */

static int run_llama(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/llama.cpp/ggml-vocab-gpt-2.gguf.inp", refdata);
    size_t inp_len, out_len;
    char *inp = ce_test_read_file(path, &inp_len);
    snprintf(path, sizeof path, "%s/tokenizers/llama.cpp/ggml-vocab-gpt-2.gguf.out", refdata);
    char *out = ce_test_read_file(path, &out_len);
    ck_assert(inp && out);
    ce_tokenizer *tok = open_path(rel);
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
        *nl = '\n';
        size_t tlen = (size_t)(end - text);
        ce_encoding *e = NULL;
        ck_assert_int_eq(ce_tokenizer_encode(tok, text, tlen, NULL, 0, 0, 0, &e), CE_OK);
        bool same = ce_encoding_length(e) == n;
        for (size_t i = 0; same && i < n; i++)
            same = ce_encoding_ids(e)[i] == want[i];
        size_t dlen = 0;
        char *back = decode_all(tok, ce_encoding_ids(e), ce_encoding_length(e), 0, &dlen);
        same = same && back && dlen == tlen && !memcmp(back, text, tlen);
        free(back);
        if (!same)
            fprintf(stderr, "  llama.cpp case %zu differs: \"%.*s\"\n", cases, (int)tlen, text);
        ok += same;
        cases++;
        ce_encoding_free(e);
        text = end + sizeof sep - 1;
        line = nl + 1;
    }
    ce_tokenizer_free(tok);
    free(inp);
    free(out);
    fprintf(stderr, "llama.cpp gpt-2 with %s: %zu/%zu cases pass\n", rel, ok, cases);
    ck_assert_uint_eq(cases, 46);
    return (int)(cases - ok);
}

START_TEST(test_llama_cpp_vectors)
{
    ck_assert_int_eq(run_llama("tokenizers/gpt2/tokenizer.json"), 0);
    ck_assert_int_eq(run_llama("tokenizers/gpt2/vocab.json"), 0);
}
END_TEST

/* ---- tiny-random-gpt2: 1000 tokens, 193 of the 256 byte characters ------------- */

START_TEST(test_tiny_random_gpt2)
{
    static const char *const files[] = {"models/tiny-random-gpt2",
                                        "models/tiny-random-gpt2/vocab.json"};
    static const int32_t want[] = {40, 416, 79, 266, 993, 478, 711, 221};
    for (size_t f = 0; f < 2; f++) {
        ce_tokenizer *tok = open_path(files[f]);
        ck_assert_str_eq(ce_tokenizer_kind(tok), "bpe");
        ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), 1000);
        int32_t eos = -1;
        ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_EOS, &eos), CE_OK);
        ck_assert_int_eq(eos, 0);
        ce_encoding *e = NULL;
        ck_assert_int_eq(ce_tokenizer_encode(tok, "Hello I believe in", 18, NULL, 0, 0, 0, &e),
                         CE_OK);
        ck_assert_uint_eq(ce_encoding_length(e), 8);
        for (size_t i = 0; i < 8; i++)
            ck_assert_int_eq(ce_encoding_ids(e)[i], want[i]);
        ce_encoding_free(e);
        /* " fe" is one token; a character the vocabulary lacks vanishes, as
         * in HF's BPE without an unknown token */
        int32_t fe = -1;
        ck_assert_int_eq(ce_tokenizer_token_to_id(tok,
                                                  "\xC4\xA0"
                                                  "fe",
                                                  4, &fe),
                         CE_OK);
        ck_assert_int_eq(fe, 641);
        ce_tokenizer_free(tok);
    }
}
END_TEST

/* Both loaders of the tiny tokenizer agree on every golden text, offsets too,
 * even where characters vanish. */
START_TEST(test_tiny_loaders_agree)
{
    ce_tokenizer *a = open_path("models/tiny-random-gpt2/tokenizer.json");
    ce_tokenizer *b = open_path("models/tiny-random-gpt2/vocab.json");
    for (size_t k = 0; k < n_golden; k++) {
        const ce_json *text = ce_json_get(golden[k], "text");
        ce_encoding *ea = encode(a, text, 0), *eb = encode(b, text, 0);
        ck_assert(ea && eb);
        size_t n = ce_encoding_length(ea);
        ck_assert_uint_eq(n, ce_encoding_length(eb));
        ck_assert(!memcmp(ce_encoding_ids(ea), ce_encoding_ids(eb), n * sizeof(int32_t)));
        ck_assert(
            !memcmp(ce_encoding_offsets(ea), ce_encoding_offsets(eb), 2 * n * sizeof(size_t)));
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_le(ce_encoding_offsets(ea)[2 * i + 1], text->len);
        ce_encoding_free(ea);
        ce_encoding_free(eb);
    }
    ce_tokenizer_free(a);
    ce_tokenizer_free(b);
}
END_TEST

/* ---- threads -------------------------------------------------------------------- */

#define N_THREADS 4
#define ROUNDS    3

typedef struct thread_job {
    const ce_tokenizer *tok;
    ce_encoding **reference;
    size_t mismatches;
} thread_job;

static bool same_encoding(const ce_encoding *a, const ce_encoding *b)
{
    size_t n = ce_encoding_length(a);
    return n == ce_encoding_length(b) &&
           !memcmp(ce_encoding_ids(a), ce_encoding_ids(b), n * sizeof(int32_t)) &&
           !memcmp(ce_encoding_offsets(a), ce_encoding_offsets(b), 2 * n * sizeof(size_t));
}

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    for (int round = 0; round < ROUNDS; round++)
        for (size_t k = 0; k < n_golden; k++) {
            const ce_json *text = ce_json_get(golden[k], "text");
            ce_encoding *e = NULL;
            if (ce_tokenizer_encode(job->tok, text->str, text->len, NULL, 0, 0, 0, &e) != CE_OK ||
                !same_encoding(e, job->reference[k]))
                job->mismatches++;
            ce_encoding_free(e);
        }
    return NULL;
}

START_TEST(test_threads)
{
    ce_tokenizer *tok = open_path("tokenizers/gpt2/tokenizer.json");
    ce_encoding **reference = calloc(n_golden, sizeof *reference);
    for (size_t k = 0; k < n_golden; k++)
        ck_assert_ptr_nonnull(reference[k] = encode(tok, ce_json_get(golden[k], "text"), 0));
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

/* ---- 1 MB without a space: one word, so merging must not be quadratic ------------ */

/* The bound is for a release build; sanitizers slow merging about tenfold.
 * A quadratic merge would take hours on 1 MB either way. */
#if defined(__SANITIZE_ADDRESS__)
#define TIME_LIMIT 40.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIME_LIMIT 40.0
#endif
#endif
#ifndef TIME_LIMIT
#define TIME_LIMIT 5.0
#endif

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

START_TEST(test_one_megabyte_word)
{
    ce_tokenizer *tok = open_path("tokenizers/gpt2/tokenizer.json");
    size_t n = 1 << 20;
    char *text = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) { /* pseudo-random letters */
        x = x * 1103515245u + 12345u;
        text[i] = (char)('a' + (x >> 16) % 26);
    }
    double t0 = seconds();
    ce_encoding *e = NULL;
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, n, NULL, 0, 0, 0, &e), CE_OK);
    double dt = seconds() - t0;
    size_t len = 0;
    char *back = decode_all(tok, ce_encoding_ids(e), ce_encoding_length(e), 0, &len);
    ck_assert_uint_eq(len, n);
    ck_assert(!memcmp(back, text, n));
    /* offsets tile the text */
    const size_t *o = ce_encoding_offsets(e);
    for (size_t i = 0; i < ce_encoding_length(e); i++)
        ck_assert_uint_eq(o[2 * i], i ? o[2 * i - 1] : 0);
    fprintf(stderr, "1 MB of random letters, GPT-2 vocabulary: %zu tokens in %.3f s\n",
            ce_encoding_length(e), dt);
    ck_assert_msg(dt < TIME_LIMIT, "took %.3f s", dt);
    free(back);
    ce_encoding_free(e);
    free(text);
    ce_tokenizer_free(tok);
}
END_TEST

int main(void)
{
    refdata = ce_test_refdata();
    if (!refdata)
        return CE_TEST_SKIP;
    load_golden();
    Suite *s = suite_create("tokenizer-gpt2-conformance");
    TCase *tc = tcase_create("hf");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_golden_tokenizer_json);
    tcase_add_test(tc, test_golden_vocab_json);
    tcase_add_test(tc, test_golden_encoder_json);
    tcase_add_test(tc, test_specials);
    tcase_add_test(tc, test_llama_cpp_vectors);
    tcase_add_test(tc, test_tiny_random_gpt2);
    tcase_add_test(tc, test_tiny_loaders_agree);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_one_megabyte_word);
    suite_add_tcase(s, tc);
    int rc = ce_test_run(s);
    for (size_t k = 0; k < n_golden; k++)
        ce_json_free(golden[k]);
    free(golden);
    return rc;
}
