/* Internal: the table every model family implements (bert.c, roberta.c,
 * distilbert.c, gpt2.c, elmo.c).
 *
 * Chosen once when a model is opened, so adding a family is adding a file and
 * one line in arch_registry.c: what a model can do (ce_model_info's
 * CE_INFO_CAPABILITIES) follows from which members are set here, never from the
 * family's name. docs/extending.md walks through it. */
#ifndef CE_ARCH_H
#define CE_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "architectures/layers.h"
#include "backends/backend_internal.h"
#include "contextembed/model.h"
#include "io/json.h"
#include "io/weights.h"

/* Shape facts every family reports (see ce_model_info). */
typedef struct ce_model_dims {
    int64_t num_layers;
    int64_t hidden_size;
    int64_t num_heads;
    int64_t vocab_size;
    int64_t max_positions;
    int64_t num_output_layers;
    int64_t intermediate_size;
    int64_t type_vocab_size;
    int64_t parameters;
    int64_t weight_bytes;
} ce_model_dims;

/* A packed batch: sequence s holds tokens [starts[s], starts[s] + lengths[s]) of ids/type_ids. */
typedef struct ce_batch {
    size_t n_seqs;
    const size_t *lengths;
    const size_t *starts;
    size_t total;
    size_t max_length;
    const int32_t *ids;
    const int32_t *type_ids; /* never NULL here: the API supplies zeros */
} ce_batch;

typedef struct ce_arch_ops {
    const char *name; /* config.json model_type */
    /* Hugging Face class names start with it ("Bert" for BertForMaskedLM): the
     * family of a config without model_type, from its "architectures"; NULL when none */
    const char *class_prefix;
    /* CE_CAP_* bits not implied by the members below (CE_CAP_BIDIRECTIONAL) */
    unsigned caps;
    /* Parse @p config and bind weights from @p w; when @p w is NULL, draw random
     * weights from @p seed instead. @p source names the config in messages. */
    ce_status (*load)(const ce_json *config, const char *source, ce_weights *w, uint64_t seed,
                      void **model_data, ce_model_dims *dims);
    void (*free)(void *model_data);
    /* Every constant weight the family multiplies by (prepared by the model's
     * backend once the model is loaded); the list belongs to model_data. */
    ce_lin_list *(*linears)(void *model_data);
    /* Per-session state (scratch). */
    ce_status (*session_create)(const void *model_data, void **state);
    void (*session_free)(void *state);
    /* Run the batch; write every layer's hidden states to @p hidden laid out
     * [num_output_layers][batch->total][hidden_size]. NULL for families that
     * read words instead of token ids (forward_words). */
    ce_status (*forward)(const void *model_data, void *state, ce_backend *be, const ce_batch *batch,
                         float *hidden);

    /* ---- decoders (NULL when the family is not one) ---- */
    /* Append n tokens at the end of the context; write logits of the last
     * position, or of all n when all_logits, to @p logits ([rows, vocab]). */
    ce_status (*append)(const void *model_data, void *state, ce_backend *be, const int32_t *ids,
                        size_t n, int all_logits, float *logits);
    size_t (*context_length)(const void *state);
    void (*rewind)(void *state, size_t length);
    ce_status (*copy_state)(const void *model_data, void *dst, const void *src);

    /* ---- word readers (ELMo; NULL otherwise) ---- */
    /* Like forward, from words: word w of the packed batch is
     * text[offsets[2w], offsets[2w+1]); batch->ids/type_ids are NULL and
     * batch->lengths count words. */
    ce_status (*forward_words)(const void *model_data, void *state, ce_backend *be,
                               const ce_batch *batch, const char *text, const size_t *offsets,
                               int carry_state, float *hidden);
    void (*reset_state)(void *state);

    /* ---- task heads (NULL when the family has none) ---- */
    unsigned (*heads)(const void *model_data); /* bits 1 << ce_head */
    size_t (*head_size)(const void *model_data, ce_head head);
    /* @p head on one sequence's last-layer rows x [tokens, hidden] of the
     * session's last run (its scratch in @p state is free again); out is
     * [tokens, size] for per-token heads, [size] for per-sequence ones */
    ce_status (*head_forward)(const void *model_data, void *state, ce_backend *be, ce_head head,
                              const float *x, size_t tokens, float *out);
} ce_arch_ops;

/* The family named by a config's model_type, or NULL. */
const ce_arch_ops *ce_arch_find(const char *model_type);

/* The family of a Hugging Face class name ("RobertaForMaskedLM"), or NULL:
 * the longest class_prefix that starts it. */
const ce_arch_ops *ce_arch_find_class(const char *class_name);

/* The i-th family of the table, NULL past the end. */
const ce_arch_ops *ce_arch_at(size_t i);

/* "bert, roberta, ..." into buf (for messages). */
void ce_arch_list(char *buf, size_t size);

/* What a model of family @p arch with @p dims can do: CE_CAP_* bits. */
unsigned ce_arch_caps(const ce_arch_ops *arch, const ce_model_dims *dims);

extern const ce_arch_ops ce_arch_bert;
extern const ce_arch_ops ce_arch_roberta;
extern const ce_arch_ops ce_arch_distilbert;
extern const ce_arch_ops ce_arch_gpt2;

#endif
