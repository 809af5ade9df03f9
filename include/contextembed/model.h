/**
 * @file model.h
 * @brief Models: open a checkpoint directory, query its shape.
 *
 * A model is immutable once open. Any number of threads and sessions may use
 * one model at once; free it only after every session on it is freed.
 */
#ifndef CONTEXTEMBED_MODEL_H
#define CONTEXTEMBED_MODEL_H

#include "common.h"
#include "options.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque, immutable, thread-safe model. */
typedef struct ce_model ce_model;

/**
 * @brief Open a model directory.
 *
 * @p path is a Hugging Face checkpoint directory: `config.json` (its
 * `model_type` picks the architecture), `model.safetensors` or shards listed in
 * `model.safetensors.index.json`, and a tokenizer (`tokenizer.json`, else
 * `vocab.txt`). Weights are memory-mapped read-only when their dtype (F32) and
 * alignment allow, otherwise converted to float32 once here. Every tensor the
 * config implies is checked for presence, shape and dtype.
 *
 * @param path the model directory (a NUL-terminated path)
 * @param opts may be NULL (defaults); CE_OPT_BACKEND / CE_OPT_THREADS set here
 *             become the defaults of sessions created on the model. Only read,
 *             and not kept: it may be freed or reused right after.
 * @param out  on success a new model owned by the caller (ce_model_free());
 *             untouched on failure, when ce_last_error() names the file, the
 *             tensor and what was expected.
 * @return CE_OK, or the error (see ::ce_status).
 *
 * Thread-safe: any number of threads may open models at once, the same
 * directory included.
 */
CE_API ce_status ce_model_open(const char *path, const ce_options *opts, ce_model **out);

/**
 * @brief Create a model with random weights from a config.json text, without
 * any file (for benchmarks and tests). Weights are drawn from a fixed-seed
 * generator (normal, std 0.02, as Hugging Face initialises). The model has no
 * tokenizer. Ownership as for ce_model_open(). Thread-safe.
 */
CE_API ce_status ce_model_open_random(const char *config_json, size_t config_len, uint64_t seed,
                                      const ce_options *opts, ce_model **out);

/**
 * @brief Free a model. Accepts NULL. No session on it may remain.
 *
 * Not thread-safe on the same model: no other thread may use @p model, its
 * tokenizer (ce_model_tokenizer()) or anything borrowed from it during or after
 * the call. Other models may be opened, used and freed on other threads.
 */
CE_API void ce_model_free(ce_model *model);

/** Integer facts about a model, for ce_model_get_info(). */
typedef enum ce_model_info {
    CE_INFO_NUM_LAYERS = 0,        /**< transformer / LSTM layers */
    CE_INFO_HIDDEN_SIZE = 1,       /**< width of each output vector */
    CE_INFO_NUM_HEADS = 2,         /**< attention heads (0 when none) */
    CE_INFO_VOCAB_SIZE = 3,        /**< rows of the token embedding */
    CE_INFO_MAX_POSITIONS = 4,     /**< longest sequence, special tokens included */
    CE_INFO_NUM_OUTPUT_LAYERS = 5, /**< selectable layers: embedding output + each layer */
    CE_INFO_INTERMEDIATE_SIZE = 6, /**< feed-forward width */
    CE_INFO_TYPE_VOCAB_SIZE = 7,   /**< token types (0 when none) */
    CE_INFO_PARAMETERS = 8,        /**< number of weights */
    CE_INFO_WEIGHT_BYTES = 9,      /**< bytes of float32 weights in use */
    CE_INFO_CAPABILITIES = 10,     /**< what the model can do: a bitmask of ::ce_capability */
    /** The model's own sentence pooling (a sentence-transformers directory's
     *  `1_Pooling`): a bitmask of `1 << mode` over ::ce_pool modes; 0 when the model
     *  has none. Several modes are concatenated as sentence-transformers does:
     *  cls, max, mean, mean_sqrt_len, weighted_mean, last. Used by ::CE_POOL_DEFAULT. */
    CE_INFO_POOLING = 11,
    /** 1 when the model's own sentence embedding is L2-normalised (`Normalize` module) */
    CE_INFO_NORMALIZE = 12,
    /** Longest input, special tokens included, that the model's own pipeline takes:
     *  sentence-transformers' `max_seq_length`, else CE_INFO_MAX_POSITIONS. Pass it to
     *  ce_tokenizer_encode() as max_length to tokenize as that pipeline does. */
    CE_INFO_MAX_SEQ_LENGTH = 13,
    /** The task heads the checkpoint carries: a bitmask of `1 << head` over ::ce_head
     *  (0 for a bare encoder). */
    CE_INFO_HEADS = 14,
    /** 1 when the config's problem_type is "multi_label_classification": sequence
     *  classification labels are independent (sigmoid), not exclusive (softmax). */
    CE_INFO_MULTI_LABEL = 15,
    /** the precision its weight products run in (a ::ce_precision, ::CE_OPT_PRECISION) */
    CE_INFO_PRECISION = 16,
} ce_model_info;

