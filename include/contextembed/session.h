/**
 * @file session.h
 * @brief Sessions: run a model on token ids and read per-layer hidden states.
 *
 * A session owns a backend context and scratch memory. It is used by one thread
 * at a time; many sessions may run in parallel on one model. Scratch grows on
 * first use of a larger batch and is reused afterwards. Selections and samplers
 * are used by one thread at a time too (creating them is thread-safe).
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
    CE_POOL_MEAN_SQRT_LEN = 4, /**< sum over the tokens divided by sqrt(number of tokens) */
    CE_POOL_WEIGHTED_MEAN = 5, /**< mean weighted by position: token i (from 0) has weight i + 1 */
    CE_POOL_LAST = 6,          /**< the last token's vector */
    /** The model's own sentence embedding (CE_INFO_POOLING): its modes, concatenated,
     *  and its normalisation unless ce_select_normalize() was called. CE_ERR_UNSUPPORTED
     *  when reading from a model that has none (CE_INFO_POOLING 0). */
    CE_POOL_DEFAULT = 7,
} ce_pool;

/**
 * @brief Create a session on @p model.
 * @param model the model, shared: it is only read and must outlive the session
 * @param opts NULL for the model's defaults; CE_OPT_BACKEND, CE_OPT_THREADS and
 *             CE_OPT_TRUNCATE are read (not kept).
 * @param out  on success a new session owned by the caller (ce_session_free(),
 *             before the model is freed); untouched on failure.
 * @return CE_OK; CE_ERR_NOT_FOUND for an unknown backend name.
 *
 * Thread-safe on a shared const model: any number of threads may create
 * sessions on one model at once, each then using its own.
 */
CE_API ce_status ce_session_create(const ce_model *model, const ce_options *opts,
                                   ce_session **out);

/**
 * @brief Free a session. Accepts NULL.
 * Not thread-safe on the same session: no other thread may use it during or
 * after the call. Other sessions, on the same model too, may run meanwhile.
 */
CE_API void ce_session_free(ce_session *session);

/**
 * @brief Name of the backend the session runs on (static); NULL for NULL.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API const char *ce_session_backend(const ce_session *session);

/**
 * @brief Number of compute threads the session uses; 0 for NULL.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API int ce_session_threads(const ce_session *session);

/**
 * @brief Run the model on a batch of sequences of (possibly) different lengths.
 *
 * The sequences are concatenated in @p ids: sequence s has lengths[s] tokens.
 * @p type_ids is NULL (all 0) or parallel to @p ids; models without token
 * types (GPT-2, CE_INFO_TYPE_VOCAB_SIZE 0) ignore them. Sequences are packed, so
 * no padding is computed and none can leak into results. Results of the
 * previous run are replaced.
 *
 * Errors (the session keeps no results then): CE_ERR_OUT_OF_RANGE for an id
 * outside the vocabulary or a type id outside the model's token types;
 * CE_ERR_TOO_LONG for a sequence longer than the model's maximum positions
 * unless CE_OPT_TRUNCATE was set (then it is cut to that length);
 * CE_ERR_INVALID_ARGUMENT for n_seqs == 0 or an empty sequence;
 * CE_ERR_UNSUPPORTED for models that read words (ELMo: ce_session_run_words()).
 * Not thread-safe on the same session: one thread at a time. Other sessions,
 * on the same model too, may run in parallel.
 */
CE_API ce_status ce_session_run(ce_session *session, size_t n_seqs, const size_t *lengths,
                                const int32_t *ids, const int32_t *type_ids);

/**
 * @brief Tokenize @p n_texts texts with the model's tokenizer and run them as one
 * batch, in one call: the same as ce_tokenizer_encode() of each (@p encode_flags,
 * @p max_length) followed by ce_session_run() (or ce_session_run_words() for
 * models that read words), so results are read the same way. Sequence i is
 * text i. CE_ERR_UNSUPPORTED for a model without a tokenizer; errors of the
 * encoding name the text.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_run_texts(ce_session *session, size_t n_texts,
                                      const char *const *texts, const size_t *text_lens,
                                      uint32_t encode_flags, size_t max_length);

/**
 * @brief Number of sequences of the last successful run; 0 before any.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API size_t ce_session_num_sequences(const ce_session *session);

/**
 * @brief Tokens of sequence @p seq in the last run (after truncation).
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_sequence_length(const ce_session *session, size_t seq,
                                            size_t *length);

/**
 * @brief Create a selection with the defaults: the last layer, one vector per
 * token, not normalised. Owned by the caller (ce_select_free()). Thread-safe;
 * the new selection is then used by one thread at a time.
 */
CE_API ce_status ce_select_create(ce_select **out);

/**
 * @brief Free a selection. Accepts NULL.
 * Not thread-safe on the same selection: no other thread may use it during or after
 * the call.
 */
CE_API void ce_select_free(ce_select *sel);

/**
 * @brief Select layers by index: 0 is the embedding output, i the output of
 * layer i; negative indices count from the end (-1 is the last). @p n == 0
 * selects all layers. Indices are checked against the model when reading.
 * Replaces a previous layer choice or mix.
 * Not thread-safe on the same selection: one thread at a time.
 */
