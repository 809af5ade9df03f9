/* What the fuzz targets share: the work directories and the calls that
 * exercise a tokenizer or a model once a fuzzed file opened. */
#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef CE_FIXTURES_DIR
#define CE_FIXTURES_DIR "test/fixtures"
#endif

#define N_SLOTS 8

static char *dirs[N_SLOTS];

const char *fuzz_fixtures(void)
{
    const char *env = getenv("CE_FIXTURES");
    return env && *env ? env : CE_FIXTURES_DIR;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_dirs(void)
{
    for (int i = 0; i < N_SLOTS; i++)
        if (dirs[i])
            nftw(dirs[i], remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void link_model(const char *dir, const char *model, const char *const *except)
{
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s/%s", fuzz_fixtures(), model);
    DIR *d = opendir(src);
    if (!d) {
        fprintf(stderr, "fuzz: no fixture %s\n", src);
        abort();
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        bool skip = false;
        for (size_t i = 0; except && except[i]; i++)
            skip |= !strcmp(e->d_name, except[i]);
        snprintf(src, sizeof src, "%s/%s/%s", fuzz_fixtures(), model, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", dir, e->d_name);
        if (!skip && symlink(src, dst) != 0)
            abort();
    }
    closedir(d);
}

const char *fuzz_dir(int slot, const char *model, const char *const *except)
{
    if (dirs[slot])
        return dirs[slot];
    static bool registered;
    if (!registered)
        atexit(remove_dirs);
    registered = true;
    char tmpl[] = "/tmp/ce-fuzz-XXXXXX";
    if (!mkdtemp(tmpl) || !(dirs[slot] = strdup(tmpl)))
        abort();
    if (model)
        link_model(dirs[slot], model, except);
    return dirs[slot];
}

void fuzz_link(const char *dir, const char *model, const char *name)
{
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s/%s/%s", fuzz_fixtures(), model, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    struct stat sb;
    if (lstat(dst, &sb) != 0 && symlink(src, dst) != 0)
        abort();
}

const char *fuzz_write(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        abort();
    return path;
}

void fuzz_remove(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

ce_status fuzz_note(ce_status st, const char *what)
{
    if (getenv("CE_FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", what, st == CE_OK ? "ok" : ce_last_error());
    return st;
}

size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens,
                  size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i < size && n + 1 < max; i++)
        if (data[i] == 0) {
            parts[n] = data + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    parts[n] = data + start;
    lens[n++] = size - start;
    for (size_t k = n; k < max; k++) {
        parts[k] = data + size;
        lens[k] = 0;
    }
    return n;
}

static void decode_all(const ce_tokenizer *tok, const ce_encoding *enc)
{
    const int32_t *ids = ce_encoding_ids(enc);
    size_t n = ce_encoding_length(enc), need = 0;
    for (uint32_t flags = 0; flags < 2; flags++) {
        char small[8];
        if (ce_tokenizer_decode(tok, ids, n, flags, small, sizeof small, &need) ==
            CE_ERR_BUFFER_TOO_SMALL) {
            char *buf = malloc(need);
            if (buf && ce_tokenizer_decode(tok, ids, n, flags, buf, need, &need) != CE_OK)
                abort(); /* the size it asked for must do */
            free(buf);
        }
        ce_decoder *dec;
        if (ce_decoder_create(tok, flags, &dec) != CE_OK)
            continue;
        char out[4096];
        size_t w;
        for (size_t i = 0; i < n; i++)
            ce_decoder_push(dec, ids[i], out, sizeof out, &w);
        ce_decoder_flush(dec, out, sizeof out, &w);
        ce_decoder_free(dec);
    }
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        int32_t back;
        if (ce_tokenizer_id_to_token(tok, ids[i], &s, &len) == CE_OK)
            ce_tokenizer_token_to_id(tok, s, len, &back);
    }
}

void fuzz_tokenizer(const ce_tokenizer *tok)
{
    static const char *const texts[] = {
        "Hello, world! [CLS] [MASK] <s> <mask> </s> <|endoftext|> unaffable",
        " \t\n caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 x\xCC\x81 ",
        "",
    };
    size_t lens[3];
    for (size_t i = 0; i < 3; i++)
        lens[i] = strlen(texts[i]);
    for (uint32_t flags = 0; flags < 4; flags++) {
        ce_encoding *enc;
        if (ce_tokenizer_encode(tok, texts[0], lens[0], texts[1], lens[1], flags, 0, &enc) ==
            CE_OK) {
            decode_all(tok, enc);
            ce_encoding_free(enc);
        }
        if (ce_tokenizer_encode(tok, texts[1], lens[1], NULL, 0, flags, 5, &enc) == CE_OK)
            ce_encoding_free(enc);
    }
    ce_encoding *batch;
    if (ce_tokenizer_encode_batch(tok, 3, texts, lens, texts, lens, CE_ENCODE_ADD_SPECIAL, 7,
                                  &batch) == CE_OK)
        ce_encoding_free(batch);
    for (int role = 0; role < 7; role++) {
        int32_t id;
        ce_tokenizer_special_id(tok, (ce_special_token)role, &id);
    }
    ce_tokenizer_kind(tok);
    ce_tokenizer_vocab_size(tok);
}

void fuzz_model(const ce_model *model)
{
    ce_session *s;
    if (ce_session_create(model, NULL, &s) != CE_OK)
        return;
    static const char *const texts[] = {"the quick brown fox", "a b"};
    const size_t lens[] = {19, 3};
    if (ce_session_run_texts(s, 2, texts, lens, CE_ENCODE_ADD_SPECIAL, 16) == CE_OK) {
        for (size_t q = 0; q < ce_session_num_sequences(s); q++) {
            size_t count = 0;
            if (ce_session_output(s, q, NULL, NULL, 0, &count) != CE_ERR_BUFFER_TOO_SMALL)
                continue;
            float *out = malloc((count ? count : 1) * sizeof *out);
            if (out && ce_session_output(s, q, NULL, out, count, &count) != CE_OK)
                abort(); /* the size it asked for must do */
            free(out);
        }
    }
    ce_session_free(s);
}
