/* ce_session: a backend context, scratch, and the hidden states of the last run. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/model_internal.h"
#include "api/select_internal.h"
#include "core/cpus.h"
#include "core/error.h"

/* A session computes in its model's precision: only the model's backend has
 * its weights prepared in it (any other would multiply the float32 ones). */
static ce_status check_precision(const ce_model *model, const ce_settings *s)
{
    const char *name = ce_precision_name((ce_precision)model->settings.precision);
    if (s->precision != model->settings.precision)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_session_create: precision \"%s\" asked, but the model was opened "
                        "at \"%s\" (CE_OPT_PRECISION is read by ce_model_open)",
                        ce_precision_name((ce_precision)s->precision), name);
    if (model->settings.precision != CE_PRECISION_F32 &&
        strcmp(s->backend, model->settings.backend) != 0)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "ce_session_create: backend \"%s\" asked, but the model's weights are "
                        "prepared at precision \"%s\" for backend \"%s\" only; open the model "
                        "with that backend instead",
                        s->backend, name, model->settings.backend);
    return CE_OK;
}

ce_status ce_session_create(const ce_model *model, const ce_options *opts, ce_session **out)
{
    if (!model || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_create: model or out is NULL");
    ce_session *s = calloc(1, sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_session_create: out of memory");
    s->model = model;
    ce_settings_resolve(&model->settings, opts, &s->settings);
    if (!strcmp(s->settings.backend, "auto")) /* the model's, with its prepared weights */
        memcpy(s->settings.backend, model->settings.backend, sizeof s->settings.backend);
    ce_status st = check_precision(model, &s->settings);
    if (st == CE_OK)
        st = ce_backend_open(s->settings.backend, s->settings.threads, model->backend,
                             &s->backend);
    if (st == CE_OK)
        st = model->arch->session_create(model->arch_data, &s->arch_state);
    if (st != CE_OK) {
        ce_backend_close(s->backend);
        free(s);
        return st;
    }
    *out = s;
    return CE_OK;
}

void ce_session_free(ce_session *s)
{
    if (!s)
        return;
    if (s->arch_state)
        s->model->arch->session_free(s->arch_state);
    ce_backend_close(s->backend);
    free(s->lengths);
    free(s->starts);
    free(s->ids);
    free(s->type_ids);
    free(s->hidden);
    free(s->logits);
    free(s->win.ids);
    free(s->win.types);
    free(s->win.lengths);
    free(s->win.starts);
    free(s->win.hidden);
    free(s);
}

/* Reading /proc costs some 100 us (a fiftieth of a decoded token): calls
 * that come faster than every 20 ms keep the last count. */
#define PICK_THREADS_EVERY_NS 20000000

void ce_session_pick_threads(ce_session *s)
{
    if (s->backend->n_threads <= 1)
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t now = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
    if (s->threads_checked_ns && now - s->threads_checked_ns < PICK_THREADS_EVERY_NS)
        return;
    s->threads_checked_ns = now;
    ce_backend_set_threads(s->backend, ce_cpus_free_for(s->backend->n_threads));
}

const char *ce_session_backend(const ce_session *s)
{
    return s ? s->backend->ops.name : NULL;
}

int ce_session_threads(const ce_session *s)
{
    return s ? s->backend->n_threads : 0;
}

/* Lengths after truncation, and their sum; fails on empty or (without truncation
 * or windows) long ones. *windows is set when a long one is to run as windows. */
static ce_status plan_lengths(const ce_session *s, size_t n_seqs, const size_t *lengths,
                              size_t *kept, size_t *total, size_t *max_len, int *windows)
{
    size_t max_pos = (size_t)s->model->dims.max_positions;
    int policy = s->settings.long_input;
    *total = 0;
    *max_len = 0;
    *windows = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        if (lengths[i] == 0)
            return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_run: sequence %zu is empty", i);
        if (lengths[i] > max_pos && policy == CE_LONG_ERROR)
            return ce_error(CE_ERR_TOO_LONG,
                            "sequence %zu has %zu tokens but the model takes at most %zu "
                            "(max_position_embeddings); enable truncation or windows for it",
                            i, lengths[i], max_pos);
        *windows |= lengths[i] > max_pos && policy == CE_LONG_WINDOW;
        kept[i] = lengths[i] > max_pos && policy == CE_LONG_TRUNCATE ? max_pos : lengths[i];
        if (*total > SIZE_MAX / 2 - kept[i])
            return ce_error(CE_ERR_TOO_LONG, "ce_session_run: too many tokens");
        *total += kept[i];
        if (kept[i] > *max_len)
            *max_len = kept[i];
    }
    return CE_OK;
}

static ce_status check_ids(const ce_model *m, size_t n_seqs, const size_t *lengths,
                           const size_t *kept, const int32_t *ids, const int32_t *types)
{
    size_t src = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        for (size_t p = 0; p < kept[i]; p++) {
            int32_t id = ids[src + p], ty = types ? types[src + p] : 0;
            if (id < 0 || id >= m->dims.vocab_size)
                return ce_error(CE_ERR_OUT_OF_RANGE,
                                "token id %d at position %zu of sequence %zu is outside the "
                                "vocabulary [0, %lld)", (int)id, p, i, (long long)m->dims.vocab_size);
            if (m->dims.type_vocab_size > 0 && (ty < 0 || ty >= m->dims.type_vocab_size))
                return ce_error(CE_ERR_OUT_OF_RANGE,
                                "token type %d at position %zu of sequence %zu is outside [0, %lld)",
                                (int)ty, p, i, (long long)m->dims.type_vocab_size);
        }
        src += lengths[i];
    }
    return CE_OK;
}

