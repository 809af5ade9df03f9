/* WordPiece tokenizer: each normalisation and splitting rule, offsets,
 * special tokens, pairs and truncation, decoding, bad input and bad files.
 * Expectations for the committed cased fixture are worked out by hand from
 * test/fixtures/tokenizers/cased/vocab.txt (id = line number - 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contextembed/tokenizer.h"
#include "test-util.h"
#include "tokenizers/bert_chars.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"

enum {
    PAD,
    UNK,
    CLS,
    SEP,
    MASK,
    Hello,
    hello,
    world,
    World,
    BANG,
    COMMA,
    DOT,
    APOS,
    the,
    The,
    run,
    xxning,
    xxs,
    Ca,
    xxfe_acute,
    xxfe,
    ZHONG,
    WEN,
    LBR,
    RBR,
    un,
    xxaff,
    xxable,
    E_acute,
    xxcole,
    Ecole,
    QUEST,
    DASH,
    xxi,
    I_dot,
    a,
    xxb,
    N_FIXTURE
};

static char fixture_dir[512];

static ce_tokenizer *open_fixture(void)
{
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tokenizers/cased", ce_test_fixtures());
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(fixture_dir, &tok) == CE_OK, "%s", ce_last_error());
    return tok;
}

static ce_encoding *encode2(const ce_tokenizer *tok, const char *a, const char *b, uint32_t flags,
                            size_t max_length)
{
    ce_encoding *e = NULL;
    ce_status st =
        ce_tokenizer_encode(tok, a, strlen(a), b, b ? strlen(b) : 0, flags, max_length, &e);
    ck_assert_msg(st == CE_OK, "encode \"%s\": %s", a, ce_last_error());
    return e;
}

static ce_encoding *encode(const ce_tokenizer *tok, const char *a, uint32_t flags)
{
    return encode2(tok, a, NULL, flags, 0);
}

static void check_ids(const ce_encoding *e, const int32_t *ids, size_t n, const char *what)
{
    ck_assert_msg(ce_encoding_length(e) == n, "%s: %zu tokens, expected %zu", what,
                  ce_encoding_length(e), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ce_encoding_ids(e)[i] == ids[i], "%s: token %zu is %d, expected %d", what, i,
                      ce_encoding_ids(e)[i], ids[i]);
}

static void check_offsets(const ce_encoding *e, const size_t *offs, const char *what)
{
    for (size_t i = 0; i < 2 * ce_encoding_length(e); i++)
        ck_assert_msg(ce_encoding_offsets(e)[i] == offs[i], "%s: offset %zu is %zu, expected %zu",
                      what, i, ce_encoding_offsets(e)[i], offs[i]);
}

#define IDS(...)                                                                                   \
    (const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)
#define OFFS(...)                                                                                  \
    (const size_t[])                                                                               \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

static void expect(const ce_tokenizer *tok, const char *text, uint32_t flags, const int32_t *ids,
                   size_t n)
{
    ce_encoding *e = encode(tok, text, flags);
    check_ids(e, ids, n, text);
    ce_encoding_free(e);
}

/* ---- temporary model directories ------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *name, const char *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_str(const char *name, const char *data)
{
    write_file(name, data, strlen(data));
}

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/ce-tok-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    const char *names[] = {"vocab.txt", "tokenizer_config.json", "tokenizer.json", "x.json"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

/* The fixture's vocabulary with another tokenizer_config.json. */
static ce_tokenizer *open_with_config(const char *config)
{
    size_t len;
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizers/cased/vocab.txt", ce_test_fixtures());
    char *vocab = ce_test_read_file(path, &len);
    ck_assert_ptr_nonnull(vocab);
    make_tmpdir();
    write_file("vocab.txt", vocab, len);
    free(vocab);
    if (config)
        write_str("tokenizer_config.json", config);
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(tmpdir, &tok) == CE_OK, "%s", ce_last_error());
    remove_tmpdir();
    return tok;
}

static ce_status open_status(void)
{
    ce_tokenizer *tok = (ce_tokenizer *)0x1;
    ce_status st = ce_tokenizer_open(tmpdir, &tok);
    if (st == CE_OK)
        ce_tokenizer_free(tok);
    else
        ck_assert_ptr_eq(tok, (ce_tokenizer *)0x1);
    return st;
}

/* ---- the cased fixture ------------------------------------------------------ */