CE_API ce_status ce_select_layers(ce_select *sel, const int32_t *layers, size_t n);

/**
 * @brief Mix all layers as ELMo does: gamma * sum_j softmax(weights)_j * h_j.
 * @p n must equal the model's CE_INFO_NUM_OUTPUT_LAYERS when reading.
 * Replaces a previous layer choice.
 * Not thread-safe on the same selection: one thread at a time.
 */
CE_API ce_status ce_select_mix(ce_select *sel, const float *weights, size_t n, float gamma);

/**
 * @brief Pool each selected layer (or the mix) over the tokens of a sequence.
 * Not thread-safe on the same selection: one thread at a time.
 */
CE_API ce_status ce_select_pool(ce_select *sel, ce_pool pool);

/**
 * @brief When @p enable is non-zero, scale every output vector to unit L2 norm.
 * Without a call: not normalised, except with ::CE_POOL_DEFAULT on a model whose
 * own sentence embedding is (CE_INFO_NORMALIZE 1).
 * Not thread-safe on the same selection: one thread at a time.
 */
CE_API ce_status ce_select_normalize(ce_select *sel, int enable);

/**
 * @brief Shape of what ce_session_output() writes for sequence @p seq.
 *
 * Without pooling: [L, T, D] (ndim 3; L = 1 for a mix). With pooling: [D]
 * (ndim 1) for one layer or a mix, [L, D] (ndim 2) for several layers; with
 * ::CE_POOL_DEFAULT, D is the hidden size times the number of pooling modes.
 * @p shape receives *ndim values (capacity 3). @p sel NULL means the defaults.
 * Not thread-safe on the same session: one thread at a time, and the same
 * holds for @p sel.
 */
CE_API ce_status ce_session_output_shape(const ce_session *session, size_t seq,
                                         const ce_select *sel, size_t shape[3], size_t *ndim);

/**
 * @brief Write the selected hidden states of sequence @p seq to @p out, row-major.
 *
 * @p capacity is in floats. *count receives the number of floats the result
 * has; when @p out is NULL or @p capacity is smaller, CE_ERR_BUFFER_TOO_SMALL is
 * returned and nothing but *count is written. On other failures nothing is
 * written. CE_ERR_STATE before a successful run.
 * Not thread-safe on the same session: one thread at a time, and the same
 * holds for @p sel.
 */
CE_API ce_status ce_session_output(const ce_session *session, size_t seq, const ce_select *sel,
                                   float *out, size_t capacity, size_t *count);

/**
 * @brief Write the pooled output of every sequence of the last run, one after
 * another: [n, D] for one layer or a mix, [n, L, D] for several layers
 * (D as in ce_session_output_shape()). The selection must pool
 * (CE_ERR_INVALID_ARGUMENT otherwise: token outputs differ in length per
 * sequence). Buffer rules as ce_session_output().
 * Not thread-safe on the same session: one thread at a time, and the same
 * holds for @p sel.
 */
CE_API ce_status ce_session_output_all(const ce_session *session, const ce_select *sel, float *out,
                                       size_t capacity, size_t *count);

/* ---- task heads (see ::ce_head) ---- */

/**
 * @brief Shape of what ce_session_head_output() writes for sequence @p seq:
 * [T, size] (ndim 2) for the per-token heads (masked LM, token classification,
 * question answering), [size] (ndim 1) for the per-sequence ones, size as
 * ce_model_head_size(). Errors as ce_session_head_output().
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_head_shape(const ce_session *session, size_t seq, ce_head head,
                                       size_t shape[2], size_t *ndim);

/**
 * @brief Run @p head on sequence @p seq of the last ce_session_run() and write
 * its raw logits to @p out, row-major (shape as ce_session_head_shape()).
 *
 * Buffer rules as ce_session_output(): *count gets the float count,
 * CE_ERR_BUFFER_TOO_SMALL (nothing else written) when @p out is NULL or
 * @p capacity too small. CE_ERR_NOT_FOUND when the model has no such head (the
 * message lists those it has); CE_ERR_STATE before a successful run;
 * CE_ERR_OUT_OF_RANGE for a bad @p seq. The per-sequence heads read the first
 * token (`[CLS]` / `<s>`). Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_head_output(ce_session *session, size_t seq, ce_head head, float *out,
                                        size_t capacity, size_t *count);

/* ---- incremental decoding (decoder models such as GPT-2) ---- */

/** Flags of ce_session_append(). */
typedef enum ce_append_flags {
    /** keep the logits of every appended position, not only of the last one */
    CE_APPEND_ALL_LOGITS = 1u << 0,
} ce_append_flags;