/* realloc that keeps the old block on failure. */
static int grow(void **p, size_t n, size_t elem)
{
    void *q = realloc(*p, n * elem);
    if (!q)
        return 0;
    *p = q;
    return 1;
}

ce_status ce_session_reserve(ce_session *s, size_t n_seqs, size_t total)
{
    size_t planes = (size_t)s->model->dims.num_output_layers;
    size_t dim = (size_t)s->model->dims.hidden_size;
    if (total > SIZE_MAX / sizeof(float) / planes / dim)
        return ce_error(CE_ERR_TOO_LONG, "session: a batch of %zu tokens or words is too large",
                        total);
    if (n_seqs > s->cap_seqs) {
        if (!grow((void **)&s->lengths, n_seqs, sizeof(size_t)) ||
            !grow((void **)&s->starts, n_seqs, sizeof(size_t)))
            return ce_error(CE_ERR_OUT_OF_MEMORY, "session: out of memory for %zu sequences",
                            n_seqs);
        s->cap_seqs = n_seqs;
    }
    if (total > s->cap_total) {
        if (!grow((void **)&s->ids, total, sizeof(int32_t)) ||
            !grow((void **)&s->type_ids, total, sizeof(int32_t)) ||
            !grow((void **)&s->hidden, planes * total * dim, sizeof(float)))
            return ce_error(CE_ERR_OUT_OF_MEMORY,
                            "session: cannot allocate hidden states for %zu tokens or words", total);
        s->cap_total = total;
    }
    return CE_OK;
}

static void pack(ce_session *s, size_t n_seqs, const size_t *lengths, const size_t *kept,
                 const int32_t *ids, const int32_t *types)
{
    size_t src = 0, dst = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        s->lengths[i] = kept[i];
        s->starts[i] = dst;
        memcpy(s->ids + dst, ids + src, kept[i] * sizeof(int32_t));
        if (types)
            memcpy(s->type_ids + dst, types + src, kept[i] * sizeof(int32_t));
        else
            memset(s->type_ids + dst, 0, kept[i] * sizeof(int32_t));
        src += lengths[i];
        dst += kept[i];
    }
}

