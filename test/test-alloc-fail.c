/* Allocation failures: every allocation the library makes while opening a
 * model (each family and layout of the fixtures), opening a tokenizer,
 * encoding and decoding, and creating and running a session fails in turn,
 * and each must end in CE_ERR_OUT_OF_MEMORY with a message and outputs left
 * untouched, or in success when the library has a way around it (a backend's
 * prepared copy of a weight is optional: the weight is used as mapped);
 * never in a crash, and (under LeakSanitizer, the ASan build) never in a
 * leak.
 *
 * The test links the internal archive with -Wl,--wrap=malloc (and calloc,
 * realloc, aligned_alloc, strdup, mmap): the library's calls reach the
 * __wrap_ functions below, which fail the chosen one while armed. Libraries
 * below it (libyaml, BLIS, libc's own) allocate as usual. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contextembed/contextembed.h"
#include "test-util.h"

/* ---- the wrappers ------------------------------------------------------------------- */

static atomic_bool armed;
static atomic_long n_allocs;
static long fail_at = -1;

static bool fail_now(void)
{
    if (!atomic_load(&armed))
        return false;
    return atomic_fetch_add(&n_allocs, 1) == fail_at;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return fail_now() ? NULL : __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return fail_now() ? MAP_FAILED : __real_mmap(addr, len, prot, flags, fd, off);
}

/* ---- the sweep ---------------------------------------------------------------------- */

/* One scenario: arm(), the calls under test, disarm(), then the clean-up of
 * what succeeded. Returns the first failing status (CE_OK when all passed). */
typedef ce_status (*scenario)(const void *ctx);

static void arm(void)
{
    atomic_store(&n_allocs, 0);
    atomic_store(&armed, true);
}

static void disarm(void)
{
    atomic_store(&armed, false);
}

/* Run @p run once to count its allocations (after a warm-up: lazily made
 * state is not its own), then once per allocation with that one failing. */
static void sweep(const char *name, scenario run, const void *ctx)
{
    fail_at = -1;
    ck_assert_msg(run(ctx) == CE_OK, "%s: %s", name, ce_last_error());
    ck_assert_msg(run(ctx) == CE_OK, "%s: %s", name, ce_last_error());
    long total = atomic_load(&n_allocs), failed = 0;
    ck_assert_msg(total > 0, "%s: no allocation seen (is --wrap in effect?)", name);
    for (fail_at = 0; fail_at < total; fail_at++) {
        ce_status st = run(ctx);
        ck_assert_msg(st == CE_OK || st == CE_ERR_OUT_OF_MEMORY,
                      "%s: allocation %ld of %ld failing gave status %d (%s): %s", name, fail_at,
                      total, st, ce_status_str(st), ce_last_error());
        ck_assert_msg(st == CE_OK || ce_last_error()[0], "%s: allocation %ld: no message", name,
                      fail_at);
        failed += st != CE_OK;
    }
    fail_at = -1;
    printf("%s: %ld allocations, each failed in turn: %ld errors, %ld recovered\n", name, total,
           failed, total - failed);
    fflush(stdout);
}

static char *fixture(const char *name)
{
    char *p = malloc(strlen(ce_test_fixtures()) + strlen(name) + 2);
    ck_assert_ptr_nonnull(p);
    sprintf(p, "%s/%s", ce_test_fixtures(), name);
    return p;
}

/* ---- opening ------------------------------------------------------------------------ */

static ce_status open_model(const void *ctx)
{
    char *path = fixture(ctx);
    ce_model *m = (ce_model *)&m;
    arm();
    ce_status st = ce_model_open(path, NULL, &m);
    disarm();
    free(path);
    ck_assert(st == CE_OK || m == (ce_model *)&m); /* untouched on failure */
    if (st == CE_OK)
        ce_model_free(m);
    return st;
}

static ce_status open_tokenizer(const void *ctx)
{
    ce_tokenizer *tok = (ce_tokenizer *)&tok;
    arm();
    ce_status st = ce_tokenizer_open(ctx, &tok);
    disarm();
    ck_assert(st == CE_OK || tok == (ce_tokenizer *)&tok);
    if (st == CE_OK)
        ce_tokenizer_free(tok);
    return st;
}

