/* Task heads through the API: which a model has, their label names (the
 * config's id2label, as Hugging Face reads it), and their logits per sequence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"

static const char *const head_names[] = {"masked_lm", "next_sentence", "sequence_classification",
                                         "token_classification", "question_answering"};
#define N_HEADS (sizeof head_names / sizeof *head_names)

unsigned ce_model_heads(const ce_model *m)
{
    return m->arch->heads ? m->arch->heads(m->arch_data) : 0;
}

/* CE_ERR_NOT_FOUND naming the heads the model has, for @p fn. */
static ce_status missing(const ce_model *m, ce_head head, const char *fn)
{
    char have[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_HEADS; i++)
        if (ce_model_heads(m) & (1u << i))
            used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", used ? ", " : "",
                                     head_names[i]);
    return ce_error(CE_ERR_NOT_FOUND, "%s: the %s model has no %s head (%s%s)", fn, m->arch->name,
                    head_names[head], used ? "its heads: " : "it has no task heads",
                    used ? have : ", only the encoder");
}

static ce_status check_head(const ce_model *m, ce_head head, const char *fn)
{
    if (!m)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
    if ((int)head < 0 || (size_t)head >= N_HEADS)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "%s: unknown head %d", fn, (int)head);
    return ce_model_heads(m) & (1u << head) ? CE_OK : missing(m, head, fn);
}

/* ---- labels ---- */

void ce_model_labels_free(ce_model *m)
{
    for (size_t i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    free(m->labels);
    m->labels = NULL;
    m->n_labels = 0;
}

/* id2label {"0": "NEG", "1": "POS"} into labels[n]; entries it lacks stay NULL. */
static ce_status read_id2label(ce_model *m, const ce_json *map, size_t n, const char *source)
{
    m->labels = calloc(n, sizeof *m->labels);
    if (!m->labels)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "labels: out of memory");
    m->n_labels = n;
    for (size_t i = 0; i < map->n; i++) {
        char *end;
        long id = strtol(map->keys[i], &end, 10);
        const ce_json *v = map->items[i];
        if (*end || end == map->keys[i] || id < 0 || (size_t)id >= n || v->type != CE_JSON_STRING)
            return ce_error(CE_ERR_FORMAT, "%s: id2label entry \"%.32s\" is not a label of 0..%zu",
                            source, map->keys[i], n - 1);
        if (!(m->labels[id] = strdup(v->str)))
            return ce_error(CE_ERR_OUT_OF_MEMORY, "labels: out of memory");
    }
    return CE_OK;
}

ce_status ce_model_read_labels(ce_model *m, const ce_json *config, const char *source)
{
    const char *problem = ce_json_get_string(config, "problem_type");
    m->multi_label = problem && !strcmp(problem, "multi_label_classification");
    unsigned heads = ce_model_heads(m);
    ce_head cls = heads & (1u << CE_HEAD_SEQUENCE_CLASSIFICATION) ? CE_HEAD_SEQUENCE_CLASSIFICATION
                                                                  : CE_HEAD_TOKEN_CLASSIFICATION;
    const ce_json *map = ce_json_get(config, "id2label");
    if (!(heads & (3u << CE_HEAD_SEQUENCE_CLASSIFICATION))) {
        /* next-sentence labels when a config names exactly two */
        if (!(heads & (1u << CE_HEAD_NEXT_SENTENCE)) || !map || map->type != CE_JSON_OBJECT ||
            map->n != 2)
            return CE_OK;
        return read_id2label(m, map, 2, source);
    }
    size_t n = m->arch->head_size(m->arch_data, cls);
    bool given = map && map->type != CE_JSON_NULL;
    if (given && (map->type != CE_JSON_OBJECT || map->n != n))
        return ce_error(CE_ERR_FORMAT, "%s: id2label has %zu labels but the classifier has %zu "
                        "outputs", source, map->type == CE_JSON_OBJECT ? map->n : 0, n);
    static const ce_json empty = {.type = CE_JSON_OBJECT};
    ce_status st = read_id2label(m, given ? map : &empty, n, source);
    for (size_t i = 0; st == CE_OK && i < n; i++) { /* Hugging Face's default names */
        char name[32];
        snprintf(name, sizeof name, "LABEL_%zu", i);
        if (!m->labels[i] && !(m->labels[i] = strdup(name)))
            st = ce_error(CE_ERR_OUT_OF_MEMORY, "labels: out of memory");
    }
    return st;
}

/* ---- model queries ---- */

ce_status ce_model_head_size(const ce_model *m, ce_head head, size_t *size)
{
    ce_status st = check_head(m, head, "ce_model_head_size");
    if (st == CE_OK && !size)
        st = ce_error(CE_ERR_INVALID_ARGUMENT, "ce_model_head_size: size is NULL");
    if (st == CE_OK)
        *size = m->arch->head_size(m->arch_data, head);
    return st;
}

const char *ce_model_head_label(const ce_model *m, ce_head head, size_t index)
{
    static const char *const nsp[] = {"is_next", "not_next"}, *const qa[] = {"start", "end"};
    if (!m || (int)head < 0 || (size_t)head >= N_HEADS || !(ce_model_heads(m) & (1u << head)) ||
        head == CE_HEAD_MASKED_LM)
        return NULL;
    size_t n = m->arch->head_size(m->arch_data, head);
    if (index >= n)
        return NULL;
    if (head == CE_HEAD_QUESTION_ANSWERING)
        return qa[index];
    if (index < m->n_labels && m->labels[index])
        return m->labels[index];
    return head == CE_HEAD_NEXT_SENTENCE ? nsp[index] : NULL;
}

/* ---- session output ---- */

static bool per_token(ce_head head)
{
    return head == CE_HEAD_MASKED_LM || head == CE_HEAD_TOKEN_CLASSIFICATION ||
           head == CE_HEAD_QUESTION_ANSWERING;
}

ce_status ce_session_head_shape(const ce_session *s, size_t seq, ce_head head, size_t shape[2],
                                size_t *ndim)
{
    if (!s || !shape || !ndim)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_head_shape: NULL argument");
    ce_status st = check_head(s->model, head, "ce_session_head_shape");
    if (st == CE_OK)
        st = ce_session_check_seq(s, seq, "ce_session_head_shape");
    if (st != CE_OK)
        return st;
    size_t size = s->model->arch->head_size(s->model->arch_data, head);
    if (per_token(head)) {
        shape[0] = s->lengths[seq];
        shape[1] = size;
        *ndim = 2;
    } else {
        shape[0] = size;
        *ndim = 1;
    }
    return CE_OK;
}

ce_status ce_session_head_output(ce_session *s, size_t seq, ce_head head, float *out,
                                 size_t capacity, size_t *count)
{
    if (!count)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_session_head_output: count is NULL");
    size_t shape[2], ndim;
    ce_status st = ce_session_head_shape(s, seq, head, shape, &ndim);
    if (st != CE_OK)
        return st;
    size_t need = ndim == 2 ? shape[0] * shape[1] : shape[0];
    *count = need;
    if (!out || capacity < need)
        return ce_error(CE_ERR_BUFFER_TOO_SMALL,
                        "ce_session_head_output: the result has %zu floats, the buffer holds %zu",
                        need, out ? capacity : 0);
    const ce_model *m = s->model;
    size_t d = (size_t)m->dims.hidden_size, last = (size_t)m->dims.num_output_layers - 1;
    const float *x = s->hidden + (last * s->total + s->starts[seq]) * d;
    ce_session_pick_threads(s);
    return m->arch->head_forward(m->arch_data, s->arch_state, s->backend, head, x, s->lengths[seq],
                                 out);
}