/**
 * Output heads of task checkpoints, read with ce_session_head_output(). The
 * head definitions are Hugging Face's for each family. New values are appended.
 */
typedef enum ce_head {
    /** per token, [T, vocab]: the word at each position (BertForMaskedLM,
     *  BertForPreTraining, RobertaForMaskedLM, DistilBertForMaskedLM) */
    CE_HEAD_MASKED_LM = 0,
    /** per sequence, [2]: index 0 = B follows A, 1 = it does not
     *  (BertForNextSentencePrediction, BertForPreTraining) */
    CE_HEAD_NEXT_SENTENCE = 1,
    /** per sequence, [labels] (*ForSequenceClassification, cross-encoder rerankers) */
    CE_HEAD_SEQUENCE_CLASSIFICATION = 2,
    /** per token, [T, labels] (*ForTokenClassification) */
    CE_HEAD_TOKEN_CLASSIFICATION = 3,
    /** per token, [T, 2]: answer start and end logits (*ForQuestionAnswering) */
    CE_HEAD_QUESTION_ANSWERING = 4,
} ce_head;

/** Bits of CE_INFO_CAPABILITIES. New bits are appended; test bits, never compare the whole value. */
typedef enum ce_capability {
    CE_CAP_TOKEN_IDS = 1 << 0,        /**< reads token ids: ce_session_run() */
    CE_CAP_WORDS = 1 << 1,            /**< reads words: ce_session_run_words() (ELMo) */
    CE_CAP_DECODER = 1 << 2,          /**< next-token logits: ce_session_append() (GPT-2) */
    CE_CAP_BIDIRECTIONAL = 1 << 3,    /**< every token's vector sees the whole input (encoders, ELMo) */
    CE_CAP_TOKEN_TYPES = 1 << 4,      /**< uses token type ids: a pair's second text is segment 1 */
    CE_CAP_CARRY_STATE = 1 << 5,      /**< has recurrent state a session can carry (::CE_OPT_CARRY_STATE) */
    CE_CAP_SENTENCE_POOLING = 1 << 6, /**< has its own sentence pooling (::CE_POOL_DEFAULT) */
} ce_capability;

/**
 * @brief Read one integer fact into *value (untouched on failure).
 * CE_ERR_INVALID_ARGUMENT for an unknown key. Thread-safe.
 */
CE_API ce_status ce_model_get_info(const ce_model *model, ce_model_info key, int64_t *value);

/**
 * @brief Architecture name ("bert", "roberta", ...), static string; NULL for NULL.
 * Thread-safe.
 */
CE_API const char *ce_model_architecture(const ce_model *model);

/**
 * @brief Outputs per row of @p head: the vocabulary size (masked LM), 2 (next
 * sentence, question answering) or the number of labels (classification).
 * CE_ERR_NOT_FOUND when the model has no such head, the message listing the
 * heads it has; CE_ERR_INVALID_ARGUMENT for an unknown head. Thread-safe.
 */
CE_API ce_status ce_model_head_size(const ce_model *model, ce_head head, size_t *size);

/**
 * @brief Name of output @p index of @p head: the config's id2label entry (or
 * "LABEL_<index>" when it has none, as Hugging Face names them) for the
 * classification heads; "is_next" / "not_next" for next-sentence prediction
 * unless the config names them; "start" / "end" for question answering; NULL for
 * the masked LM (ce_tokenizer_id_to_token() names its outputs), for a head the
 * model lacks, or past the last. Borrowed, valid until ce_model_free(). Thread-safe.
 */
CE_API const char *ce_model_head_label(const ce_model *model, ce_head head, size_t index);

/**
 * @brief Name of the @p index-th architecture the library can open ("bert",
 * "roberta", "distilbert", "gpt2", "elmo", ...: config.json `model_type` values),
 * a static string; NULL when @p index is past the last. Thread-safe.
 */
CE_API const char *ce_architecture_name(size_t index);

/**
 * @brief The model's tokenizer, borrowed: valid until ce_model_free(). NULL
 * when the model has none (ce_model_open_random()) or @p model is NULL.
 * Thread-safe, and so is the tokenizer (see tokenizer.h).
 */
CE_API const ce_tokenizer *ce_model_tokenizer(const ce_model *model);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_MODEL_H */
