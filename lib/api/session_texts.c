/* Whole batches in one call: texts in (tokenized here), pooled vectors out,
 * so that a binding pays one call per batch rather than several per text. */
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"

/* Models that read words: the texts concatenated, each word's offsets moved
 * by where its text starts. */
static ce_status run_words(ce_session *s, const ce_encoding *e, size_t n_texts,
                           const char *const *texts, const size_t *lens)
{
    const size_t *starts = ce_encoding_text_starts(e), *offs = ce_encoding_offsets(e);
    size_t bytes = 0, n = ce_encoding_length(e);
    for (size_t i = 0; i < n_texts; i++)
        bytes += lens[i];
    char *text = malloc(bytes ? bytes : 1);
    size_t *offsets = malloc((n ? 2 * n : 1) * sizeof *offsets);
    size_t *n_words = malloc(n_texts * sizeof *n_words);
    ce_status st = CE_OK;
    if (!text || !offsets || !n_words)
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "ce_session_run_texts: out of memory");
    for (size_t i = 0, at = 0; st == CE_OK && i < n_texts; at += lens[i++]) {
        memcpy(text + at, texts[i], lens[i]);
        n_words[i] = starts[i + 1] - starts[i];
        for (size_t k = 2 * starts[i]; k < 2 * starts[i + 1]; k++)
            offsets[k] = offs[k] + at;
    }
    if (st == CE_OK)
        st = ce_session_run_words(s, n_texts, n_words, text, bytes, offsets);
    free(text);
    free(offsets);
    free(n_words);
    return st;
}

ce_status ce_session_run_texts(ce_session *s, size_t n_texts, const char *const *texts,
                               const size_t *text_lens, uint32_t encode_flags, size_t max_length)
{
    if (!s || (n_texts && (!texts || !text_lens)))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_run_texts: NULL argument");
    if (n_texts == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_run_texts: no texts");
    const ce_tokenizer *tok = s->model->tokenizer;
    if (!tok)
        return ce_error(CE_ERR_UNSUPPORTED, "ce_session_run_texts: the model has no tokenizer "
                        "(run token ids with ce_session_run)");
    s->has_results = 0;
    ce_encoding *e = NULL;
    ce_status st = ce_tokenizer_encode_batch(tok, n_texts, texts, text_lens, NULL, NULL,
                                             encode_flags, max_length, &e);
    if (st == CE_OK && s->model->arch->forward_words) {
        st = run_words(s, e, n_texts, texts, text_lens);
    } else if (st == CE_OK) {
        const size_t *starts = ce_encoding_text_starts(e);
        size_t *lengths = malloc(n_texts * sizeof *lengths);
        if (!lengths)
            st = ce_error(CE_ERR_OUT_OF_MEMORY, "ce_session_run_texts: out of memory");
        for (size_t i = 0; st == CE_OK && i < n_texts; i++)
            lengths[i] = starts[i + 1] - starts[i];
        if (st == CE_OK)
            st = ce_session_run(s, n_texts, lengths, ce_encoding_ids(e), ce_encoding_type_ids(e));
        free(lengths);
    }
    ce_encoding_free(e);
    return st;
}

ce_status ce_session_output_all(const ce_session *s, const ce_select *sel, float *out,
                                size_t capacity, size_t *count)
{
    if (!s || !sel || !count)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_output_all: NULL argument");
    if (!s->has_results)
        return ce_error(CE_ERR_STATE, "ce_session_output_all: no results: run first");
    size_t shape[3], ndim, each = 1;
    ce_status st = ce_session_output_shape(s, 0, sel, shape, &ndim);
    if (st != CE_OK)
        return st;
    if (ndim == 3)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_output_all: the selection does not "
                        "pool, and sequences differ in length: read them one by one");
    for (size_t i = 0; i < ndim; i++)
        each *= shape[i];
    *count = each * s->n_seqs;
    if (!out || capacity < *count)
        return ce_error(CE_ERR_BUFFER_TOO_SMALL,
                        "ce_session_output_all: the result has %zu floats, the buffer holds %zu",
                        *count, out ? capacity : 0);
    size_t got;
    for (size_t i = 0; st == CE_OK && i < s->n_seqs; i++)
        st = ce_session_output(s, i, sel, out + i * each, each, &got);
    return st;
}
