/* Byte-level BPE on small hand-made vocabularies (no reference data needed):
 * the byte map, GPT-2's pre-tokenizer pattern, merge order by rank then
 * position, offsets of split characters, add_prefix_space, trim_offsets,
 * unknown characters, ignore_merges, lossy decoding, 1 MB without a space,
 * and bad input: invalid UTF-8, corrupt vocab.json / merges.txt /
 * tokenizer.json, ids out of range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "contextembed/tokenizer.h"
#include "test-util.h"
#include "tokenizers/byte_level.h"

#define G "\xC4\xA0" /* 'Ġ', the character of the space byte */

static char tmpdir[] = "/tmp/ce-test-bpe-XXXXXX";
static int n_dirs;

/* ---- building test vocabularies -------------------------------------------------- */

static void append(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* A JSON string literal of s. */
static void append_quoted(char **buf, size_t *len, const char *s)
{
    append(buf, len, "\"");
    for (; *s; s++) {
        char c[3] = {*s, 0, 0};
        if (*s == '"' || *s == '\\') {
            c[0] = '\\';
            c[1] = *s;
        }
        append(buf, len, c);
    }
    append(buf, len, "\"");
}

/* Every byte's character as id = byte (bytes >= 0x80 left out unless
 * @p high), then @p extra (byte-level strings, NULL-terminated) from 256,
 * then <|endoftext|>. Returns the JSON object; *eot gets its id. */
static char *vocab_json(bool high, const char *const *extra, int *eot)
{
    char *buf = NULL;
    size_t len = 0;
    append(&buf, &len, "{");
    int id = 0;
    for (int b = 0; b < 256; b++, id++) {
        if (b >= 0x80 && !high)
            continue;
        char ch[3] = {0};
        ce_byte_level_put((uint8_t)b, ch);
        char num[32];
        append_quoted(&buf, &len, ch);
        snprintf(num, sizeof num, ": %d, ", b);
        append(&buf, &len, num);
    }
    for (size_t i = 0; extra && extra[i]; i++, id++) {
        char num[32];
        append_quoted(&buf, &len, extra[i]);
        snprintf(num, sizeof num, ": %d, ", id);
        append(&buf, &len, num);
    }
    char tail[64];
    snprintf(tail, sizeof tail, "\"<|endoftext|>\": %d}", id);
    append(&buf, &len, tail);
    if (eot)
        *eot = id;
    return buf;
}

static char *merges_json(const char *const *merges)
{
    char *buf = NULL;
    size_t len = 0;
    append(&buf, &len, "[");
    for (size_t i = 0; merges[i]; i++) {
        if (i)
            append(&buf, &len, ", ");
        append_quoted(&buf, &len, merges[i]);
    }
    append(&buf, &len, "]");
    return buf;
}

static char *new_dir(void)
{
    char *d = malloc(strlen(tmpdir) + 32);
    /* each Check test runs in its own fork: the pid keeps names apart */
    sprintf(d, "%s/%ld-%d", tmpdir, (long)getpid(), n_dirs++);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    return d;
}

static void write_file(const char *dir, const char *name, const char *content)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
}

/* The test vocabulary: bytes, then these tokens (ids 256...). */
static const char *const extra[] = {
    "aa", "aaaa", "aaaaaaaa", "bc", "ab", "abc", "xy", "yx", G "a", G "b", NULL,
};
enum { AA = 256, AAAA, A8, BC, AB, ABC, XY, YX, GA, GB, EOT };
/* Ranks in this order; "a bc" is not a merge, so "abc" -> a + bc. */
static const char *const merges[] = {
    "a a", "aa aa", "aaaa aaaa", "b c", "a b", "ab c", "x y", "y x", G " a", G " b", NULL,
};

typedef struct opts {
    bool high;              /* vocabulary has bytes >= 0x80 */
    bool prefix_space;      /* pre-tokenizer add_prefix_space */
    const char *model_more; /* extra members of "model" */
    const char *post;       /* post_processor JSON */
} opts;

