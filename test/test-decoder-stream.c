/* The streaming decoder (ce_decoder_*): token by token, only complete UTF-8
 * characters come out, the pieces add up to the text (and to
 * ce_tokenizer_decode() of the same ids), flush turns an unfinished
 * character into U+FFFD, a too small buffer changes nothing. First on a
 * byte-only vocabulary (every multi-byte character split over tokens, no
 * reference data needed), then, with ../shared/refdata, on GPT-2 (emoji and
 * CJK of the golden file) and on BERT's WordPiece (the generic path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contextembed/tokenizer.h"
#include "io/json.h"
#include "test-util.h"
#include "tokenizers/byte_level.h"
#include "tokenizers/unicode.h"

static char tmpdir[] = "/tmp/ce-test-decoder-XXXXXX";
static const char *refdata;
static ce_tokenizer *bytes_tok; /* ids 0..255: the bytes; 256: <|endoftext|> */

#define EOT 256

/* A byte-level BPE with no merges: every byte is its own token. */
static void make_bytes_tokenizer(void)
{
    size_t cap = 1 << 14, len = 0;
    char *doc = malloc(cap);
    len += (size_t)snprintf(doc + len, cap - len,
                            "{\"added_tokens\": [{\"id\": 256, \"content\": \"<|endoftext|>\", "
                            "\"special\": true}], \"normalizer\": null, "
                            "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": "
                            "false}, \"decoder\": {\"type\": \"ByteLevel\"}, \"post_processor\": "
                            "null, \"model\": {\"type\": \"BPE\", \"merges\": [], \"vocab\": {");
    for (int b = 0; b < 256; b++) {
        char ch[3] = {0};
        ce_byte_level_put((uint8_t)b, ch);
        len += (size_t)snprintf(doc + len, cap - len, "\"%s%s\": %d, ",
                                (ch[0] == '"' || ch[0] == '\\') ? "\\" : "", ch, b);
    }
    len += (size_t)snprintf(doc + len, cap - len, "\"<|endoftext|>\": 256}}}");
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    FILE *f = fopen(path, "wb");
    fwrite(doc, 1, len, f);
    fclose(f);
    free(doc);
    if (ce_tokenizer_open(path, &bytes_tok) != CE_OK) {
        fprintf(stderr, "%s\n", ce_last_error());
        exit(1);
    }
}

/* ---- streaming one id list -------------------------------------------------------- */

typedef struct stream_result {
    char *text; /* all pieces, flush included */
    size_t len;
    size_t held;    /* pushes that wrote nothing */
    bool all_whole; /* every piece was whole characters */
} stream_result;

static void stream(const ce_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags,
                   stream_result *r)
{
    ce_decoder *dec = NULL;
    ck_assert_int_eq(ce_decoder_create(tok, flags, &dec), CE_OK);
    size_t cap = 64;
    r->text = malloc(cap);
    r->len = 0;
    r->held = 0;
    r->all_whole = true;
    char piece[512];
    for (size_t i = 0; i <= n; i++) {
        size_t w = 0;
        ce_status st = i < n ? ce_decoder_push(dec, ids[i], piece, sizeof piece, &w)
                             : ce_decoder_flush(dec, piece, sizeof piece, &w);
        ck_assert_msg(st == CE_OK, "%s", ce_last_error());
        ck_assert_uint_le(w, sizeof piece);
        if (ce_utf8_valid_prefix(piece, w) != w)
            r->all_whole = false;
        if (i < n && w == 0)
            r->held++;
        while (r->len + w > cap)
            r->text = realloc(r->text, cap *= 2);
        memcpy(r->text + r->len, piece, w);
        r->len += w;
    }
    ce_decoder_free(dec);
}

static ce_encoding *encode(const ce_tokenizer *tok, const char *text, size_t len)
{
    ce_encoding *e = NULL;
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, len, NULL, 0, 0, 0, &e), CE_OK);
    return e;
}

/* ---- on the byte-only vocabulary ---------------------------------------------------- */

START_TEST(test_split_characters)
{
    static const char *const texts[] = {
        "h\xC3\xA9llo w\xC3\xB6rld",
        "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",              /* emoji, skin tone */
        "\xE4\xB8\xAD\xE6\x96\x87 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", /* CJK */
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 ok",               /* ZWJ sequence */
        "",
    };
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        size_t len = strlen(texts[t]);
        ce_encoding *e = encode(bytes_tok, texts[t], len);
        ck_assert_uint_eq(ce_encoding_length(e), len); /* one token per byte */
        stream_result r;
        stream(bytes_tok, ce_encoding_ids(e), ce_encoding_length(e), 0, &r);
        ck_assert(r.all_whole);
        ck_assert_uint_eq(r.len, len);
        ck_assert(!memcmp(r.text, texts[t], len));
        /* every continuation byte's token was held back */
        size_t cont = 0;
        for (size_t i = 0; i < len; i++)
            cont += ((unsigned char)texts[t][i] & 0xC0) == 0x80;
        ck_assert_uint_eq(r.held, cont);
        free(r.text);
        ce_encoding_free(e);
    }
}
END_TEST

