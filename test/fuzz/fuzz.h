/* Fuzz targets: one file per loader or tokenizer, each a libFuzzer
 * LLVMFuzzerTestOneInput, built with libFuzzer (clang) by run.sh and always
 * as a replay driver (replay.c) that runs the seed corpus as a test.
 *
 * The loaders read files, so a target writes its input into a private work
 * directory beside symbolic links to a fixture model's other files; inputs
 * that stand for several files hold them separated by NUL bytes. */
#ifndef CE_FUZZ_H
#define CE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "contextembed/contextembed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The committed fixtures (test/fixtures; $CE_FIXTURES overrides). */
const char *fuzz_fixtures(void);

/* A fresh work directory, removed at exit, holding links to every file of
 * fixture @p model (a directory name under the fixtures; NULL: none) but
 * those named in @p except (NULL-terminated; may be NULL). Made once per
 * @p slot (0..7), so a target may keep several. */
const char *fuzz_dir(int slot, const char *model, const char *const *except);

/* Link fixture file @p model/@p name into @p dir (once: an existing link stays). */
void fuzz_link(const char *dir, const char *model, const char *name);

/* Write @p len bytes as @p dir/@p name (subdirectories made); returns the
 * path in a static buffer, valid until the next call. */
const char *fuzz_write(const char *dir, const char *name, const uint8_t *data, size_t len);

/* Remove @p dir/@p name if it is there. */
void fuzz_remove(const char *dir, const char *name);

/* Split @p data at NUL bytes into at most @p max parts (the last keeps any
 * further NULs); missing parts are empty. Returns the number found. */
size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens,
                  size_t max);

/* @p st, after telling it on stderr when $CE_FUZZ_VERBOSE is set (to see
 * what a corpus reaches: replay-<target> corpus/<target>). */
ce_status fuzz_note(ce_status st, const char *what);

/* Encode a few fixed texts (with and without special tokens, as a pair, in
 * a batch, truncated) and decode the ids back, in one go and streamed. */
void fuzz_tokenizer(const ce_tokenizer *tok);

/* Run a model that opened on two short texts and read every output. */
void fuzz_model(const ce_model *model);

#endif