static ce_tokenizer *open_json(const opts *o)
{
    char *dir = new_dir();
    char *v = vocab_json(o->high, extra, NULL), *m = merges_json(merges);
    size_t n = strlen(v) + strlen(m) + 2048;
    char *doc = malloc(n);
    snprintf(
        doc, n,
        "{\"version\": \"1.0\", \"normalizer\": null,\n"
        " \"added_tokens\": [{\"id\": %d, \"content\": \"<|endoftext|>\", \"special\": true,"
        " \"normalized\": true, \"lstrip\": false, \"rstrip\": false, \"single_word\": false}],\n"
        " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": %s, "
        "\"trim_offsets\": true, \"use_regex\": true},\n"
        " \"post_processor\": %s,\n"
        " \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true},\n"
        " \"model\": {\"type\": \"BPE\", \"dropout\": null%s%s, \"vocab\": %s, \"merges\": %s}}\n",
        EOT, o->prefix_space ? "true" : "false",
        o->post ? o->post : "{\"type\": \"ByteLevel\", \"trim_offsets\": false}",
        o->model_more ? ", " : "", o->model_more ? o->model_more : "", v, m);
    write_file(dir, "tokenizer.json", doc);
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(dir, &tok) == CE_OK, "%s", ce_last_error());
    free(doc);
    free(v);
    free(m);
    free(dir);
    return tok;
}

static ce_tokenizer *open_default(void)
{
    opts o = {.high = true};
    return open_json(&o);
}

/* Encode and compare ids (and offsets when given, 2 per token). */
static void expect(const ce_tokenizer *tok, const char *text, uint32_t flags, const int32_t *ids,
                   size_t n, const size_t *offs)
{
    ce_encoding *e = NULL;
    ck_assert_msg(ce_tokenizer_encode(tok, text, strlen(text), NULL, 0, flags, 0, &e) == CE_OK,
                  "%s", ce_last_error());
    ck_assert_msg(ce_encoding_length(e) == n, "\"%s\": %zu tokens, want %zu", text,
                  ce_encoding_length(e), n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(ce_encoding_ids(e)[i] == ids[i], "\"%s\" token %zu: %d, want %d", text, i,
                      ce_encoding_ids(e)[i], ids[i]);
        if (offs) {
            ck_assert_uint_eq(ce_encoding_offsets(e)[2 * i], offs[2 * i]);
            ck_assert_uint_eq(ce_encoding_offsets(e)[2 * i + 1], offs[2 * i + 1]);
        }
    }
    ce_encoding_free(e);
}

#define EXPECT(tok, text, flags, ...)                                                              \
    do {                                                                                           \
        const int32_t ids_[] = {__VA_ARGS__};                                                      \
        expect(tok, text, flags, ids_, sizeof ids_ / sizeof *ids_, NULL);                          \
    } while (0)

/* ---- the byte map ------------------------------------------------------------------- */

START_TEST(test_byte_map)
{
    bool seen[0x200] = {0};
    for (int b = 0; b < 256; b++) {
        uint32_t cp = ce_byte_level_char((uint8_t)b);
        ck_assert_uint_lt(cp, 0x144);
        ck_assert(!seen[cp]);
        seen[cp] = true;
        ck_assert_int_eq(ce_byte_level_byte(cp), b);
        char s[2];
        ck_assert_uint_eq(ce_byte_level_put((uint8_t)b, s), cp < 0x80 ? 1 : 2);
    }
    /* values from OpenAI's bytes_to_unicode() */
    ck_assert_uint_eq(ce_byte_level_char(' '), 0x120);
    ck_assert_uint_eq(ce_byte_level_char('\n'), 0x10A);
    ck_assert_uint_eq(ce_byte_level_char(0), 0x100);
    ck_assert_uint_eq(ce_byte_level_char(0x7F), 0x121);
    ck_assert_uint_eq(ce_byte_level_char(0xA0), 0x142);
    ck_assert_uint_eq(ce_byte_level_char(0xAD), 0x143);
    ck_assert_uint_eq(ce_byte_level_char('!'), '!');
    ck_assert_uint_eq(ce_byte_level_char(0xE9), 0xE9);
    ck_assert_int_eq(ce_byte_level_byte(0x144), -1);
    ck_assert_int_eq(ce_byte_level_byte(' '), -1);
    ck_assert_int_eq(ce_byte_level_byte(0xAD), -1);
}
END_TEST

/* ---- the pre-tokenizer pattern ------------------------------------------------------- */