START_TEST(test_fixture_basics)
{
    ce_tokenizer *tok = open_fixture();
    ck_assert_str_eq(ce_tokenizer_kind(tok), "wordpiece");
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), N_FIXTURE);
    const char *s;
    size_t len;
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, xxfe_acute, &s, &len), CE_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert(memcmp(s, "##f\xc3\xa9", 5) == 0);
    int32_t id;
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, "World", 5, &id), CE_OK);
    ck_assert_int_eq(id, World);
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, "[MASK]", 6, &id), CE_OK);
    ck_assert_int_eq(id, MASK);
    id = -7;
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, "world!", 6, &id), CE_ERR_NOT_FOUND);
    ck_assert_int_eq(id, -7);
    const struct {
        ce_special_token role;
        int32_t id;
    } roles[] = {{CE_SPECIAL_UNK, UNK},
                 {CE_SPECIAL_CLS, CLS},
                 {CE_SPECIAL_SEP, SEP},
                 {CE_SPECIAL_PAD, PAD},
                 {CE_SPECIAL_MASK, MASK}};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(ce_tokenizer_special_id(tok, roles[i].role, &id), CE_OK);
        ck_assert_int_eq(id, roles[i].id);
    }
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_BOS, &id), CE_ERR_NOT_FOUND);
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_EOS, &id), CE_ERR_NOT_FOUND);
    ck_assert_int_eq(ce_tokenizer_special_id(tok, (ce_special_token)7, &id),
                     CE_ERR_INVALID_ARGUMENT);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_cased_words)
{
    ce_tokenizer *tok = open_fixture();
    ce_encoding *e = encode(tok, "Hello World!", 0);
    check_ids(e, IDS(Hello, World, BANG), "Hello World!");
    check_offsets(e, OFFS(0, 5, 6, 11, 11, 12), "Hello World!");
    ck_assert_int_eq(ce_encoding_type_ids(e)[2], 0);
    ck_assert_int_eq(ce_encoding_sequence_ids(e)[0], 0);
    ce_encoding_free(e);
    expect(tok, "hello world", 0, IDS(hello, world));
    expect(tok, "HELLO", 0, IDS(UNK)); /* case kept: not in the vocabulary */
    expect(tok, "the The", 0, IDS(the, The));
    /* accents are kept when neither lowercasing nor stripping */
    e = encode(tok, "Caf\xc3\xa9", 0);
    check_ids(e, IDS(Ca, xxfe_acute), "Café");
    check_offsets(e, OFFS(0, 2, 2, 5), "Café");
    ce_encoding_free(e);
    expect(tok,
           "\xc3\x89"
           "cole",
           0, IDS(E_acute, xxcole));
    expect(tok, "\xc4\xb0", 0, IDS(I_dot));
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_wordpiece_greedy)
{
    ce_tokenizer *tok = open_fixture();
    ce_encoding *e = encode(tok, "unaffable running", 0);
    check_ids(e, IDS(un, xxaff, xxable, run, xxning), "unaffable running");
    check_offsets(e, OFFS(0, 2, 2, 5, 5, 9, 10, 13, 13, 17), "unaffable running");
    ce_encoding_free(e);
    /* a word with one uncoverable piece becomes a single [UNK] over the whole word */
    e = encode(tok, "x unaffablez", 0);
    check_ids(e, IDS(UNK, UNK), "x unaffablez");
    check_offsets(e, OFFS(0, 1, 2, 12), "x unaffablez");
    ce_encoding_free(e);
    /* longest match first: "ab" is not a token, "a" + "##b" is */
    expect(tok, "ab abc", 0, IDS(a, xxb, UNK));
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_max_chars_per_word)
{
    ce_tokenizer *tok = open_fixture();
    char word[256];
    /* 100 characters: a ##b ##b ... is fine; 101 is one [UNK] */
    word[0] = 'a';
    memset(word + 1, 'b', 99);
    word[100] = '\0';
    ce_encoding *e = encode(tok, word, 0);
    ck_assert_uint_eq(ce_encoding_length(e), 100);
    ce_encoding_free(e);
    word[100] = 'b';
    word[101] = '\0';
    e = encode(tok, word, 0);
    check_ids(e, IDS(UNK), "101 chars");
    check_offsets(e, OFFS(0, 101), "101 chars");
    ce_encoding_free(e);
    /* the limit counts characters, not bytes: 100 x U+00E9 are 200 bytes */
    char *accents = malloc(201);
    for (int i = 0; i < 100; i++)
        memcpy(accents + 2 * i, "\xc3\xa9", 2);
    accents[200] = '\0';
    e = encode(tok, accents, 0);
    check_ids(e, IDS(UNK), "100 é"); /* not coverable, but not cut by length */
    ce_encoding_free(e);
    free(accents);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_punctuation_and_cjk)
{
    ce_tokenizer *tok = open_fixture();
    /* ASCII symbols count as punctuation, as do Unicode P* characters */
    expect(tok, "Hello,world.", 0, IDS(Hello, COMMA, world, DOT));
    expect(tok, "a$a", 0, IDS(a, UNK, a));
    expect(tok,
           "a\xe2\x80\x94"
           "a",
           0, IDS(a, UNK, a)); /* em dash (Pd) splits */
    expect(tok,
           "a\xe2\x82\xac"
           "a",
           0, IDS(UNK)); /* euro sign (Sc) does not */
    ce_encoding *e = encode(tok,
                            "a\xe4\xb8\xad\xe6\x96\x87"
                            "a",
                            0);
    check_ids(e, IDS(a, ZHONG, WEN, a), "a中文a");
    check_offsets(e, OFFS(0, 1, 1, 4, 4, 7, 7, 8), "a中文a");
    ce_encoding_free(e);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_clean_text)
{
    ce_tokenizer *tok = open_fixture();
    /* NUL, U+FFFD, Cc and Cf vanish inside a word; tab, newline, NBSP split */
    ce_encoding *e = NULL;
    const char text[] = "wor\0ld";
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, 6, NULL, 0, 0, 0, &e), CE_OK);
    check_ids(e, IDS(world), "wor\\0ld");
    check_offsets(e, OFFS(0, 6), "wor\\0ld");
    ce_encoding_free(e);
    expect(tok, "wor\xef\xbf\xbdld", 0, IDS(world));
    expect(tok, "wor\x7fld", 0, IDS(world));
    expect(tok, "wor\xe2\x80\x8bld", 0, IDS(world)); /* zero width space (Cf) */
    expect(tok, "wor\xee\x80\x80ld", 0, IDS(world)); /* private use (Co) */
    expect(tok, "Hello\tworld\r\nHello\xc2\xa0world", 0, IDS(Hello, world, Hello, world));
    expect(tok, " \t\n ", 0, NULL, 0);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_special_tokens_in_text)
{
    ce_tokenizer *tok = open_fixture();
    ce_encoding *e = encode(tok, "Hello[MASK] world", 0);
    check_ids(e, IDS(Hello, MASK, world), "[MASK]");
    check_offsets(e, OFFS(0, 5, 5, 11, 12, 17), "[MASK]");
    ck_assert_int_eq(ce_encoding_sequence_ids(e)[1], 0); /* from the text, not added */
    ce_encoding_free(e);
    expect(tok, "Hello[MASK] world", CE_ENCODE_SPECIAL_AS_TEXT, IDS(Hello, LBR, UNK, RBR, world));
    expect(tok, "[mask]", 0, IDS(LBR, UNK, RBR)); /* matching is case-sensitive */
    expect(tok, "[CLS][SEP]", 0, IDS(CLS, SEP));
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_add_special_and_pair)
{
    ce_tokenizer *tok = open_fixture();
    ce_encoding *e = encode2(tok, "Hello world!", "The running", CE_ENCODE_ADD_SPECIAL, 0);
    check_ids(e, IDS(CLS, Hello, world, BANG, SEP, The, run, xxning, SEP), "pair");
    check_offsets(e, OFFS(0, 0, 0, 5, 6, 11, 11, 12, 0, 0, 0, 3, 4, 7, 7, 11, 0, 0), "pair");
    const int32_t types[] = {0, 0, 0, 0, 0, 1, 1, 1, 1};
    const int32_t seqs[] = {-1, 0, 0, 0, -1, 1, 1, 1, -1};
    /* words count from 0 in each text; "running" is one word of two tokens */
    const int32_t words[] = {-1, 0, 1, 2, -1, 0, 1, 1, -1};
    for (size_t i = 0; i < 9; i++) {
        ck_assert_int_eq(ce_encoding_type_ids(e)[i], types[i]);
        ck_assert_int_eq(ce_encoding_sequence_ids(e)[i], seqs[i]);
        ck_assert_int_eq(ce_encoding_word_ids(e)[i], words[i]);
    }
    ck_assert_ptr_null(ce_encoding_word_ids(NULL));
    ce_encoding_free(e);
    /* without special tokens the pair still gets type 1 */
    e = encode2(tok, "Hello", "world", 0, 0);
    check_ids(e, IDS(Hello, world), "pair, no specials");
    ck_assert_int_eq(ce_encoding_type_ids(e)[1], 1);
    ck_assert_int_eq(ce_encoding_sequence_ids(e)[1], 1);
    ce_encoding_free(e);
    e = encode(tok, "", CE_ENCODE_ADD_SPECIAL);
    check_ids(e, IDS(CLS, SEP), "empty + specials");
    ce_encoding_free(e);
    e = encode2(tok, "", "", CE_ENCODE_ADD_SPECIAL, 0);
    check_ids(e, IDS(CLS, SEP, SEP), "empty pair + specials");
    ce_encoding_free(e);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_truncation_longest_first)
{
    ce_tokenizer *tok = open_fixture();
    /* 5 + 2 tokens into 6 - 3 specials = 3: HF keeps 2 of the first, 1 of the second */
    ce_encoding *e = encode2(tok, "a a a a a", "a a", CE_ENCODE_ADD_SPECIAL, 6);
    check_ids(e, IDS(CLS, a, a, SEP, a, SEP), "5+2 -> 6");
    check_offsets(e, OFFS(0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 0, 0), "5+2 -> 6");
    ce_encoding_free(e);
    /* 5 + 1 into 4: the short one is kept whole */
    e = encode2(tok, "a a a a a", "Hello", 0, 4);
    check_ids(e, IDS(a, a, a, Hello), "5+1 -> 4");
    ce_encoding_free(e);
    /* 2 + 5 into 7 - 3 = 4: 2 + 2 */
    e = encode2(tok, "Hello world", "a a a a a", CE_ENCODE_ADD_SPECIAL, 7);
    check_ids(e, IDS(CLS, Hello, world, SEP, a, a, SEP), "2+5 -> 7");
    ce_encoding_free(e);
    /* single sequence: cut at the end */
    e = encode(tok, "a a a a a", 0);
    ce_encoding_free(e);
    e = encode2(tok, "Hello world a a", NULL, CE_ENCODE_ADD_SPECIAL, 4);
    check_ids(e, IDS(CLS, Hello, world, SEP), "single -> 4");
    ce_encoding_free(e);
    e = encode2(tok, "Hello world", NULL, CE_ENCODE_ADD_SPECIAL, 2);
    check_ids(e, IDS(CLS, SEP), "single -> 2");
    ce_encoding_free(e);
    e = encode2(tok, "Hello world", NULL, 0, 100);
    check_ids(e, IDS(Hello, world), "no cut needed");
    ce_encoding_free(e);
    /* no room for the specials themselves */
    e = (ce_encoding *)0x1;
    ck_assert_int_eq(ce_tokenizer_encode(tok, "a", 1, NULL, 0, CE_ENCODE_ADD_SPECIAL, 1, &e),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_eq(e, (ce_encoding *)0x1);
    ce_tokenizer_free(tok);
}
END_TEST

static char *decode(const ce_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags)
{
    size_t needed = 0;
    ce_status st = ce_tokenizer_decode(tok, ids, n, flags, NULL, 0, &needed);
    ck_assert(st == CE_OK || st == CE_ERR_BUFFER_TOO_SMALL);
    char *buf = malloc(needed + 1);
    size_t again = 0;
    ck_assert_int_eq(ce_tokenizer_decode(tok, ids, n, flags, buf, needed, &again), CE_OK);
    ck_assert_uint_eq(again, needed);
    buf[needed] = '\0';
    return buf;
}

START_TEST(test_decode)
{
    ce_tokenizer *tok = open_fixture();
    const int32_t ids[] = {CLS, Hello, world, BANG, SEP, un, xxaff, xxable, COMMA, DOT, SEP};
    char *s = decode(tok, ids, 11, 0);
    ck_assert_str_eq(s, "[CLS] Hello world! [SEP] unaffable,. [SEP]");
    free(s);
    s = decode(tok, ids, 11, CE_DECODE_SKIP_SPECIAL);
    ck_assert_str_eq(s, "Hello world! unaffable,.");
    free(s);
    /* a leading "##" piece keeps its prefix, as HF's decoder does */
    s = decode(tok, (const int32_t[]){xxs, a, xxb}, 3, 0);
    ck_assert_str_eq(s, "##s ab");
    free(s);
    s = decode(tok, NULL, 0, 0);
    ck_assert_str_eq(s, "");
    free(s);
    /* buffer sizes: exact fits, one less does not and writes nothing */
    char buf[8] = "zzzzzzz";
    size_t needed = 0;
    ck_assert_int_eq(ce_tokenizer_decode(tok, (const int32_t[]){Hello}, 1, 0, buf, 4, &needed),
                     CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(needed, 5);
    ck_assert_str_eq(buf, "zzzzzzz");
    ck_assert_int_eq(ce_tokenizer_decode(tok, (const int32_t[]){Hello}, 1, 0, buf, 5, &needed),
                     CE_OK);
    ck_assert(memcmp(buf, "Hellozz", 7) == 0);
    needed = 99;
    ck_assert_int_eq(
        ce_tokenizer_decode(tok, (const int32_t[]){Hello, N_FIXTURE}, 2, 0, buf, 8, &needed),
        CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_tokenizer_decode(tok, (const int32_t[]){-1}, 1, 0, buf, 8, &needed),
                     CE_ERR_OUT_OF_RANGE);
    ck_assert_uint_eq(needed, 99);
    ck_assert_int_eq(ce_tokenizer_decode(tok, (const int32_t[]){Hello}, 1, 0x80, buf, 8, &needed),
                     CE_ERR_INVALID_ARGUMENT);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_decoder_cleanup_rules)
{
    char s[] = "a . b ? c ! d , e ' f do n't I 'm x do not y 's z 've w 're";
    size_t n = ce_wordpiece_cleanup(s, strlen(s));
    s[n] = '\0';
    ck_assert_str_eq(s, "a. b? c! d, e'f don't I'm x don't y's z've w're");
}
END_TEST

START_TEST(test_lowercase_config)
{
    /* do_lower_case defaults to true, and strip_accents follows it */
    ce_tokenizer *tok = open_with_config("{}");
    expect(tok, "HELLO World", 0, IDS(hello, world));
    expect(tok,
           "\xc3\x89"
           "cole",
           0, IDS(UNK)); /* "ecole" is not in the vocabulary */
    expect(tok, "[MASK] [Mask]", 0, IDS(MASK, LBR, UNK, RBR));
    ce_tokenizer_free(tok);
    tok = open_with_config(NULL); /* no config at all: same defaults */
    expect(tok, "HELLO", 0, IDS(hello));
    ce_tokenizer_free(tok);
    /* strip accents without lowercasing */
    tok = open_with_config("{\"do_lower_case\": false, \"strip_accents\": true}");
    expect(tok,
           "\xc3\x89"
           "cole Caf\xc3\xa9",
           0, IDS(Ecole, Ca, xxfe));
    expect(tok, "Cafe\xcc\x81", 0, IDS(Ca, xxfe)); /* e + combining acute */
    ce_tokenizer_free(tok);
    /* chinese handling off: 中文 stays one word */
    tok = open_with_config("{\"do_lower_case\": false, \"tokenize_chinese_chars\": false}");
    expect(tok, "\xe4\xb8\xad\xe6\x96\x87", 0, IDS(UNK));
    ce_tokenizer_free(tok);
    /* special token names from the config */
    tok = open_with_config("{\"do_lower_case\": false, \"cls_token\": {\"content\": \"The\"}}");
    int32_t id;
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_CLS, &id), CE_OK);
    ck_assert_int_eq(id, The);
    expect(tok, "a", CE_ENCODE_ADD_SPECIAL, IDS(The, a, SEP));
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_vocab_file_alone)
{
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizers/cased/vocab.txt", ce_test_fixtures());
    ce_tokenizer *tok = NULL;
    ck_assert_int_eq(ce_tokenizer_open(path, &tok), CE_OK);
    expect(tok, "Hello HELLO", 0, IDS(Hello, UNK)); /* the sibling config still applies */
    ce_tokenizer_free(tok);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(test_invalid_utf8)
{
    ce_tokenizer *tok = open_fixture();
    const struct {
        const char *text;
        size_t len, at;
    } bad[] = {
        {"\xff", 1, 0},                /* never valid */
        {"ab\x80", 3, 2},              /* stray continuation byte */
        {"Hello\xc3", 6, 5},           /* truncated 2-byte sequence */
        {"abc\xe2\x82", 5, 3},         /* truncated 3-byte sequence */
        {"a\xf0\x9f\x98", 4, 1},       /* truncated 4-byte sequence */
        {"\xc0\xaf", 2, 0},            /* overlong '/' */
        {"xy\xe0\x80\xaf", 5, 2},      /* overlong 3-byte */
        {"a\xed\xa0\x80", 4, 1},       /* UTF-16 surrogate */
        {"ok \xf4\x90\x80\x80", 7, 3}, /* above U+10FFFF */
        {"\xc3\xa9\xc3(", 5, 2},       /* bad continuation */
        {"[MASK]\xfe", 7, 6},          /* after a special token */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ce_encoding *e = (ce_encoding *)0x1;
        ck_assert_int_eq(ce_tokenizer_encode(tok, bad[i].text, bad[i].len, NULL, 0, 0, 0, &e),
                         CE_ERR_INVALID_UTF8);
        ck_assert_ptr_eq(e, (ce_encoding *)0x1);
        char want[64];
        snprintf(want, sizeof want, "at byte %zu", bad[i].at);
        ck_assert_msg(strstr(ce_last_error(), want), "case %zu: \"%s\" lacks \"%s\"", i,
                      ce_last_error(), want);
    }
    ce_encoding *e = (ce_encoding *)0x1;
    ck_assert_int_eq(ce_tokenizer_encode(tok, "fine", 4, "ba\xc3", 3, 0, 0, &e),
                     CE_ERR_INVALID_UTF8);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "pair"));
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "byte 2"));
    ck_assert_ptr_eq(e, (ce_encoding *)0x1);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_null_arguments)
{
    ce_tokenizer *tok = open_fixture();
    ce_encoding *e = (ce_encoding *)0x1;
    ck_assert_int_eq(ce_tokenizer_open(NULL, (ce_tokenizer **)&e), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_open(fixture_dir, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_encode(NULL, "a", 1, NULL, 0, 0, 0, &e), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_encode(tok, "a", 1, NULL, 0, 0, 0, NULL),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_encode(tok, NULL, 3, NULL, 0, 0, 0, &e), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_encode(tok, "a", 1, NULL, 2, 0, 0, &e), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_encode(tok, "a", 1, NULL, 0, 0x100, 0, &e),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_eq(e, (ce_encoding *)0x1);
    /* NULL text of length 0 is the empty text */
    ck_assert_int_eq(ce_tokenizer_encode(tok, NULL, 0, NULL, 0, 0, 0, &e), CE_OK);
    ck_assert_uint_eq(ce_encoding_length(e), 0);
    ck_assert_ptr_nonnull(ce_encoding_ids(e));
    ce_encoding_free(e);

    ck_assert_ptr_null(ce_tokenizer_kind(NULL));
    ck_assert_uint_eq(ce_tokenizer_vocab_size(NULL), 0);
    ck_assert_uint_eq(ce_encoding_length(NULL), 0);
    ck_assert_ptr_null(ce_encoding_ids(NULL));
    ck_assert_ptr_null(ce_encoding_type_ids(NULL));
    ck_assert_ptr_null(ce_encoding_sequence_ids(NULL));
    ck_assert_ptr_null(ce_encoding_offsets(NULL));
    ce_encoding_free(NULL);
    ce_tokenizer_free(NULL);

    const char *s = "untouched";
    size_t len = 42;
    int32_t id = -5;
    ck_assert_int_eq(ce_tokenizer_id_to_token(NULL, 0, &s, &len), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, 0, NULL, &len), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, 0, &s, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, N_FIXTURE, &s, &len), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, -1, &s, &len), CE_ERR_OUT_OF_RANGE);
    ck_assert_str_eq(s, "untouched");
    ck_assert_uint_eq(len, 42);
    ck_assert_int_eq(ce_tokenizer_token_to_id(NULL, "a", 1, &id), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, NULL, 1, &id), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, "a", 1, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, NULL, 0, &id), CE_ERR_NOT_FOUND);
    ck_assert_int_eq(ce_tokenizer_special_id(NULL, CE_SPECIAL_CLS, &id), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_CLS, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(id, -5);
    size_t needed = 7;
    char buf[4];
    ck_assert_int_eq(ce_tokenizer_decode(NULL, &id, 1, 0, buf, 4, &needed),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_decode(tok, NULL, 1, 0, buf, 4, &needed),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_tokenizer_decode(tok, (const int32_t[]){a}, 1, 0, buf, 4, NULL),
                     CE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(needed, 7);
    ce_tokenizer_free(tok);
}
END_TEST

START_TEST(test_bad_paths)
{
    ce_tokenizer *tok = (ce_tokenizer *)0x1;
    ck_assert_int_eq(ce_tokenizer_open("/nonexistent/dir", &tok), CE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "/nonexistent/dir"));
    make_tmpdir();
    ck_assert_int_eq(open_status(), CE_ERR_NOT_FOUND); /* empty directory */
    ck_assert_ptr_nonnull(strstr(ce_last_error(), tmpdir));
    remove_tmpdir();
    ck_assert_ptr_eq(tok, (ce_tokenizer *)0x1);
}
END_TEST