static void push_expect(ce_decoder *dec, int32_t id, const char *want, size_t want_len)
{
    char buf[64];
    size_t w = 99;
    ck_assert_int_eq(ce_decoder_push(dec, id, buf, sizeof buf, &w), CE_OK);
    ck_assert_uint_eq(w, want_len);
    ck_assert(!memcmp(buf, want, want_len));
}

static void flush_expect(ce_decoder *dec, const char *want, size_t want_len)
{
    char buf[64];
    size_t w = 99;
    ck_assert_int_eq(ce_decoder_flush(dec, buf, sizeof buf, &w), CE_OK);
    ck_assert_uint_eq(w, want_len);
    ck_assert(!memcmp(buf, want, want_len));
}

START_TEST(test_incomplete_and_invalid)
{
    ce_decoder *dec = NULL;
    ck_assert_int_eq(ce_decoder_create(bytes_tok, 0, &dec), CE_OK);
    /* an unfinished emoji at the end becomes U+FFFD on flush */
    push_expect(dec, 'a', "a", 1);
    push_expect(dec, 0xF0, "", 0);
    push_expect(dec, 0x9F, "", 0);
    flush_expect(dec, "\xEF\xBF\xBD", 3);
    flush_expect(dec, "", 0); /* flush reset the decoder */
    /* a stray continuation byte cannot wait for anything */
    push_expect(dec, 0x80, "\xEF\xBF\xBD", 3);
    /* a lead byte broken by the next token: U+FFFD, then that token */
    push_expect(dec, 0xE2, "", 0);
    push_expect(dec, 'b',
                "\xEF\xBF\xBD"
                "b",
                4);
    /* E0 80 is never valid: both bytes out at once */
    push_expect(dec, 0xE0, "", 0);
    push_expect(dec, 0x80, "\xEF\xBF\xBD\xEF\xBF\xBD", 6);
    /* special tokens: kept by default */
    push_expect(dec, EOT, "<|endoftext|>", 13);
    flush_expect(dec, "", 0);
    ce_decoder_free(dec);
    /* ... skipped with CE_DECODE_SKIP_SPECIAL, even inside a character */
    ck_assert_int_eq(ce_decoder_create(bytes_tok, CE_DECODE_SKIP_SPECIAL, &dec), CE_OK);
    push_expect(dec, 0xC3, "", 0);
    push_expect(dec, EOT, "", 0);
    push_expect(dec, 0xA9, "\xC3\xA9", 2);
    ce_decoder_free(dec);
}
END_TEST

/* The pieces of any id sequence add up to ce_tokenizer_decode() of it. */
START_TEST(test_matches_decode)
{
    uint32_t x = 7;
    int32_t ids[64];
    for (int round = 0; round < 500; round++) {
        size_t n = (size_t)round % 64;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            uint32_t r = (x >> 16) % 100;
            /* mostly plausible UTF-8 pieces, some noise and specials */
            static const int32_t pool[] = {0xF0, 0x9F, 0x98, 0x80, 0xE4, 0xB8, 0xAD, 0xC3, 0xA9,
                                           'a',  ' ',  0xED, 0xA0, 0xF4, 0x90, 0xFF, EOT};
            ids[i] = r < 90 ? pool[r % (sizeof pool / sizeof *pool)] : (int32_t)(r * 2);
        }
        for (int skip = 0; skip < 2; skip++) {
            uint32_t flags = skip ? CE_DECODE_SKIP_SPECIAL : 0;
            stream_result r;
            stream(bytes_tok, ids, n, flags, &r);
            ck_assert(r.all_whole);
            char want[1024];
            size_t wlen = 0;
            ck_assert_int_eq(
                ce_tokenizer_decode(bytes_tok, ids, n, flags, want, sizeof want, &wlen), CE_OK);
            ck_assert_msg(r.len == wlen && !memcmp(r.text, want, wlen), "round %d", round);
            free(r.text);
        }
    }
}
END_TEST