/* Words of text joined by '|'. */
static void words(const char *text, char *out)
{
    size_t len = strlen(text), o = 0;
    for (size_t pos = 0; pos < len;) {
        size_t end = ce_byte_level_word_end(text, len, pos);
        ck_assert_uint_gt(end, pos);
        ck_assert_uint_le(end, len);
        if (pos)
            out[o++] = '|';
        memcpy(out + o, text + pos, end - pos);
        o += end - pos;
        pos = end;
    }
    out[o] = '\0';
}

START_TEST(test_pretokenizer)
{
    /* expected splits worked out from the regex by hand (and agreeing with
     * Python's regex module on GPT-2's pattern) */
    static const char *const cases[][2] = {
        {"Hello world", "Hello| world"},
        {"Hello  world", "Hello| | world"},
        {"  Hello", " | Hello"},
        {"Hello ", "Hello| "},
        {"Hello   ", "Hello|   "},
        {"don't", "don|'t"},
        {"I'll they're we've he'd I'm it's", "I|'ll| they|'re| we|'ve| he|'d| I|'m| it|'s"},
        {"DON'T", "DON|'|T"},
        {"''s", "''|s"},
        {" 's", " '|s"},
        {"abc123def", "abc|123|def"},
        {"x 42", "x| 42"},
        {"a+b=c", "a|+|b|=|c"},
        {"a !!?b", "a| !!?|b"},
        {"\n =", "\n| ="},
        {"x \n y", "x| \n| y"},
        {"a\n\nb", "a|\n|\n|b"},
        {"a\t b", "a|\t| b"},
        {" \t \n ", " \t \n "},
        {"caf\xC3\xA9 na\xC3\xAFve", "caf\xC3\xA9| na\xC3\xAFve"}, /* é ï letters */
        {"x\xC2\xA0y", "x|\xC2\xA0|y"},                            /* NBSP is \s */
        {"x\xE3\x80\x80y", "x|\xE3\x80\x80|y"},                    /* U+3000 is \s */
        {"a\xE2\x80\x8B b", "a|\xE2\x80\x8B| b"},                  /* ZWSP is not \s */
        {"\xC2\xBD\xD9\xA3x", "\xC2\xBD\xD9\xA3|x"},               /* ½ (No), ٣ (Nd) */
        {"\xC7\x85x\xE4\xB8\xAD", "\xC7\x85x\xE4\xB8\xAD"},        /* ǅ (Lt), 中 (Lo) */
        {"a\x01\x02 b", "a|\x01\x02| b"},                          /* controls: other */
        {"\xF0\x9F\x98\x80\xF0\x9F\x98\x80 x", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80| x"}, /* emoji */
        {"x\xC2\x85y", "x|\xC2\x85|y"}, /* NEL is \s */
        {"x\x1Cy", "x|\x1C|y"},         /* U+001C is not */
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        words(cases[i][0], out);
        ck_assert_msg(!strcmp(out, cases[i][1]), "case %zu: got \"%s\", want \"%s\"", i, out,
                      cases[i][1]);
    }
}
END_TEST

/* ---- lossy UTF-8 --------------------------------------------------------------------- */

START_TEST(test_lossy_utf8)
{
    /* Rust's String::from_utf8_lossy: one U+FFFD per maximal invalid subpart */
    static const char *const cases[][2] = {
        {"abc", "abc"},
        {"\xF0\x9F\x98"
         "A",
         "\xEF\xBF\xBD"
         "A"},
        {"\xE0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\x80x\xFF", "\xEF\xBF\xBDx\xEF\xBF\xBD"},
        {"\xE2\x82", "\xEF\xBF\xBD"},
        {"\xE2\x82\xAC", "\xE2\x82\xAC"},
        {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ce_strbuf out = {0};
        ck_assert_int_eq(ce_utf8_append_lossy(&out, cases[i][0], strlen(cases[i][0])), CE_OK);
        ck_assert_msg(out.len == strlen(cases[i][1]) && !memcmp(out.data, cases[i][1], out.len),
                      "case %zu", i);
        ce_strbuf_free(&out);
    }
    bool inc;
    ck_assert_uint_eq(ce_utf8_invalid_prefix("\xF0\x9F\x98", 3, &inc), 3);
    ck_assert(inc);
    ck_assert_uint_eq(ce_utf8_invalid_prefix("\xF0\x9F"
                                             "A",
                                             3, &inc),
                      2);
    ck_assert(!inc);
    ck_assert_uint_eq(ce_utf8_invalid_prefix("\xC3\xA9", 2, &inc), 0);
}
END_TEST

/* ---- merging ------------------------------------------------------------------------- */

START_TEST(test_merge_order)
{
    ce_tokenizer *tok = open_default();
    ck_assert_str_eq(ce_tokenizer_kind(tok), "bpe");
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), EOT + 1);
    EXPECT(tok, "abc", 0, 'a', BC); /* b c (rank 3) before a b (rank 4) */
    EXPECT(tok, "ab", 0, AB);
    EXPECT(tok, "aaa", 0, AA, 'a'); /* equal ranks: leftmost first */
    EXPECT(tok, "aaaaa", 0, AAAA, 'a');
    EXPECT(tok, "aaaaaaaaa", 0, A8, 'a');
    EXPECT(tok, "xyx", 0, XY, 'x');
    EXPECT(tok, "yxy", 0, 'y', XY); /* x y (rank 6) beats y x (rank 7) */
    EXPECT(tok, "yx", 0, YX);
    EXPECT(tok, "a a b", 0, 'a', GA, GB);
    EXPECT(tok, "bcabc", 0, BC, 'a', BC);
    expect(tok, "", 0, NULL, 0, NULL);
    /* CE_ENCODE_ADD_SPECIAL adds nothing with a ByteLevel post-processor */
    EXPECT(tok, "ab", CE_ENCODE_ADD_SPECIAL, AB);
    EXPECT(tok, "a<|endoftext|>b", 0, 'a', EOT, 'b');
    EXPECT(tok, "a<|endoftext|>b", CE_ENCODE_SPECIAL_AS_TEXT, 'a', '<', '|', 'e', 'n', 'd', 'o',
           'f', 't', 'e', 'x', 't', '|', '>', 'b');
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_offsets)
{
    ce_tokenizer *tok = open_default();
    /* é is C3 A9: two byte tokens, each with the whole character's span */
    const int32_t ids1[] = {'a', 0xC3, 0xA9, GA};
    const size_t offs1[] = {0, 1, 1, 3, 1, 3, 3, 5};
    expect(tok, "a\xC3\xA9 a", 0, ids1, 4, offs1);
    /* a leading space belongs to the token (trim_offsets false) */
    const int32_t ids2[] = {'x', GA, ' ', ' ', GB};
    const size_t offs2[] = {0, 1, 1, 3, 3, 4, 4, 5, 5, 7};
    expect(tok, "x a   b", 0, ids2, 5, offs2);
    /* emoji: 4 byte tokens on one 4-byte span */
    const int32_t ids3[] = {0xF0, 0x9F, 0x98, 0x80};
    const size_t offs3[] = {0, 4, 0, 4, 0, 4, 0, 4};
    expect(tok, "\xF0\x9F\x98\x80", 0, ids3, 4, offs3);
    const int32_t ids4[] = {AB, EOT, BC};
    const size_t offs4[] = {0, 2, 2, 15, 15, 17};
    expect(tok, "ab<|endoftext|>bc", 0, ids4, 3, offs4);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_add_prefix_space)
{
    opts o = {.high = true, .prefix_space = true};
    ce_tokenizer *tok = open_json(&o);
    const int32_t ids1[] = {GA, GB};
    const size_t offs1[] = {0, 1, 1, 3};
    expect(tok, "a b", 0, ids1, 2, offs1);
    EXPECT(tok, " a", 0, GA); /* already there: no second space */
    /* every stretch between added tokens gets its space */
    const int32_t ids2[] = {GA, EOT, GB};
    const size_t offs2[] = {0, 1, 1, 14, 14, 15};
    expect(tok, "a<|endoftext|>b", 0, ids2, 3, offs2);
    /* the space takes the first character's place */
    const int32_t ids3[] = {' ', 0xC3, 0xA9};
    const size_t offs3[] = {0, 2, 0, 2, 0, 2};
    expect(tok, "\xC3\xA9", 0, ids3, 3, offs3);
    /* decoding keeps the added space, as HF's ByteLevel decoder does */
    int32_t ids[] = {GA, GB};
    char buf[16];
    size_t n;
    ck_assert_int_eq(ce_tokenizer_decode(tok, ids, 2, 0, buf, sizeof buf, &n), CE_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(!memcmp(buf, " a b", 4));
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_trim_offsets)
{
    opts o = {.high = true,
              .post =
                  "{\"type\": \"ByteLevel\", \"trim_offsets\": true, \"add_prefix_space\": false}"};
    ce_tokenizer *tok = open_json(&o);
    const int32_t ids1[] = {GA, GB, ' '};
    const size_t offs1[] = {1, 2, 3, 4, 5, 5}; /* HF's process_offsets */
    expect(tok, " a b ", 0, ids1, 3, offs1);
    ce_tokenizer_free(tok);
    /* with add_prefix_space, a first token's single space is kept */
    opts o2 = {.high = true,
               .post = "{\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\", "
                       "\"trim_offsets\": true, \"add_prefix_space\": true}]}"};
    tok = open_json(&o2);
    const size_t offs2[] = {0, 2, 3, 4, 5, 5};
    expect(tok, " a b ", 0, ids1, 3, offs2);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_unknown_chars)
{
    /* no unknown token: characters outside the vocabulary vanish, and the
     * offsets after them shift as in HF's Word (the 'a' lands on é's span) */
    opts o = {.high = false};
    ce_tokenizer *tok = open_json(&o);
    const int32_t ids1[] = {'a'};
    const size_t offs1[] = {0, 2};
    expect(tok,
           "\xC3\xA9"
           "a",
           0, ids1, 1, offs1);
    expect(tok, "\xC3\xA9", 0, NULL, 0, NULL);
    ce_tokenizer_free(tok);
    /* an unknown token, one per character byte, or fused */
    opts o2 = {.high = false, .model_more = "\"unk_token\": \"<|endoftext|>\""};
    tok = open_json(&o2);
    EXPECT(tok,
           "\xC3\xA9"
           "a",
           CE_ENCODE_SPECIAL_AS_TEXT, EOT, EOT, 'a');
    int32_t unk = -1;
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_UNK, &unk), CE_OK);
    ck_assert_int_eq(unk, EOT);
    ce_tokenizer_free(tok);
    opts o3 = {.high = false, .model_more = "\"unk_token\": \"<|endoftext|>\", \"fuse_unk\": true"};
    tok = open_json(&o3);
    EXPECT(tok,
           "\xC3\xA9\xC3\xA9"
           "a\xC3\xA9",
           0, EOT, 'a', EOT);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_ignore_merges)
{
    opts o = {.high = true, .model_more = "\"ignore_merges\": true"};
    ce_tokenizer *tok = open_json(&o);
    EXPECT(tok, "abc", 0, ABC); /* whole word in the vocabulary */
    EXPECT(tok, "abcabc", 0, 'a', BC, 'a', BC);
    ce_tokenizer_free(tok);
}
END_TEST