START_TEST(test_vocab_txt_duplicates_and_errors)
{
    make_tmpdir();
    /* a later duplicate wins the lookup; ids stay line numbers */
    write_str("vocab.txt", "[UNK]\nfoo\nbar\nfoo\r\n\n[CLS]\n");
    ce_tokenizer *tok = NULL;
    ck_assert_int_eq(ce_tokenizer_open(tmpdir, &tok), CE_OK);
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), 6 + 3); /* [SEP] [PAD] [MASK] appended */
    int32_t id;
    ck_assert_int_eq(ce_tokenizer_token_to_id(tok, "foo", 3, &id), CE_OK);
    ck_assert_int_eq(id, 3);
    const char *s;
    size_t len;
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, 1, &s, &len), CE_OK);
    ck_assert(len == 3 && !memcmp(s, "foo", 3));
    ck_assert_int_eq(ce_tokenizer_id_to_token(tok, 4, &s, &len), CE_OK); /* the empty line */
    ck_assert_uint_eq(len, 0);
    expect(tok, "foo bar baz", 0, IDS(3, 2, 0));
    /* specials missing from the file get the next ids: [SEP] 6, [PAD] 7, [MASK] 8 */
    expect(tok, "foo", CE_ENCODE_ADD_SPECIAL, IDS(5, 3, 6));
    expect(tok, "[MASK]", 0, IDS(8));
    ck_assert_int_eq(ce_tokenizer_special_id(tok, CE_SPECIAL_PAD, &id), CE_OK);
    ck_assert_int_eq(id, 7);
    ce_tokenizer_free(tok);

    write_str("vocab.txt", "");
    ck_assert_int_eq(open_status(), CE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "vocab.txt"));
    write_str("vocab.txt", "hello\nworld\n"); /* no [UNK] */
    ck_assert_int_eq(open_status(), CE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "[UNK]"));
    write_str("vocab.txt", "[UNK]\nhel\xfflo\n");
    ck_assert_int_eq(open_status(), CE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "byte 9"));
    write_str("vocab.txt", "[UNK]\nhello\n");
    write_str("tokenizer_config.json", "{\"do_lower_case\": tru");
    ck_assert_int_eq(open_status(), CE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "tokenizer_config.json"));
    remove_tmpdir();
}
END_TEST

