/* Incremental decoding on a session: append with a KV cache, logits, rewind, copy. */
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"

static ce_status need_decoder(const ce_session *s, const char *fn)
{
    if (!s)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
    if (!s->model->arch->append)
        return ce_error(CE_ERR_UNSUPPORTED, "%s: %s models are not decoders", fn,
                        s->model->arch->name);
    return CE_OK;
}

static ce_status check_append(const ce_session *s, const int32_t *ids, size_t n)
{
    if (!ids || n == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_append: no tokens");
    const ce_model_dims *d = &s->model->dims;
    size_t len = s->model->arch->context_length(s->arch_state);
    if (n > (size_t)d->max_positions - len)
        return ce_error(CE_ERR_TOO_LONG,
                        "ce_session_append: %zu tokens after %zu would exceed the model's %lld "
                        "positions (n_positions)", n, len, (long long)d->max_positions);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= d->vocab_size)
            return ce_error(CE_ERR_OUT_OF_RANGE,
                            "ce_session_append: token id %d at %zu is outside the vocabulary "
                            "[0, %lld)", (int)ids[i], i, (long long)d->vocab_size);
    return CE_OK;
}

static ce_status reserve_logits(ce_session *s, size_t rows)
{
    if (rows <= s->cap_logits_rows)
        return CE_OK;
    size_t vocab = (size_t)s->model->dims.vocab_size;
    if (rows > SIZE_MAX / sizeof(float) / vocab)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_session_append: logits too large");
    float *p = realloc(s->logits, rows * vocab * sizeof(float));
    if (!p)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_session_append: cannot allocate %zu x %zu logits",
                        rows, vocab);
    s->logits = p;
    s->cap_logits_rows = rows;
    return CE_OK;
}

ce_status ce_session_append(ce_session *s, const int32_t *ids, size_t n, uint32_t flags)
{
    ce_status st = need_decoder(s, "ce_session_append");
    if (st != CE_OK)
        return st;
    if (flags & ~(uint32_t)CE_APPEND_ALL_LOGITS)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_append: unknown flags 0x%x",
                        (unsigned)flags);
    st = check_append(s, ids, n);
    int all = (flags & CE_APPEND_ALL_LOGITS) != 0;
    if (st == CE_OK)
        st = reserve_logits(s, all ? n : 1);
    if (st != CE_OK)
        return st;
    s->logits_rows = 0;
    ce_session_pick_threads(s);
    st = s->model->arch->append(s->model->arch_data, s->arch_state, s->backend, ids, n, all,
                                s->logits);
    if (st == CE_OK)
        s->logits_rows = all ? n : 1;
    return st;
}

size_t ce_session_context_length(const ce_session *s)
{
    if (!s || !s->model->arch->context_length)
        return 0;
    return s->model->arch->context_length(s->arch_state);
}

size_t ce_session_logits_rows(const ce_session *s)
{
    return s ? s->logits_rows : 0;
}

ce_status ce_session_logits(const ce_session *s, float *out, size_t capacity, size_t *count)
{
    ce_status st = need_decoder(s, "ce_session_logits");
    if (st != CE_OK)
        return st;
    if (!count)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_logits: count is NULL");
    if (s->logits_rows == 0)
        return ce_error(CE_ERR_STATE, "ce_session_logits: no logits: append tokens first");
    size_t need = s->logits_rows * (size_t)s->model->dims.vocab_size;
    *count = need;
    if (!out || capacity < need)
        return ce_error(CE_ERR_BUFFER_TOO_SMALL,
                        "ce_session_logits: the logits have %zu floats, the buffer holds %zu", need,
                        out ? capacity : 0);
    memcpy(out, s->logits, need * sizeof(float));
    return CE_OK;
}

ce_status ce_session_rewind(ce_session *s, size_t length)
{
    ce_status st = need_decoder(s, "ce_session_rewind");
    if (st != CE_OK)
        return st;
    size_t len = s->model->arch->context_length(s->arch_state);
    if (length > len)
        return ce_error(CE_ERR_OUT_OF_RANGE,
                        "ce_session_rewind: %zu is beyond the context of %zu tokens", length, len);
    s->model->arch->rewind(s->arch_state, length);
    s->logits_rows = 0;
    return CE_OK;
}

ce_status ce_session_copy_state(ce_session *dst, const ce_session *src)
{
    ce_status st = need_decoder(dst, "ce_session_copy_state");
    if (st == CE_OK && !src)
        st = ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_copy_state: src is NULL");
    if (st == CE_OK && src->model != dst->model)
        st = ce_error(CE_ERR_INVALID_ARGUMENT,
                      "ce_session_copy_state: the sessions are on different models");
    if (st != CE_OK || src == dst)
        return st;
    st = reserve_logits(dst, src->logits_rows);
    if (st == CE_OK)
        st = src->model->arch->copy_state(src->model->arch_data, dst->arch_state, src->arch_state);
    if (st != CE_OK)
        return st;
    if (src->logits_rows)
        memcpy(dst->logits, src->logits,
               src->logits_rows * (size_t)src->model->dims.vocab_size * sizeof(float));
    dst->logits_rows = src->logits_rows;
    return CE_OK;
}