/* ---- decoding ------------------------------------------------------------------------- */

START_TEST(test_decode)
{
    ce_tokenizer *tok = open_default();
    char buf[64];
    size_t n = 99;
    /* a lone lead byte and a stray continuation byte become U+FFFD */
    int32_t ids[] = {'a', 0xE2, 'b', 0x80};
    ck_assert_int_eq(ce_tokenizer_decode(tok, ids, 4, 0, buf, sizeof buf, &n), CE_OK);
    ck_assert_uint_eq(n, 8);
    ck_assert(!memcmp(buf,
                      "a\xEF\xBF\xBD"
                      "b\xEF\xBF\xBD",
                      8));
    /* too small: only *needed is set */
    memset(buf, 'z', sizeof buf);
    ck_assert_int_eq(ce_tokenizer_decode(tok, ids, 4, 0, buf, 7, &n), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq(buf[0], 'z');
    /* ids out of range */
    int32_t bad[] = {'a', EOT + 1};
    n = 99;
    ck_assert_int_eq(ce_tokenizer_decode(tok, bad, 2, 0, buf, sizeof buf, &n), CE_ERR_OUT_OF_RANGE);
    ck_assert_uint_eq(n, 99);
    bad[1] = -1;
    ck_assert_int_eq(ce_tokenizer_decode(tok, bad, 2, 0, buf, sizeof buf, &n), CE_ERR_OUT_OF_RANGE);
    const char *s;
    size_t len;
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, EOT + 1, &s, &len), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, GA, &s, &len), CE_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(s, G "a", 3));
    ce_tokenizer_free(tok);
}
END_TEST