static const char *tiny_json_head = "{\"version\": \"1.0\", \"added_tokens\": [";
static const char *tiny_json_tail =
    "], \"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true, \"strip_accents\": "
    "null},"
    " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
    " \"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 2], \"cls\": "
    "[\"[CLS]\", 1]},"
    " \"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true},"
    " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
    "\"continuing_subword_prefix\": \"##\","
    " \"max_input_chars_per_word\": 5, \"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, "
    "\"a\": 3,"
    " \"##a\": 4, \"b\": 5, \"foo\": 6}}}";

static void write_tiny_json(const char *added)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s%s", tiny_json_head, added, tiny_json_tail);
    write_str("tokenizer.json", buf);
}

START_TEST(test_tokenizer_json_added_tokens)
{
    make_tmpdir();
    write_tiny_json(
        "{\"id\": 0, \"content\": \"[UNK]\", \"special\": true, \"normalized\": false},"
        "{\"id\": 7, \"content\": \"<x>\", \"special\": true, \"normalized\": false,"
        " \"lstrip\": true, \"rstrip\": true},"
        "{\"id\": 8, \"content\": \"FOO BAR\", \"special\": false, \"normalized\": true},"
        "{\"id\": 9, \"content\": \"@\", \"special\": false, \"normalized\": false,"
        " \"single_word\": true}");
    ce_tokenizer *tok = NULL;
    ck_assert_msg(ce_tokenizer_open(tmpdir, &tok) == CE_OK, "%s", ce_last_error());
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), 10);
    /* lstrip/rstrip: the token's span takes in the white space around it */
    ce_encoding *e = encode(tok, "a  <x> b", 0);
    check_ids(e, IDS(3, 7, 5), "lstrip/rstrip");
    check_offsets(e, OFFS(0, 1, 1, 7, 7, 8), "lstrip/rstrip");
    ce_encoding_free(e);
    /* a normalized added token matches the lowercased text */
    e = encode(tok, "a Foo  bar", 0);
    check_ids(e, IDS(3, 6, 0), "no match: two spaces"); /* "bar": b ##a, then no "##r" */
    ce_encoding_free(e);
    e = encode(tok, "a Foo bar b", 0);
    check_ids(e, IDS(3, 8, 5), "normalized match");
    check_offsets(e, OFFS(0, 1, 2, 9, 10, 11), "normalized match");
    ce_encoding_free(e);
    /* single_word: not inside a word */
    expect(tok, "a @ b", 0, IDS(3, 9, 5));
    expect(tok, "a@ b", 0, IDS(3, 0, 5)); /* '@' is then plain punctuation: [UNK] */
    /* max_input_chars_per_word 5, "aaaaa" -> a ##a ##a ##a ##a; 6 -> [UNK] */
    expect(tok, "aaaaa aaaaaa", 0, IDS(3, 4, 4, 4, 4, 0));
    /* SPECIAL_AS_TEXT only affects special tokens */
    expect(tok, "<x>@", CE_ENCODE_SPECIAL_AS_TEXT,
           IDS(0, 0, 0, 9)); /* < x > as text, @ still added */
    expect(tok, "b <x>", CE_ENCODE_ADD_SPECIAL, IDS(1, 5, 7, 2));
    /* only added tokens marked special are skipped: [CLS]/[SEP] are not added here */
    char *s = decode(tok, (const int32_t[]){1, 3, 4, 7, 8, 2}, 6, CE_DECODE_SKIP_SPECIAL);
    ck_assert_str_eq(s, "[CLS] aa FOO BAR [SEP]");
    free(s);
    ce_tokenizer_free(tok);
    remove_tmpdir();
}
END_TEST

