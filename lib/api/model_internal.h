/* Internal: the fields behind the opaque ce_model and ce_session. */
#ifndef CE_API_MODEL_INTERNAL_H
#define CE_API_MODEL_INTERNAL_H

#include "api/options_internal.h"
#include "api/select_internal.h"
#include "architectures/arch.h"
#include "contextembed/session.h"

struct ce_model {
    const ce_arch_ops *arch;
    void *arch_data;
    ce_model_dims dims;
    ce_weights *weights;    /* NULL for random models */
    ce_tokenizer *tokenizer; /* NULL when the directory has none */
    ce_settings settings;   /* defaults of sessions; backend resolved to a name */
    ce_backend_model *backend; /* the backend the model was opened with: prepared weights */
    ce_model_pooling pooling;  /* sentence-transformers modules, zero otherwise */
    char **labels;             /* classification (or next-sentence) label names */
    size_t n_labels;
    int multi_label;           /* problem_type multi_label_classification */
};

/* Sliding windows' own packed batch (CE_LONG_WINDOW), grown on demand. */
typedef struct ce_session_windows {
    int32_t *ids, *types;
    size_t *lengths, *starts;
    float *hidden; /* [num_output_layers][tokens][hidden_size] of the windows */
    size_t cap_tokens, cap_seqs;
} ce_session_windows;

struct ce_session {
    const ce_model *model;
    ce_backend *backend;
    int64_t threads_checked_ns; /* when ce_session_pick_threads last read /proc */
    void *arch_state;
    ce_settings settings;
    /* last run */
    int has_results;
    size_t n_seqs, cap_seqs;
    size_t *lengths, *starts;
    size_t total, cap_total;
    int32_t *ids, *type_ids;
    float *hidden; /* [num_output_layers][total][hidden_size] */
    /* incremental decoding: logits of the last append */
    float *logits;
    size_t logits_rows, cap_logits_rows;
    size_t cap_hidden;
    ce_session_windows win;
};

/* Grow the session's per-run buffers (sequences, ids, hidden states) to
 * @p n_seqs sequences of @p total tokens; they only grow, so steady state
 * allocates nothing. Shared by ce_session_run and ce_session_run_words. */
ce_status ce_session_reserve(ce_session *s, size_t n_seqs, size_t total);

/* Run the sequences packed in @p s (lengths, starts, ids, type ids; @p total
 * tokens) as sliding windows, into s->hidden laid out as for a plain run. */
ce_status ce_session_run_windows(ce_session *s, size_t n_seqs, size_t total);

/* CE_OK when @p s has results and @p seq is one of them; else the error, for @p fn. */
ce_status ce_session_check_seq(const ce_session *s, size_t seq, const char *fn);

/* The task heads of @p m (bits 1 << ce_head). */
unsigned ce_model_heads(const ce_model *m);

/* Label names from the config (id2label, problem_type), for the heads the
 * family found; LABEL_i where the config names none. */
ce_status ce_model_read_labels(ce_model *m, const ce_json *config, const char *source);
void ce_model_labels_free(ce_model *m);

/* Before a computation: as many of the session's threads as the CPUs that
 * other processes leave free (see ce_cpus_free_for). */
void ce_session_pick_threads(ce_session *s);

#endif