START_TEST(test_open)
{
    static const char *const models[] = {"bert-tiny-uncased", "gpt2-tiny", "roberta-tiny",
                                         "bert-tiny-sharded", "st-mean", "elmo-skip",
                                         "heads-bert-seqcls"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        sweep(models[i], open_model, models[i]);
}
END_TEST

/* vocab.json + merges.txt + the config files, without tokenizer.json. */
START_TEST(test_open_bpe_files)
{
    char dir[] = "/tmp/ce-test-alloc-XXXXXX", src[4096], dst[4096];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const char *const files[] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                                        "special_tokens_map.json", "config.json"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(src, sizeof src, "%s/roberta-tiny/%s", ce_test_fixtures(), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        ck_assert_int_eq(symlink(src, dst), 0);
    }
    sweep("vocab.json + merges.txt", open_tokenizer, dir);
    for (size_t i = 0; i < 5; i++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
    }
    rmdir(dir);
}
END_TEST

/* ---- encoding and decoding ----------------------------------------------------------- */

static const char text[] = "Hello [MASK] world, caf\xC3\xA9 <mask> \xE4\xB8\xAD\xE6\x96\x87 "
                           "unaffable <|endoftext|> \xF0\x9F\x98\x80";

static ce_status encode_decode(const void *ctx)
{
    const ce_tokenizer *tok = ctx;
    const char *texts[2] = {text, "a pair"};
    size_t lens[2] = {strlen(text), 6};
    ce_encoding *enc = (ce_encoding *)&enc, *batch = (ce_encoding *)&batch;
    char buf[4096];
    size_t need = 7;
    arm();
    ce_status st =
        ce_tokenizer_encode(tok, text, lens[0], texts[1], lens[1], CE_ENCODE_ADD_SPECIAL, 0, &enc);
    if (st == CE_OK)
        st = ce_tokenizer_encode_batch(tok, 2, texts, lens, NULL, NULL, 0, 8, &batch);
    if (st == CE_OK)
        st = ce_tokenizer_decode(tok, ce_encoding_ids(enc), ce_encoding_length(enc),
                                 CE_DECODE_SKIP_SPECIAL, buf, sizeof buf, &need);
    ce_decoder *dec = (ce_decoder *)&dec;
    if (st == CE_OK)
        st = ce_decoder_create(tok, 0, &dec);
    for (size_t i = 0; st == CE_OK && i < ce_encoding_length(enc); i++)
        st = ce_decoder_push(dec, ce_encoding_ids(enc)[i], buf, sizeof buf, &need);
    if (st == CE_OK)
        st = ce_decoder_flush(dec, buf, sizeof buf, &need);
    disarm();
    if (enc != (ce_encoding *)&enc)
        ce_encoding_free(enc);
    if (batch != (ce_encoding *)&batch)
        ce_encoding_free(batch);
    if (dec != (ce_decoder *)&dec)
        ce_decoder_free(dec);
    return st;
}

START_TEST(test_encode)
{
    static const char *const models[] = {"bert-tiny-uncased", "gpt2-tiny", "roberta-tiny"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char *path = fixture(models[i]);
        ce_tokenizer *tok;
        ck_assert_int_eq(ce_tokenizer_open(path, &tok), CE_OK);
        char name[64];
        snprintf(name, sizeof name, "encode %s", models[i]);
        sweep(name, encode_decode, tok);
        ce_tokenizer_free(tok);
        free(path);
    }
}
END_TEST

/* ---- sessions ------------------------------------------------------------------------ */

static ce_status run_session(const void *ctx)
{
    const ce_model *m = ctx;
    ce_options *opts;
    ck_assert_int_eq(ce_options_create(&opts), CE_OK);
    ck_assert_int_eq(ce_options_set_int(opts, CE_OPT_THREADS, 1), CE_OK);
    const char *texts[2] = {"the quick brown fox", "jumps"};
    size_t lens[2] = {19, 5}, count = 0;
    float out[4096];
    ce_session *s = (ce_session *)&s;
    arm();
    ce_status st = ce_session_create(m, opts, &s);
    if (st == CE_OK)
        st = ce_session_run_texts(s, 2, texts, lens, CE_ENCODE_ADD_SPECIAL, 0);
    if (st == CE_OK)
        st = ce_session_output(s, 1, NULL, out, sizeof out / sizeof *out, &count);
    disarm();
    if (s != (ce_session *)&s)
        ce_session_free(s);
    ce_options_free(opts);
    return st;
}

START_TEST(test_run)
{
    static const char *const models[] = {"bert-tiny-uncased", "gpt2-tiny", "st-mean", "elmo-skip"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char *path = fixture(models[i]);
        ce_model *m;
        ck_assert_msg(ce_model_open(path, NULL, &m) == CE_OK, "%s", ce_last_error());
        char name[64];
        snprintf(name, sizeof name, "run %s", models[i]);
        sweep(name, run_session, m);
        ce_model_free(m);
        free(path);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc-fail");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_open);
    tcase_add_test(tc, test_open_bpe_files);
    tcase_add_test(tc, test_encode);
    tcase_add_test(tc, test_run);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