START_TEST(test_corrupt_tokenizer_json)
{
    make_tmpdir();
    const struct {
        const char *json;
        ce_status st;
        const char *msg;
    } bad[] = {
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0", CE_ERR_FORMAT,
         "tokenizer.json"},
        {"[1, 2, 3]", CE_ERR_FORMAT, "model"},
        {"{\"version\": \"1.0\"}", CE_ERR_FORMAT, "model"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", CE_ERR_UNSUPPORTED,
         "BPE"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", CE_ERR_FORMAT, "vocab"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": -1}}}", CE_ERR_FORMAT,
         "[UNK]"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": \"x\"}}}", CE_ERR_FORMAT,
         "[UNK]"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", CE_ERR_FORMAT,
         "unknown token"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": 2000000000}}}",
         CE_ERR_FORMAT, "ids"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"added_tokens\": "
         "[{\"id\": 1}]}",
         CE_ERR_FORMAT, "added_tokens"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"post_processor\":"
         " {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 5], \"cls\": [\"[CLS]\", 0]}}",
         CE_ERR_FORMAT, "unknown id 5"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"post_processor\":"
         " {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"[X]\"}}],"
         " \"pair\": [], \"special_tokens\": {}}}",
         CE_ERR_FORMAT, "[X]"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, \"normalizer\":"
         " {\"type\": \"NFKC\"}}",
         CE_ERR_UNSUPPORTED, "NFKC"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_str("tokenizer.json", bad[i].json);
        ck_assert_msg(open_status() == bad[i].st, "case %zu: %s", i, ce_last_error());
        ck_assert_msg(strstr(ce_last_error(), bad[i].msg), "case %zu: \"%s\" lacks \"%s\"", i,
                      ce_last_error(), bad[i].msg);
    }
    /* opened as a file too */
    write_str("x.json", "{\"model\": null}");
    char path[128];
    snprintf(path, sizeof path, "%s/x.json", tmpdir);
    ce_tokenizer *tok = (ce_tokenizer *)0x1;
    ck_assert_int_eq(ce_tokenizer_open(path, &tok), CE_ERR_FORMAT);
    ck_assert_ptr_eq(tok, (ce_tokenizer *)0x1);
    remove_tmpdir();
}
END_TEST

