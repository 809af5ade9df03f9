/**
 * @file session.h
 * @brief Sessions: run a model on token ids and read per-layer hidden states.
 *
 * A session owns a backend context and scratch memory. It is used by one thread
 * at a time; many sessions may run in parallel on one model. Scratch grows on
 * first use of a larger batch and is reused afterwards.
 */
#ifndef CONTEXTEMBED_SESSION_H
#define CONTEXTEMBED_SESSION_H

#include "common.h"
#include "model.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque session: one thread at a time. */
typedef struct ce_session ce_session;
/** An opaque description of what to read out of a session (layers, mix, pooling). */
typedef struct ce_select ce_select;

/** Pooling of the token vectors of one sequence into one vector. */
typedef enum ce_pool {
    CE_POOL_NONE = 0, /**< one vector per token */
    CE_POOL_CLS = 1,  /**< the first token's vector ([CLS] for BERT) */
    CE_POOL_MEAN = 2, /**< mean over the sequence's tokens (padding never counts) */
    CE_POOL_MAX = 3,  /**< element-wise max over the sequence's tokens */
} ce_pool;

/**
 * @brief Create a session on @p model.
 * @param opts NULL for the model's defaults; CE_OPT_BACKEND, CE_OPT_THREADS and
 *             CE_OPT_TRUNCATE are read.
 * @param out  on success a new session owned by the caller (ce_session_free(),
 *             before the model is freed); untouched on failure.
 * CE_ERR_NOT_FOUND for an unknown backend name. Thread-safe.
 */
CE_API ce_status ce_session_create(const ce_model *model, const ce_options *opts,
                                   ce_session **out);

/** @brief Free a session. Accepts NULL. */
CE_API void ce_session_free(ce_session *session);

/** @brief Name of the backend the session runs on (static); NULL for NULL. */
CE_API const char *ce_session_backend(const ce_session *session);

/** @brief Number of compute threads the session uses; 0 for NULL. */
CE_API int ce_session_threads(const ce_session *session);

/**
 * @brief Run the model on a batch of sequences of (possibly) different lengths.
 *
 * The sequences are concatenated in @p ids: sequence s has lengths[s] tokens.
 * @p type_ids is NULL (all 0) or parallel to @p ids. Sequences are packed, so
 * no padding is computed and none can leak into results. Results of the
 * previous run are replaced.
 *
 * Errors (the session keeps no results then): CE_ERR_OUT_OF_RANGE for an id
 * outside the vocabulary or a type id outside the model's token types;
 * CE_ERR_TOO_LONG for a sequence longer than the model's maximum positions
 * unless CE_OPT_TRUNCATE was set (then it is cut to that length);
 * CE_ERR_INVALID_ARGUMENT for n_seqs == 0 or an empty sequence.
 * Not thread-safe on one session.
 */
CE_API ce_status ce_session_run(ce_session *session, size_t n_seqs, const size_t *lengths,
                                const int32_t *ids, const int32_t *type_ids);

/** @brief Number of sequences of the last successful run; 0 before any. */
CE_API size_t ce_session_num_sequences(const ce_session *session);

/** @brief Tokens of sequence @p seq in the last run (after truncation). */
CE_API ce_status ce_session_sequence_length(const ce_session *session, size_t seq,
                                            size_t *length);

/**
 * @brief Create a selection with the defaults: the last layer, one vector per
 * token, not normalised. Owned by the caller (ce_select_free()).
 */
CE_API ce_status ce_select_create(ce_select **out);

/** @brief Free a selection. Accepts NULL. */
CE_API void ce_select_free(ce_select *sel);

/**
 * @brief Select layers by index: 0 is the embedding output, i the output of
 * layer i; negative indices count from the end (-1 is the last). @p n == 0
 * selects all layers. Indices are checked against the model when reading.
 * Replaces a previous layer choice or mix.
 */
CE_API ce_status ce_select_layers(ce_select *sel, const int32_t *layers, size_t n);

/**
 * @brief Mix all layers as ELMo does: gamma * sum_j softmax(weights)_j * h_j.
 * @p n must equal the model's CE_INFO_NUM_OUTPUT_LAYERS when reading.
 * Replaces a previous layer choice.
 */
CE_API ce_status ce_select_mix(ce_select *sel, const float *weights, size_t n, float gamma);

/** @brief Pool each selected layer (or the mix) over the tokens of a sequence. */
CE_API ce_status ce_select_pool(ce_select *sel, ce_pool pool);

/** @brief When @p enable is non-zero, scale every output vector to unit L2 norm. */
CE_API ce_status ce_select_normalize(ce_select *sel, int enable);

/**
 * @brief Shape of what ce_session_output() writes for sequence @p seq.
 *
 * Without pooling: [L, T, D] (ndim 3; L = 1 for a mix). With pooling: [D]
 * (ndim 1) for one layer or a mix, [L, D] (ndim 2) for several layers.
 * @p shape receives *ndim values (capacity 3). @p sel NULL means the defaults.
 */
CE_API ce_status ce_session_output_shape(const ce_session *session, size_t seq,
                                         const ce_select *sel, size_t shape[3], size_t *ndim);

/**
 * @brief Write the selected hidden states of sequence @p seq to @p out, row-major.
 *
 * @p capacity is in floats. *count receives the number of floats the result
 * has; when @p out is NULL or @p capacity is smaller, CE_ERR_BUFFER_TOO_SMALL is
 * returned and nothing but *count is written. On other failures nothing is
 * written. CE_ERR_STATE before a successful run. Not thread-safe on one session.
 */
CE_API ce_status ce_session_output(const ce_session *session, size_t seq, const ce_select *sel,
                                   float *out, size_t capacity, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_SESSION_H */