/**
 * @brief Append tokens to the session's context and compute their logits.
 *
 * The KV cache keeps the context between calls: a prompt can be appended at
 * once, then one token at a time. After the call, ce_session_logits() gives the
 * next-token logits of the last appended position (or of every appended
 * position with ::CE_APPEND_ALL_LOGITS). On failure the context is unchanged.
 * CE_ERR_UNSUPPORTED for models that are not decoders; CE_ERR_OUT_OF_RANGE for
 * an id outside the vocabulary; CE_ERR_TOO_LONG when the context would exceed
 * the model's maximum positions; CE_ERR_INVALID_ARGUMENT for n == 0.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_append(ce_session *session, const int32_t *ids, size_t n,
                                   uint32_t flags);

/**
 * @brief Tokens in the session's context (0 for NULL or a fresh session).
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API size_t ce_session_context_length(const ce_session *session);

/**
 * @brief Rows of logits the last ce_session_append() kept (1, or the number of
 * appended tokens with ::CE_APPEND_ALL_LOGITS); 0 when there are none.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API size_t ce_session_logits_rows(const ce_session *session);

/**
 * @brief Copy the logits of the last ce_session_append() to @p out:
 * [rows, vocab_size] row-major, rows as ce_session_logits_rows().
 * Buffer rules as ce_session_output(): *count gets the float count,
 * CE_ERR_BUFFER_TOO_SMALL when @p out is NULL or too small. CE_ERR_STATE when
 * there are no logits (nothing appended, or rewound since).
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_logits(const ce_session *session, float *out, size_t capacity,
                                   size_t *count);

/**
 * @brief Shorten the context to its first @p length tokens (the KV cache is
 * kept up to there). Logits of the last append are dropped.
 * CE_ERR_OUT_OF_RANGE when @p length exceeds the context length.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_rewind(ce_session *session, size_t length);

/**
 * @brief Make @p dst continue exactly where @p src is: its context, KV cache and
 * last logits (prompt caching, beam search). Both sessions must be on the same
 * model; CE_ERR_INVALID_ARGUMENT otherwise. @p dst keeps its own backend and
 * threads. @p src is only read. On failure @p dst is unchanged.
 * Not thread-safe on the same sessions: no other thread may use @p dst or
 * @p src during the call.
 */
CE_API ce_status ce_session_copy_state(ce_session *dst, const ce_session *src);

/* ---- words in (ELMo) ---- */

/**
 * @brief Run a batch of sentences given as words, for models that read words
 * (ELMo). Word w (counting across all sentences) is the UTF-8 bytes
 * text[offsets[2w], offsets[2w+1]); sentence s has n_words[s] words, in order.
 * Offsets are what ce_tokenizer_encode() reports, so a whitespace-tokenised
 * text can be passed as it is, and pre-tokenised words by concatenating them.
 * Results are read with ce_session_output() as after ce_session_run(): one
 * vector per word (sentence boundaries are not reported).
 * CE_ERR_UNSUPPORTED for models that read token ids; CE_ERR_INVALID_UTF8,
 * CE_ERR_INVALID_ARGUMENT for an empty sentence or offsets outside the text.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_run_words(ce_session *session, size_t n_seqs, const size_t *n_words,
                                      const char *text, size_t text_len, const size_t *offsets);

/**
 * @brief Clear carried recurrent state (see ::CE_OPT_CARRY_STATE) so the next
 * run starts from zero state. No effect for models without state.
 * Not thread-safe on the same session: one thread at a time.
 */
CE_API ce_status ce_session_reset_state(ce_session *session);

/**
 * @brief Normalise each layer over the sequence's tokens before mixing
 * (AllenNLP's ScalarMix with do_layer_norm). Only affects ce_select_mix().
 * Not thread-safe on the same selection: one thread at a time.
 */
CE_API ce_status ce_select_mix_layer_norm(ce_select *sel, int enable);

/* ---- sampling (generation helpers) ---- */

/** An opaque next-token sampler with its own random state. */
typedef struct ce_sampler ce_sampler;

/**
 * @brief Create a sampler: temperature 1, no top-k, no top-p, seeded with @p seed.
 * Owned by the caller (ce_sampler_free()). Thread-safe; the new sampler is
 * then used by one thread at a time.
 */
CE_API ce_status ce_sampler_create(uint64_t seed, ce_sampler **out);

/**
 * @brief Free a sampler. Accepts NULL.
 * Not thread-safe on the same sampler: no other thread may use it during or after
 * the call.
 */
CE_API void ce_sampler_free(ce_sampler *sampler);

/**
 * @brief Set the sampling parameters. @p temperature 0 means greedy (argmax);
 * @p top_k 0 means no limit; @p top_p 1 means no nucleus cut.
 * CE_ERR_OUT_OF_RANGE for temperature < 0, top_k < 0, top_p outside (0, 1].
 * Not thread-safe on the same sampler: one thread at a time.
 */
CE_API ce_status ce_sampler_configure(ce_sampler *sampler, float temperature, int32_t top_k,
                                      float top_p);

/**
 * @brief Draw a token id from @p n logits (one row of ce_session_logits()).
 * Greedy picks the lowest index among equal maxima. Deterministic for a seed.
 * Not thread-safe on the same sampler: one thread at a time.
 */
CE_API ce_status ce_sampler_sample(ce_sampler *sampler, const float *logits, size_t n,
                                   int32_t *id);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_SESSION_H */