/* ---- internal rules --------------------------------------------------------- */

START_TEST(test_unicode_classes)
{
    uint32_t low[2];
    ck_assert_uint_eq(ce_unicode_lower(0x130, low), 2); /* İ -> i + combining dot */
    ck_assert(low[0] == 'i' && low[1] == 0x307);
    ck_assert_uint_eq(ce_unicode_lower(0x3A3, low), 1); /* Σ -> σ, no final-sigma rule */
    ck_assert_uint_eq(low[0], 0x3C3);
    ck_assert_uint_eq(ce_unicode_lower(0xDF, low), 1); /* ß stays */
    ck_assert_uint_eq(low[0], 0xDF);
    ck_assert(!(ce_bert_class('\t') & CE_BERT_DELETE) && !(ce_bert_class('\n') & CE_BERT_DELETE));
    ck_assert((ce_bert_class(0x7F) & CE_BERT_DELETE) && (ce_bert_class(0x85) & CE_BERT_DELETE));
    ck_assert((ce_bert_class(0xAD) & CE_BERT_DELETE) && (ce_bert_class(0x200F) & CE_BERT_DELETE));
    ck_assert((ce_bert_class(0xE000) & CE_BERT_DELETE) &&
              !(ce_bert_class(0x2028) & CE_BERT_DELETE));
    ck_assert(ce_unicode_is_whitespace(0xA0) && ce_unicode_is_whitespace(0x3000));
    ck_assert(ce_unicode_is_whitespace(0x2028) && !ce_unicode_is_whitespace(0x200B));
    ck_assert((ce_bert_class(0xA0) & CE_BERT_SPACE) && (ce_bert_class(0x85) & CE_BERT_SPACE));
    ck_assert(!(ce_bert_class(0x200B) & CE_BERT_SPACE));
    const char *ascii_punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    for (const char *p = ascii_punct; *p; p++)
        ck_assert_msg(ce_bert_class((uint32_t)*p) == CE_BERT_PUNCT, "'%c'", *p);
    ck_assert(!(ce_bert_class('a') & CE_BERT_PUNCT) && !(ce_bert_class(0x20AC) & CE_BERT_PUNCT));
    ck_assert((ce_bert_class(0xBF) & CE_BERT_PUNCT) && (ce_bert_class(0x3002) & CE_BERT_PUNCT));
    /* Po since Unicode 13, after HF's tables; Po before Unicode 12, So since */
    ck_assert(!(ce_bert_class(0x2E52) & CE_BERT_PUNCT) && (ce_bert_class(0x166D) & CE_BERT_PUNCT));
    ck_assert(ce_bert_class(0x4E2D) == CE_BERT_CJK && ce_bert_class(0xF900) == CE_BERT_CJK);
    ck_assert(ce_bert_class(0x20000) == CE_BERT_CJK && ce_bert_class(0x30AB) == 0);
    ck_assert(ce_bert_class(0xAC00) == 0);
    ck_assert(ce_bert_class(0x2B820) == 0); /* HF's Extension E range starts at U+2B920 */
    uint32_t d[CE_BERT_MAX_NFD];
    ck_assert_uint_eq(ce_bert_nfd(0xE9, d), 2);
    ck_assert(d[0] == 'e' && d[1] == 0x301);
    ck_assert_uint_eq(ce_bert_nfd(0xD55C, d), 3); /* 한 -> 3 jamo */
    ck_assert_uint_eq(d[0], 0x1112);
    ck_assert_uint_eq(ce_bert_nfd(0x212B, d), 2); /* Angstrom sign -> A + ring */
    ck_assert_uint_eq(ce_bert_nfd(0x1F82, d), 4);
    ck_assert((ce_bert_class(0x301) & CE_BERT_MN) && !(ce_bert_class(0x903) & CE_BERT_MN));
    ck_assert(ce_bert_class(0x1AB0) & CE_BERT_MN);    /* Unicode 7: in HF's tables */
    ck_assert(!(ce_bert_class(0x0898) & CE_BERT_MN)); /* Unicode 14: not in HF's tables */
    ck_assert_int_eq(ce_bert_ccc(0x316), 220);
    ck_assert_int_eq(ce_bert_ccc(0x1E94A), 7); /* Unicode 9: HF's NFD knows it, its Mn does not */
    ck_assert_int_eq(ce_bert_ccc(0x16FF0), 0); /* Unicode 13 */
    uint32_t l[CE_BERT_MAX_LOWER];
    ck_assert_uint_eq(ce_bert_lower(0x130, l), 2);
    ck_assert(l[0] == 'i' && l[1] == 0x307);
    ck_assert(ce_bert_lower(0x1E9E, l) == 1 && l[0] == 0xDF); /* ẞ -> ß */
    ck_assert(ce_bert_lower(0x212A, l) == 1 && l[0] == 'k');  /* Kelvin sign */
    ck_assert(ce_bert_lower(0x3A3, l) == 1 && l[0] == 0x3C3);
    ck_assert(ce_bert_lower(0x101, l) == 1 && l[0] == 0x101); /* lower of a step-2 run stays */
}
END_TEST

