/* Test helpers for accuracy against float32 on the trained models of models/:
 * opening them with a backend and a precision, their held-out texts, and the
 * comparisons the precision contracts are stated in (test-precision.c,
 * test-bf16.c). */
#ifndef CE_TEST_HELDOUT_H
#define CE_TEST_HELDOUT_H

#include <stddef.h>
#include <stdint.h>

#include "contextembed/contextembed.h"

/* Whether the trained models of models/ are there; when not, says so on stderr. */
int ce_test_models_present(void);

/* models/NAME (a static buffer, overwritten by the next call). */
const char *ce_test_model_dir(const char *name);

/* Open @p dir with @p backend and @p precision (NULL: the defaults) and 2 threads. */
ce_status ce_test_open_at(const char *dir, const char *backend, const char *precision,
                          ce_model **m);
/* The same, failing the test when it cannot. */
ce_model *ce_test_must_open(const char *dir, const char *backend, const char *precision);
ce_session *ce_test_must_session(const ce_model *m);

/* The held-out texts of gpt2-mini-en (171, separated by a line holding a form feed). */
typedef struct ce_test_heldout {
    const char *texts[256];
    size_t lens[256], n;
} ce_test_heldout;
const ce_test_heldout *ce_test_read_heldout(void);

/* Next-token prediction of @p q against @p f over the first @p n_texts texts:
 * both perplexities and how often their argmax agrees. */
typedef struct ce_test_lm_stats {
    double ppl_f, ppl_q, agree;
    size_t scored;
} ce_test_lm_stats;
ce_test_lm_stats ce_test_lm_compare(const ce_model *f, const ce_model *q, size_t n_texts);

/* Every token's vector at every layer of the first @p n_texts texts, @p q
 * against @p f: the smallest cosine similarity (*mean gets the mean). */
double ce_test_min_cosine(const ce_model *f, const ce_model *q, size_t n_texts, double *mean);

/* The logits of every position of @p ids (n tokens) into @p out (cap floats). */
void ce_test_all_logits(ce_session *s, const int32_t *ids, size_t n, float *out, size_t cap);
/* Text t of the held-out texts as ids of @p m's tokenizer (*ids: malloc'd). */
void ce_test_encode_heldout(const ce_model *m, size_t t, int32_t **ids, size_t *n);

#endif