/* An added token that is not byte-level text decodes to its own bytes. */
START_TEST(test_decode_plain_added_token)
{
    char *dir = new_dir();
    char *v = vocab_json(true, extra, NULL);
    write_file(dir, "vocab.json", v);
    free(v);
    write_file(dir, "merges.txt", "#version: 0.2\na a\n");
    write_file(
        dir, "tokenizer_config.json",
        "{\"added_tokens_decoder\": {\"400\": {\"content\": \"hi there\", \"special\": false}}}");
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(dir, &tok) == CE_OK, "%s", ce_last_error());
    EXPECT(tok, "ahi there", 0, 'a', 400);
    int32_t ids[] = {400, 'a', ' '};
    char buf[32];
    size_t n;
    ck_assert_int_eq(ce_tokenizer_decode(tok, ids, 3, 0, buf, sizeof buf, &n), CE_OK);
    ck_assert_uint_eq(n, 10);
    ck_assert(!memcmp(buf, "hi therea ", 10));
    ce_tokenizer_free(tok);
    free(dir);
}
END_TEST

/* Random valid UTF-8 (ASCII, Latin, CJK, emoji, spaces, digits, controls)
 * comes back byte for byte; offsets are in order and on character bounds. */
START_TEST(test_roundtrip_random)
{
    ce_tokenizer *tok = open_default();
    static const uint32_t pool[] = {'a',  'b',    'c',    'x',     'y',  ' ',    ' ',    '\n',
                                    '\t', '1',    '\'',   's',     '!',  0,      0x7F,   0xA0,
                                    0xE9, 0x3000, 0x4E2D, 0x1F600, 0x85, 0x2009, 0xFEFF, 0x10FFFF};
    uint32_t x = 1;
    char text[512];
    for (int round = 0; round < 300; round++) {
        size_t len = 0;
        int chars = round % 40;
        for (int i = 0; i < chars; i++) {
            x = x * 1103515245u + 12345u;
            uint32_t cp = pool[(x >> 16) % (sizeof pool / sizeof *pool)];
            char u[4];
            size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (k == 1) {
                u[0] = (char)cp;
            } else {
                for (size_t j = k - 1; j > 0; j--, cp >>= 6)
                    u[j] = (char)(0x80 | (cp & 0x3F));
                u[0] = (char)((k == 2 ? 0xC0 : k == 3 ? 0xE0 : 0xF0) | cp);
            }
            memcpy(text + len, u, k);
            len += k;
        }
        ce_encoding *e = NULL;
        ck_assert_int_eq(ce_tokenizer_encode(tok, text, len, NULL, 0, 0, 0, &e), CE_OK);
        const size_t *o = ce_encoding_offsets(e);
        for (size_t i = 0; i < ce_encoding_length(e); i++) {
            ck_assert_uint_le(o[2 * i], o[2 * i + 1]);
            ck_assert_uint_le(o[2 * i + 1], len);
            ck_assert(o[2 * i] == len || (text[o[2 * i]] & 0xC0) != 0x80);
            ck_assert(o[2 * i + 1] == len || (text[o[2 * i + 1]] & 0xC0) != 0x80);
            if (i)
                ck_assert_uint_ge(o[2 * i], o[2 * i - 2]);
        }
        char back[512];
        size_t n = 0;
        ck_assert_int_eq(ce_tokenizer_decode(tok, ce_encoding_ids(e), ce_encoding_length(e), 0,
                                             back, sizeof back, &n),
                         CE_OK);
        ck_assert_uint_eq(n, len);
        ck_assert(!memcmp(back, text, len));
        ce_encoding_free(e);
    }
    ce_tokenizer_free(tok);
}
END_TEST