START_TEST(test_buffer_too_small)
{
    ce_decoder *dec = NULL;
    ck_assert_int_eq(ce_decoder_create(bytes_tok, 0, &dec), CE_OK);
    push_expect(dec, 0xF0, "", 0);
    push_expect(dec, 0x9F, "", 0);
    push_expect(dec, 0x98, "", 0);
    char buf[8] = "zzzzzzz";
    size_t w = 0;
    /* completing the emoji needs 4 bytes */
    ck_assert_int_eq(ce_decoder_push(dec, 0x80, buf, 3, &w), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(w, 4);
    ck_assert_int_eq(buf[0], 'z');
    w = 0;
    ck_assert_int_eq(ce_decoder_push(dec, 0x80, NULL, 0, &w), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(w, 4);
    /* unchanged: the same id again, with room */
    push_expect(dec, 0x80, "\xF0\x9F\x98\x80", 4);
    /* flush with too little room keeps the held bytes */
    push_expect(dec, 0xE4, "", 0);
    ck_assert_int_eq(ce_decoder_flush(dec, buf, 2, &w), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(w, 3);
    push_expect(dec, 0xB8, "", 0);
    push_expect(dec, 0xAD, "\xE4\xB8\xAD", 3);
    /* nothing to write needs no buffer */
    ck_assert_int_eq(ce_decoder_push(dec, 0xC3, NULL, 0, &w), CE_OK);
    ck_assert_uint_eq(w, 0);
    ce_decoder_free(dec);
}
END_TEST

START_TEST(test_bad_arguments)
{
    ce_decoder *dec = (ce_decoder *)&dec;
    ck_assert_int_eq(ce_decoder_create(NULL, 0, &dec), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_decoder_create(bytes_tok, 0, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_decoder_create(bytes_tok, 0x80, &dec), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_eq(dec, (ce_decoder *)&dec);
    ck_assert_int_eq(ce_decoder_create(bytes_tok, 0, &dec), CE_OK);
    char buf[16];
    size_t w = 99;
    push_expect(dec, 0xC3, "", 0);
    ck_assert_int_eq(ce_decoder_push(dec, 257, buf, sizeof buf, &w), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_decoder_push(dec, -1, buf, sizeof buf, &w), CE_ERR_OUT_OF_RANGE);
    ck_assert_uint_eq(w, 99);
    ck_assert_int_eq(ce_decoder_push(NULL, 1, buf, sizeof buf, &w), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_decoder_push(dec, 1, buf, sizeof buf, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_decoder_flush(NULL, buf, sizeof buf, &w), CE_ERR_INVALID_ARGUMENT);
    /* the held byte survived the errors */
    push_expect(dec, 0xA9, "\xC3\xA9", 2);
    ce_decoder_free(dec);
    ce_decoder_free(NULL);
}
END_TEST

/* ---- reference data ---------------------------------------------------------------- */

static ce_tokenizer *open_ref(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", refdata, rel);
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(path, &tok) == CE_OK, "%s", ce_last_error());
    return tok;
}

/* Stream the encoding of every golden text; with @p exact the pieces must
 * give back the text, otherwise ce_tokenizer_decode()'s answer. */
static void stream_golden(const char *tok_rel, const char *golden_rel, bool exact)
{
    ce_tokenizer *tok = open_ref(tok_rel);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", refdata, golden_rel);
    size_t len;
    char *data = ce_test_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    size_t lines = 0, held = 0, split_lines = 0;
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(data + len - line);
        ce_json *g = NULL;
        ck_assert_int_eq(ce_json_parse(line, n, path, &g), CE_OK);
        line += n + 1;
        const ce_json *text = ce_json_get(g, "text");
        ce_encoding *e = encode(tok, text->str, text->len);
        stream_result r;
        stream(tok, ce_encoding_ids(e), ce_encoding_length(e), 0, &r);
        ck_assert(r.all_whole);
        if (exact) {
            ck_assert_msg(r.len == text->len && !memcmp(r.text, text->str, r.len), "line %zu",
                          lines);
        } else {
            size_t need = 0;
            ce_tokenizer_decode(tok, ce_encoding_ids(e), ce_encoding_length(e), 0, NULL, 0, &need);
            char *want = malloc(need + 1);
            ck_assert_int_eq(ce_tokenizer_decode(tok, ce_encoding_ids(e), ce_encoding_length(e), 0,
                                                 want, need, &need),
                             CE_OK);
            ck_assert_msg(r.len == need && !memcmp(r.text, want, need), "line %zu", lines);
            free(want);
        }
        held += r.held;
        split_lines += r.held > 0;
        lines++;
        free(r.text);
        ce_encoding_free(e);
        ce_json_free(g);
    }
    fprintf(stderr, "%s: %zu golden texts streamed, %zu held-back pushes in %zu texts\n", tok_rel,
            lines, held, split_lines);
    ck_assert_uint_ge(lines, 200);
    if (exact)
        ck_assert_uint_gt(split_lines, 10); /* emoji and CJK did split */
    free(data);
    ce_tokenizer_free(tok);
}

START_TEST(test_gpt2_golden)
{
    stream_golden("tokenizers/gpt2/tokenizer.json", "tokenizers/golden/gpt2.jsonl", true);
}
END_TEST

START_TEST(test_gpt2_emoji)
{
    ce_tokenizer *tok = open_ref("tokenizers/gpt2/tokenizer.json");
    const char *text = "Hi \xF0\x9F\xA4\x97\xF0\x9F\x90\x8D \xE6\xB7\xB1\xE5\xBA\xA6\xE5\xAD\xA6"
                       "\xE4\xB9\xA0 \xF0\x9F\x87\xAF\xF0\x9F\x87\xB5!";
    ce_encoding *e = encode(tok, text, strlen(text));
    stream_result r;
    stream(tok, ce_encoding_ids(e), ce_encoding_length(e), 0, &r);
    ck_assert(r.all_whole);
    ck_assert_uint_eq(r.len, strlen(text));
    ck_assert(!memcmp(r.text, text, r.len));
    ck_assert_uint_gt(r.held, 0);
    free(r.text);
    ce_encoding_free(e);
    ce_tokenizer_free(tok);
}
END_TEST

/* The header promises that 16 bytes plus the longest token always suffice:
 * push every id of GPT-2, fresh and after a held lead byte. */
START_TEST(test_gpt2_buffer_bound)
{
    ce_tokenizer *tok = open_ref("tokenizers/gpt2/tokenizer.json");
    size_t n = ce_tokenizer_vocab_size(tok), longest = 0;
    for (size_t id = 0; id < n; id++) {
        const char *s;
        size_t len;
        ck_assert_int_eq(ce_tokenizer_id_to_token(tok, (int32_t)id, &s, &len), CE_OK);
        longest = len > longest ? len : longest;
    }
    int32_t lead = -1; /* the token of the single byte E4, a 3-byte lead */
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, "\xC3\xA4", 2, &lead), CE_OK);
    char *buf = malloc(16 + longest);
    ce_decoder *dec = NULL;
    ck_assert_int_eq(ce_decoder_create(tok, 0, &dec), CE_OK);
    size_t most = 0;
    for (size_t id = 0; id < n; id++) {
        for (int held = 0; held < 2; held++) {
            size_t w;
            if (held)
                ck_assert_int_eq(ce_decoder_push(dec, lead, buf, 16 + longest, &w), CE_OK);
            ck_assert_msg(ce_decoder_push(dec, (int32_t)id, buf, 16 + longest, &w) == CE_OK,
                          "id %zu: %s", id, ce_last_error());
            most = w > most ? w : most;
            ck_assert_int_eq(ce_decoder_flush(dec, buf, 16 + longest, &w), CE_OK);
        }
    }
    fprintf(stderr, "GPT-2: longest token %zu bytes, largest push %zu bytes\n", longest, most);
    ce_decoder_free(dec);
    free(buf);
    ce_tokenizer_free(tok);
}
END_TEST

/* WordPiece has no byte pieces: the decoder diffs decode() of the last two
 * tokens, and the pieces must add up to decode() ("##" joins, cleanup). */
START_TEST(test_wordpiece_golden)
{
    stream_golden("tokenizers/bert-base-uncased/tokenizer.json",
                  "tokenizers/golden/bert-base-uncased.jsonl", false);
}
END_TEST

static void remove_tree(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    make_bytes_tokenizer();
    refdata = getenv("CE_REFDATA") ? ce_test_refdata() : NULL;
    Suite *s = suite_create("decoder-stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_split_characters);
    tcase_add_test(tc, test_incomplete_and_invalid);
    tcase_add_test(tc, test_matches_decode);
    tcase_add_test(tc, test_buffer_too_small);
    tcase_add_test(tc, test_bad_arguments);
    if (refdata) {
        tcase_add_test(tc, test_gpt2_golden);
        tcase_add_test(tc, test_gpt2_emoji);
        tcase_add_test(tc, test_gpt2_buffer_bound);
        tcase_add_test(tc, test_wordpiece_golden);
    } else {
        fprintf(stderr, "SKIP: GPT-2 and BERT streaming need ../shared/refdata\n");
    }
    suite_add_tcase(s, tc);
    int rc = ce_test_run(s);
    ce_tokenizer_free(bytes_tok);
    remove_tree(tmpdir);
    return rc;
}
