/**
 * @file options.h
 * @brief Opaque, enum-keyed options for models and sessions (zstd's way).
 *
 * An options object is created, filled with typed setters and passed to
 * ce_model_open() or ce_session_create(), which copy what they need: the object
 * may be freed or reused right after. ce_option_bounds() tells the valid range
 * of an integer option, so bindings never hard-code it.
 *
 * An options object is used by one thread at a time (creating one, and
 * ce_option_bounds(), are thread-safe).
 */
#ifndef CONTEXTEMBED_OPTIONS_H
#define CONTEXTEMBED_OPTIONS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque set of options. */
typedef struct ce_options ce_options;

/** Option keys. Values never change meaning; new keys are appended. */
typedef enum ce_option {
    /** string: compute backend, "auto" (default), "ref", "blis", "onednn" or a registered
     *  name. Given to ce_model_open, the model prepares its weights for it; a session
     *  asking for "auto" uses its model's. */
    CE_OPT_BACKEND = 0,
    /** int: compute threads; 0 (default) = the CPUs the process may use
     *  (sched_getaffinity). More than that is accepted and uses no more; while
     *  other processes keep CPUs busy, a run uses fewer (never less than 1).
     *  The worker threads (an OpenMP pool) sleep while idle and end when the
     *  last session and model are freed: docs/guide.md, "Compute threads while
     *  idle and after free". */
    CE_OPT_THREADS = 1,
    /** int (0/1): cut sequences longer than the model's maximum positions instead of failing
     *  with CE_ERR_TOO_LONG (default 0) */
    CE_OPT_TRUNCATE = 2,
    /** int (0/1), ELMo sessions: carry each batch row's LSTM state from one run to the next,
     *  as AllenNLP and bilm-tf do (default 0: every run starts from zero state) */
    CE_OPT_CARRY_STATE = 3,
    /** int (0/1), ce_model_open: read a sentence-transformers directory's modules
     *  (`modules.json`: pooling, normalisation, max_seq_length, lower-casing) (default 1).
     *  0 opens the Transformer module alone, as a plain checkpoint: the way to use a
     *  directory whose modules the library does not implement (a Dense layer) with a
     *  pooling chosen explicitly. */
    CE_OPT_SENTENCE_MODULES = 4,
    /** int, sessions: what ce_session_run() does with a sequence longer than the model
     *  takes (::ce_long_input). Default CE_LONG_ERROR, or CE_LONG_TRUNCATE when
     *  CE_OPT_TRUNCATE is 1. */
    CE_OPT_LONG_INPUT = 5,
    /** int, sessions: tokens shared by consecutive windows under CE_LONG_WINDOW;
     *  0 (default) = a quarter of the model's maximum length. Must leave each window
     *  some new tokens (checked at run time: CE_ERR_INVALID_ARGUMENT). */
    CE_OPT_WINDOW_STRIDE = 6,
    /** string, ce_model_open: precision of the model's weight products (::ce_precision),
     *  "f32" (default), "bf16" or "int8"; anything else is CE_ERR_INVALID_ARGUMENT when
     *  set. Weights are prepared in it once, when the model is opened, and every session
     *  of the model computes in it (a session may not ask for another). "int8": weights
     *  of the linear layers are quantised to int8 (symmetric, one scale per output and
     *  group of 64 inputs; embedding tables and norms stay float32), activations float32;
     *  aimed at decoding, where reading the weights is the cost. "bf16": weights and the
     *  products' inputs rounded to bf16, float32 sums and everything else float32; it needs
     *  a CPU with AVX512-BF16 or AMX-BF16 ("onednn", or "blis"'s own kernel), except on the
     *  "ref" backend named explicitly (the reference product, any CPU; "auto" never picks
     *  it for bf16). A precision the CPU
     *  or the backend cannot run makes ce_model_open fail with CE_ERR_UNSUPPORTED,
     *  naming what is missing; with the backend "auto", backends that cannot run it are
     *  skipped (never another precision). */
    CE_OPT_PRECISION = 7,
} ce_option;

/** Values of ::CE_OPT_LONG_INPUT. */
typedef enum ce_long_input {
    CE_LONG_ERROR = 0,    /**< fail with CE_ERR_TOO_LONG */
    CE_LONG_TRUNCATE = 1, /**< cut the sequence to the model's maximum */
    /** Encoders: split it into overlapping windows of the model's maximum length
     *  (each with the tokenizer's leading and trailing special tokens when the
     *  sequence has them), run them as sequences of the batch, and give every
     *  token the vector of the window where it has the most context on both
     *  sides (Hugging Face's "max context" rule). The sequence then reads as one:
     *  its full length, pooled over all its tokens. Decoders: CE_ERR_UNSUPPORTED. */
    CE_LONG_WINDOW = 2,
} ce_long_input;

/**
 * @brief Create an options object holding the defaults.
 * On success *out is owned by the caller (free with ce_options_free()); on
 * failure *out is untouched. Thread-safe.
 */
CE_API ce_status ce_options_create(ce_options **out);

/**
 * @brief Free an options object. Accepts NULL.
 * Not thread-safe on the same object: no other thread may use it during or after
 * the call.
 */
CE_API void ce_options_free(ce_options *opts);

/**
 * @brief Set an integer option. CE_ERR_INVALID_ARGUMENT when @p key is not an
 * integer option, CE_ERR_OUT_OF_RANGE when @p value is outside ce_option_bounds().
 * Not thread-safe on the same object: one thread at a time.
 */
CE_API ce_status ce_options_set_int(ce_options *opts, ce_option key, int64_t value);

/**
 * @brief Set a string option (copied). CE_ERR_INVALID_ARGUMENT when @p key is not
 * a string option or @p value is NULL or empty. Backend names are checked when
 * the options are used, since backends can be registered later.
 * Not thread-safe on the same object: one thread at a time.
 */
CE_API ce_status ce_options_set_string(ce_options *opts, ce_option key, const char *value);

/**
 * @brief Read an integer option into *value. Untouched on failure.
 * Not thread-safe on the same object: one thread at a time.
 */
CE_API ce_status ce_options_get_int(const ce_options *opts, ce_option key, int64_t *value);

/**
 * @brief Read a string option. *value is borrowed from @p opts, valid until the
 * option is set again or @p opts is freed.
 * Not thread-safe on the same object: one thread at a time.
 */
CE_API ce_status ce_options_get_string(const ce_options *opts, ce_option key, const char **value);

/**
 * @brief Valid range [*min, *max] of an integer option. CE_ERR_INVALID_ARGUMENT
 * for a string option or an unknown key. Thread-safe.
 */
CE_API ce_status ce_option_bounds(ce_option key, int64_t *min, int64_t *max);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_OPTIONS_H */