/* ---- speed: one 1 MB word ---------------------------------------------------------------- */

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

START_TEST(test_one_megabyte)
{
    ce_tokenizer *tok = open_default();
    size_t n = 1 << 20;
    char *text = malloc(n);
    /* 'a' * 2^20: every pair merges, level after level */
    memset(text, 'a', n);
    double t0 = seconds();
    ce_encoding *e = NULL;
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, n, NULL, 0, 0, 0, &e), CE_OK);
    double dt = seconds() - t0;
    ck_assert_uint_eq(ce_encoding_length(e), n / 8);
    for (size_t i = 0; i < n / 8; i++)
        ck_assert_int_eq(ce_encoding_ids(e)[i], A8);
    ce_encoding_free(e);
    fprintf(stderr, "1 MB of 'a': %.3f s\n", dt);
    ck_assert_msg(dt < TIME_LIMIT, "took %.3f s", dt);
    /* "abc" repeated: many ranks in play */
    for (size_t i = 0; i < n; i++)
        text[i] = "abcxy"[i % 5];
    t0 = seconds();
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, n, NULL, 0, 0, 0, &e), CE_OK);
    dt = seconds() - t0;
    fprintf(stderr, "1 MB of \"abcxy\": %zu tokens in %.3f s\n", ce_encoding_length(e), dt);
    ck_assert_msg(dt < TIME_LIMIT, "took %.3f s", dt);
    ce_encoding_free(e);
    free(text);
    ce_tokenizer_free(tok);
}
END_TEST