ce_status ce_session_run(ce_session *s, size_t n_seqs, const size_t *lengths, const int32_t *ids,
                         const int32_t *type_ids)
{
    if (!s || !lengths || !ids)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_run: session, lengths or ids is NULL");
    if (!s->model->arch->forward) { /* families that read words (ELMo) */
        s->has_results = 0;
        return ce_error(CE_ERR_UNSUPPORTED, "ce_session_run: %s models read words, not token "
                        "ids: use ce_session_run_words", s->model->arch->name);
    }
    if (n_seqs == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_run: no sequences");
    if (n_seqs > SIZE_MAX / sizeof(size_t))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_run: too many sequences");
    size_t *kept = malloc(n_seqs * sizeof *kept);
    if (!kept)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_session_run: out of memory");
    s->has_results = 0;
    size_t total, max_len;
    int windows;
    ce_status st = plan_lengths(s, n_seqs, lengths, kept, &total, &max_len, &windows);
    if (st == CE_OK)
        st = check_ids(s->model, n_seqs, lengths, kept, ids, type_ids);
    if (st == CE_OK)
        st = ce_session_reserve(s, n_seqs, total);
    if (st == CE_OK)
        pack(s, n_seqs, lengths, kept, ids, type_ids);
    if (st == CE_OK && windows) {
        st = ce_session_run_windows(s, n_seqs, total);
    } else if (st == CE_OK) {
        ce_session_pick_threads(s);
        ce_batch b = {n_seqs, s->lengths, s->starts, total, max_len, s->ids, s->type_ids};
        st = s->model->arch->forward(s->model->arch_data, s->arch_state, s->backend, &b, s->hidden);
    }
    free(kept);
    if (st == CE_OK) {
        s->n_seqs = n_seqs;
        s->total = total;
        s->has_results = 1;
    }
    return st;
}

size_t ce_session_num_sequences(const ce_session *s)
{
    return s && s->has_results ? s->n_seqs : 0;
}

ce_status ce_session_check_seq(const ce_session *s, size_t seq, const char *fn)
{
    if (!s)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
    if (!s->has_results)
        return ce_error(CE_ERR_STATE, "%s: no results: call ce_session_run first", fn);
    if (seq >= s->n_seqs)
        return ce_error(CE_ERR_OUT_OF_RANGE, "%s: sequence %zu of %zu", fn, seq, s->n_seqs);
    return CE_OK;
}

ce_status ce_session_sequence_length(const ce_session *s, size_t seq, size_t *length)
{
    ce_status st = ce_session_check_seq(s, seq, "ce_session_sequence_length");
    if (st != CE_OK)
        return st;
    if (!length)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_sequence_length: length is NULL");
    *length = s->lengths[seq];
    return CE_OK;
}

static ce_status prepare(const ce_session *s, size_t seq, const ce_select *sel, ce_select *dflt,
                         ce_readout *r, const char *fn)
{
    ce_status st = ce_session_check_seq(s, seq, fn);
    if (st != CE_OK)
        return st;
    if (!sel) {
        ce_select_init_default(dflt);
        sel = dflt;
    }
    return ce_readout_prepare(sel, (size_t)s->model->dims.num_output_layers, &s->model->pooling, r);
}

ce_status ce_session_output_shape(const ce_session *s, size_t seq, const ce_select *sel,
                                  size_t shape[3], size_t *ndim)
{
    if (!shape || !ndim)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_output_shape: shape or ndim is NULL");
    ce_select dflt;
    ce_readout r;
    ce_status st = prepare(s, seq, sel, &dflt, &r, "ce_session_output_shape");
    if (st != CE_OK)
        return st;
    ce_readout_shape(&r, s->lengths[seq], (size_t)s->model->dims.hidden_size, shape, ndim);
    ce_readout_release(&r);
    return CE_OK;
}

ce_status ce_session_output(const ce_session *s, size_t seq, const ce_select *sel, float *out,
                            size_t capacity, size_t *count)
{
    if (!count)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_output: count is NULL");
    ce_select dflt;
    ce_readout r;
    ce_status st = prepare(s, seq, sel, &dflt, &r, "ce_session_output");
    if (st != CE_OK)
        return st;
    size_t shape[3], ndim, need = 1, dim = (size_t)s->model->dims.hidden_size;
    ce_readout_shape(&r, s->lengths[seq], dim, shape, &ndim);
    for (size_t i = 0; i < ndim; i++)
        need *= shape[i];
    *count = need;
    if (!out || capacity < need) {
        ce_readout_release(&r);
        return ce_error(CE_ERR_BUFFER_TOO_SMALL,
                        "ce_session_output: the result has %zu floats, the buffer holds %zu", need,
                        out ? capacity : 0);
    }
    ce_readout_write(&r, s->hidden, s->total, dim, s->starts[seq], s->lengths[seq], out);
    ce_readout_release(&r);
    return CE_OK;
}
