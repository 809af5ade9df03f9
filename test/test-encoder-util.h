/* Helpers shared by the encoder-family suites (test-roberta.c, test-distilbert.c): golden cases of
 * a fixture written by test/gen/gen_encoders.py, runs compared layer by layer, scratch copies of
 * fixture directories for bad-input tests, and a small safetensors rewriter. */
#ifndef CE_TEST_ENCODER_UTIL_H
#define CE_TEST_ENCODER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "contextembed/contextembed.h"
#include "io/json.h"
#include "io/weights.h"
#include "test-util.h"

#define ENC_TOL       1e-4
#define ENC_MAX_CASES 64

/* One golden sequence of expected.safetensors. */
typedef struct enc_case {
    char name[64];
    size_t len;
    int32_t *ids, *types;
    const float *hidden; /* [L+1, T, D] inside the mapping (float32 view) */
} enc_case;

typedef struct enc_refs {
    ce_weights *w;
    enc_case cases[ENC_MAX_CASES];
    size_t n;
} enc_refs;

/* test/fixtures/<fixture> into @p dir. */
void enc_fixture_dir(const char *fixture, char *dir, size_t cap);

/* The cases whose name is <prefix><digits> ("case", "batch", "padtok"), in file order. */
void enc_load_refs(const char *dir, const char *prefix, int64_t layers, int64_t dim, enc_refs *r);
void enc_free_refs(enc_refs *r);

/* cases.json of a fixture (caller frees with ce_json_free). */
ce_json *enc_cases_json(const char *fixture);
/* Integer member @p key of cases.json's "model" object. */
int64_t enc_model_int(const ce_json *doc, const char *key);

/* Open a model and a session on @p backend with @p threads threads. */
ce_session *enc_open_session(const char *dir, const char *backend, int threads, ce_model **m);

/* Largest |output - golden| over every layer of sequence @p seq of the last run. */
double enc_compare(ce_session *s, size_t seq, const enc_case *c);

/* Run the cases of @p r packed into one ce_session_run (types NULL: pass none)
 * and return the worst difference; @p types_override, when not NULL, is used
 * for every token instead of the golden type ids. */
double enc_run_packed(ce_session *s, const enc_refs *r, const int32_t *types_override,
                      const char **worst_name);

/* The end-to-end check of a fixture on one backend: every case alone, every
 * case packed into one run, the padded batch together, and the cases named
 * @p extra_prefix (may be NULL) alone. */
void enc_check_fixture(const char *fixture, const char *backend, int threads,
                       const char *extra_prefix);

/* Text cases of cases.json through the model's tokenizer (special tokens
 * added, pairs as pairs): the golden ids, and the golden type ids when
 * @p check_types. Returns how many were checked. */
int enc_check_text_cases(const char *fixture, int check_types);

/* ---- scratch directories (one root per suite, removed by the parent process) ---- */

void enc_root_create(void);
void enc_root_remove(void);
/* A new directory under the root holding a copy of every file of the fixture
 * except expected.safetensors and cases.json; its path is returned (static). */
const char *enc_tmp_copy(const char *fixture);
const char *enc_tmp_path(const char *name);
void enc_tmp_put(const char *name, const void *data, size_t len);
char *enc_tmp_get(const char *name, size_t *len);
void enc_tmp_remove(const char *name);
/* Replace the first @p from by @p to (any lengths) in file @p name; asserts @p from is there. */
void enc_tmp_replace(const char *name, const char *from, const char *to);
/* ce_model_open of the scratch directory must fail with @p want (or @p want2,
 * when not CE_OK), leave the output untouched, and name @p needle (when not NULL). */
void enc_expect_open_failure(ce_status want, ce_status want2, const char *needle);

/* In a scratch copy of @p fixture, shrink the NULL-ended @p tensors (the word
 * embedding and any head bias) and config.json's vocab_size by @p by rows, so
 * that weights and config agree and only the tokenizer has more ids: the open
 * must fail with CE_ERR_FORMAT naming vocab_size. */
void enc_expect_vocab_below_tokenizer(const char *fixture, const char *const *tensors, int64_t by);

/* ---- safetensors rewriting ---- */

typedef struct enc_tensor {
    char name[160];
    const char *dtype; /* "F32", "F16", ... */
    int ndim;
    int64_t shape[4];
    const void *data;
    size_t nbytes;
} enc_tensor;

typedef struct enc_tensors {
    ce_weights *w; /* keeps the data of the tensors read from a file valid */
    enc_tensor t[512];
    size_t n;
} enc_tensors;

/* Every tensor of @p path (names, dtypes, shapes, data pointers into the mapping). */
void enc_tensors_read(const char *path, enc_tensors *ts);
/* Index of @p name or -1. */
int enc_tensors_find(const enc_tensors *ts, const char *name);
/* Drop tensor @p name (asserts it exists). */
void enc_tensors_drop(enc_tensors *ts, const char *name);
/* Keep only the first @p rows rows of tensor @p name. */
void enc_tensors_shrink(enc_tensors *ts, const char *name, int64_t rows);
/* Write them as a safetensors file (to a temporary name, then renamed over @p path). */
void enc_tensors_write(const char *path, const enc_tensors *ts);
void enc_tensors_close(enc_tensors *ts);

#endif