/* ---- bad input ---------------------------------------------------------------------------- */

START_TEST(test_invalid_utf8)
{
    ce_tokenizer *tok = open_default();
    static const char *const bad[] = {
        "a\xC3", "\x80", "a\xED\xA0\x80", "\xF8\x88\x80\x80\x80", "\xC0\xAF", "ok\xF4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ce_encoding *e = (ce_encoding *)&e;
        ck_assert_int_eq(ce_tokenizer_encode(tok, bad[i], strlen(bad[i]), NULL, 0, 0, 0, &e),
                         CE_ERR_INVALID_UTF8);
        ck_assert_ptr_eq(e, (ce_encoding *)&e);
    }
    ce_tokenizer_free(tok);
}
END_TEST

/* Open dir holding vocab.json (from vocab_json unless @p vocab) and merges.txt. */
static ce_status open_files(const char *vocab, const char *merges_txt, ce_tokenizer **tok)
{
    char *dir = new_dir();
    char *v = vocab ? NULL : vocab_json(true, extra, NULL);
    write_file(dir, "vocab.json", vocab ? vocab : v);
    if (merges_txt)
        write_file(dir, "merges.txt", merges_txt);
    ce_status st = ce_tokenizer_open(dir, tok);
    free(v);
    free(dir);
    return st;
}

