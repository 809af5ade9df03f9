/* Sessions of models that read words (ELMo): ce_session_run_words and the
 * carried recurrent state. Results land in the same hidden-state buffer as
 * ce_session_run's ([num_output_layers][total words][hidden_size]), so the
 * readout (layers, mix, pooling) is shared. */
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"
#include "tokenizers/unicode.h"

static const char FN[] = "ce_session_run_words";

/* Count the words; empty sentences and overflow fail. */
static ce_status count_words(size_t n_seqs, const size_t *n_words, size_t *total, size_t *max_len)
{
    *total = 0;
    *max_len = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        if (n_words[i] == 0)
            return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: sentence %zu has no words", FN, i);
        if (n_words[i] > SIZE_MAX / 4 - *total)
            return ce_error(CE_ERR_TOO_LONG, "%s: too many words", FN);
        *total += n_words[i];
        if (n_words[i] > *max_len)
            *max_len = n_words[i];
    }
    return CE_OK;
}

/* Every word inside the text and valid UTF-8 (the bytes the model reads). */
static ce_status check_words(size_t n_seqs, const size_t *n_words, const char *text,
                             size_t text_len, const size_t *offsets)
{
    size_t w = 0;
    for (size_t i = 0; i < n_seqs; i++)
        for (size_t k = 0; k < n_words[i]; k++, w++) {
            size_t a = offsets[2 * w], b = offsets[2 * w + 1];
            if (a > b || b > text_len)
                return ce_error(CE_ERR_INVALID_ARGUMENT,
                                "%s: word %zu of sentence %zu has offsets [%zu, %zu), outside the "
                                "text of %zu bytes",
                                FN, k, i, a, b, text_len);
            size_t ok = ce_utf8_valid_prefix(text + a, b - a);
            if (ok != b - a)
                return ce_error(CE_ERR_INVALID_UTF8,
                                "%s: word %zu of sentence %zu: invalid UTF-8 at byte %zu of the "
                                "text",
                                FN, k, i, a + ok);
        }
    return CE_OK;
}

static ce_status check_args(const ce_session *s, size_t n_seqs, const size_t *n_words,
                            const char *text, size_t text_len, const size_t *offsets)
{
    if (!s || !n_words || !offsets || (!text && text_len))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: %s is NULL", FN,
                        !s         ? "session"
                        : !n_words ? "n_words"
                        : !offsets ? "offsets"
                                   : "text");
    if (!s->model->arch->forward_words)
        return ce_error(CE_ERR_UNSUPPORTED, "%s: %s models read token ids: use ce_session_run", FN,
                        s->model->arch->name);
    if (n_seqs == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: no sentences", FN);
    if (n_seqs > SIZE_MAX / sizeof(size_t) / 4)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: too many sentences", FN);
    return CE_OK;
}

ce_status ce_session_run_words(ce_session *s, size_t n_seqs, const size_t *n_words,
                               const char *text, size_t text_len, const size_t *offsets)
{
    ce_status st = check_args(s, n_seqs, n_words, text, text_len, offsets);
    if (st != CE_OK)
        return st;
    s->has_results = 0;
    size_t total, max_len;
    st = count_words(n_seqs, n_words, &total, &max_len);
    if (st == CE_OK)
        st = check_words(n_seqs, n_words, text, text_len, offsets);
    if (st == CE_OK)
        st = ce_session_reserve(s, n_seqs, total);
    if (st != CE_OK)
        return st;
    for (size_t i = 0, at = 0; i < n_seqs; at += n_words[i++]) {
        s->lengths[i] = n_words[i];
        s->starts[i] = at;
    }
    ce_batch b = {n_seqs, s->lengths, s->starts, total, max_len, NULL, NULL};
    ce_session_pick_threads(s);
    st = s->model->arch->forward_words(s->model->arch_data, s->arch_state, s->backend, &b,
                                       text ? text : "", offsets, s->settings.carry_state,
                                       s->hidden);
    if (st == CE_OK) {
        s->n_seqs = n_seqs;
        s->total = total;
        s->has_results = 1;
    }
    return st;
}

ce_status ce_session_reset_state(ce_session *s)
{
    if (!s)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_reset_state: session is NULL");
    if (s->model->arch->reset_state)
        s->model->arch->reset_state(s->arch_state);
    return CE_OK;
}