START_TEST(test_normalizer_offsets)
{
    ce_bert_normalizer all = {true, true, true, true};
    ce_nchar_buf b = {0};
    /* "İa中\x01é" : İ (2 bytes) -> i, 中 -> " 中 ", \x01 dropped, é -> e */
    const char text[] = "\xc4\xb0"
                        "a\xe4\xb8\xad\x01\xc3\xa9";
    ck_assert_int_eq(ce_bert_normalize(&all, text, 0, sizeof text - 1, &b), CE_OK);
    const ce_nchar want[] = {{'i', 0, 2},    {'a', 2, 3}, {' ', 3, 6},
                             {0x4E2D, 3, 6}, {' ', 3, 6}, {'e', 7, 9}};
    ck_assert_uint_eq(b.n, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_msg(b.v[i].cp == want[i].cp && b.v[i].start == want[i].start &&
                          b.v[i].end == want[i].end,
                      "char %zu", i);
    ce_nchar_buf_free(&b);
    /* lowercase without stripping: İ expands to two characters, both on its span */
    ce_bert_normalizer lower = {true, true, false, true};
    ck_assert_int_eq(ce_bert_normalize(&lower, "x\xc4\xb0", 0, 3, &b), CE_OK);
    ck_assert_uint_eq(b.n, 3);
    ck_assert(b.v[1].cp == 'i' && b.v[2].cp == 0x307 && b.v[2].start == 1 && b.v[2].end == 3);
    ce_nchar_buf_free(&b);
    /* canonical ordering: dot below (ccc 220) sorts before acute (ccc 230) */
    ce_bert_normalizer nfd_only = {false, false, true, false};
    ck_assert_int_eq(ce_bert_normalize(&nfd_only, "\xc3\xa9\xcc\xa3", 0, 4, &b), CE_OK);
    ck_assert_uint_eq(b.n, 1); /* marks dropped, 'e' left */
    ce_nchar_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tokenizer-wordpiece");
    TCase *tc = tcase_create("fixture");
    tcase_add_test(tc, test_fixture_basics);
    tcase_add_test(tc, test_cased_words);
    tcase_add_test(tc, test_wordpiece_greedy);
    tcase_add_test(tc, test_max_chars_per_word);
    tcase_add_test(tc, test_punctuation_and_cjk);
    tcase_add_test(tc, test_clean_text);
    tcase_add_test(tc, test_special_tokens_in_text);
    tcase_add_test(tc, test_add_special_and_pair);
    tcase_add_test(tc, test_truncation_longest_first);
    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_decoder_cleanup_rules);
    tcase_add_test(tc, test_lowercase_config);
    tcase_add_test(tc, test_vocab_file_alone);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("bad-input");
    tcase_add_test(bad, test_invalid_utf8);
    tcase_add_test(bad, test_null_arguments);
    tcase_add_test(bad, test_bad_paths);
    tcase_add_test(bad, test_vocab_txt_duplicates_and_errors);
    tcase_add_test(bad, test_tokenizer_json_added_tokens);
    tcase_add_test(bad, test_corrupt_tokenizer_json);
    suite_add_tcase(s, bad);
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, test_unicode_classes);
    tcase_add_test(rules, test_normalizer_offsets);
    suite_add_tcase(s, rules);
    return ce_test_run(s);
}