START_TEST(test_vocab_merges_files)
{
    ce_tokenizer *tok = NULL;
    /* CRLF, a #version line, no final newline */
    ck_assert_msg(open_files(NULL, "#version: 0.2\r\nb c\r\na b\r\nab c", &tok) == CE_OK, "%s",
                  ce_last_error());
    EXPECT(tok, "abc", 0, 'a', BC);
    EXPECT(tok, "aa", 0, 'a', 'a');
    int32_t eot = -1;
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_EOS, &eot), CE_OK);
    ck_assert_int_eq(eot, EOT);
    EXPECT(tok, "<|endoftext|>", 0, EOT);
    ce_tokenizer_free(tok);
    /* a repeated merge takes its later rank */
    ck_assert_int_eq(open_files(NULL, "b c\na b\nb c\n", &tok), CE_OK);
    EXPECT(tok, "abc", 0, AB, 'c');
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_corrupt_files)
{
    static const struct {
        const char *vocab; /* NULL: the good one */
        const char *merges;
        ce_status want;
        const char *msg; /* in ce_last_error() */
    } cases[] = {
        {NULL, "a q\n", CE_ERR_FORMAT, "\"aq\""}, /* 'a' and 'q' exist, "aq" does not */
        {NULL, "a \xE2\x82\xAC\n", CE_ERR_FORMAT, "not in the vocabulary"},
        {NULL, "a b\nb c d\n", CE_ERR_FORMAT, "line 2"},
        {NULL, "a b\nabc\n", CE_ERR_FORMAT, "line 2"},
        {NULL, "a b\n\nb c\n", CE_ERR_FORMAT, "line 2"},
        {NULL, "a  b\n", CE_ERR_FORMAT, "line 1"},
        {NULL, "a b\xFF\n", CE_ERR_FORMAT, "UTF-8"},
        {NULL, NULL, CE_ERR_IO, "merges.txt"},
        {"[1, 2]", "a b\n", CE_ERR_FORMAT, "vocabulary"},
        {"{}", "", CE_ERR_FORMAT, "vocabulary"},
        {"{\"a\": -1}", "", CE_ERR_FORMAT, "\"a\""},
        {"{\"a\": \"x\"}", "", CE_ERR_FORMAT, "\"a\""},
        {"{\"a\": 1.5}", "", CE_ERR_FORMAT, "\"a\""},
        {"{\"a\": 0, ", "", CE_ERR_FORMAT, NULL},
        {"{\"a\": 0, \"b\": 4000000000}", "", CE_ERR_FORMAT, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ce_tokenizer *tok = (ce_tokenizer *)&tok;
        ce_status st = open_files(cases[i].vocab, cases[i].merges, &tok);
        ck_assert_msg(st == cases[i].want, "case %zu: status %d, want %d (%s)", i, st,
                      cases[i].want, ce_last_error());
        ck_assert_ptr_eq(tok, (ce_tokenizer *)&tok);
        if (cases[i].msg)
            ck_assert_msg(strstr(ce_last_error(), cases[i].msg), "case %zu: \"%s\"", i,
                          ce_last_error());
    }
}
END_TEST

static ce_status open_doc(const char *doc)
{
    char *dir = new_dir();
    write_file(dir, "tokenizer.json", doc);
    ce_tokenizer *tok = (ce_tokenizer *)&tok;
    ce_status st = ce_tokenizer_open(dir, &tok);
    ck_assert_ptr_eq(tok, (ce_tokenizer *)&tok);
    free(dir);
    return st;
}

START_TEST(test_corrupt_tokenizer_json)
{
#define BL    "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}"
#define VOCAB "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}"
    static const struct {
        const char *doc;
        ce_status want;
    } cases[] = {
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a c\"]}}",
         CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"ab\"]}}",
         CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [[\"a\"]]}}",
         CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [7]}}", CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB "}}", CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", \"merges\": []}}", CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB
         ", \"merges\": [], \"unk_token\": \"?\"}}",
         CE_ERR_FORMAT},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB
         ", \"merges\": [], \"byte_fallback\": true}}",
         CE_ERR_UNSUPPORTED},
        {"{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB
         ", \"merges\": [], \"continuing_subword_prefix\": \"##\"}}",
         CE_ERR_UNSUPPORTED},
        {"{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"model\": {\"type\": \"BPE\", " VOCAB
         ", \"merges\": []}}",
         CE_ERR_UNSUPPORTED},
        {"{" BL ", \"normalizer\": {\"type\": \"NFC\"}, \"model\": {\"type\": \"BPE\", " VOCAB
         ", \"merges\": []}}",
         CE_ERR_UNSUPPORTED},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"Metaspace\"}, "
         "\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}}",
         CE_ERR_UNSUPPORTED},
        {"{" BL ", \"model\": {\"type\": \"Unigram\", \"vocab\": []}}", CE_ERR_UNSUPPORTED},
        {"{" BL
         ", \"post_processor\": {\"type\": \"Sequence\"}, \"model\": {\"type\": \"BPE\", " VOCAB
         ", \"merges\": []}}",
         CE_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ce_status st = open_doc(cases[i].doc);
        ck_assert_msg(st == cases[i].want, "case %zu: status %d, want %d (%s)", i, st,
                      cases[i].want, ce_last_error());
    }
    /* the minimal good one opens */
    char *dir = new_dir();
    write_file(dir, "tokenizer.json",
               "{" BL ", \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b\"]}}");
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(dir, &tok) == CE_OK, "%s", ce_last_error());
    EXPECT(tok, "ab", 0, 2);
    EXPECT(tok, "ba", 0, 1, 0);
    ce_tokenizer_free(tok);
    free(dir);
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
    Suite *s = suite_create("tokenizer-bpe");
    TCase *tc = tcase_create("bpe");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_byte_map);
    tcase_add_test(tc, test_pretokenizer);
    tcase_add_test(tc, test_lossy_utf8);
    tcase_add_test(tc, test_merge_order);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_add_prefix_space);
    tcase_add_test(tc, test_trim_offsets);
    tcase_add_test(tc, test_unknown_chars);
    tcase_add_test(tc, test_ignore_merges);
    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_decode_plain_added_token);
    tcase_add_test(tc, test_roundtrip_random);
    tcase_add_test(tc, test_one_megabyte);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_vocab_merges_files);
    tcase_add_test(tc, test_corrupt_files);
    tcase_add_test(tc, test_corrupt_tokenizer_json);
    suite_add_tcase(s, tc);
    int rc = ce_test_run(s);
    remove_tree(tmpdir);
    return rc;
}
