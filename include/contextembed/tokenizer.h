/**
 * @file tokenizer.h
 * @brief Tokenizers: text to token ids with byte offsets, and back.
 *
 * A tokenizer is immutable once opened and safe to use from any number of
 * threads at once. Encodings are plain result objects owned by the caller,
 * never changed after they are made: any number of threads may read one, and
 * it is freed once none does. A streaming decoder is used by one thread at a
 * time.
 */
#ifndef CONTEXTEMBED_TOKENIZER_H
#define CONTEXTEMBED_TOKENIZER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque, immutable, thread-safe tokenizer. */
typedef struct ce_tokenizer ce_tokenizer;
/** An opaque encoding: ids, token types, offsets of one text or text pair. */
typedef struct ce_encoding ce_encoding;

/** Flags of ce_tokenizer_encode(), OR-ed together. */
typedef enum ce_encode_flags {
    /** add the model's special tokens ([CLS] A [SEP] (B [SEP]) for BERT) */
    CE_ENCODE_ADD_SPECIAL = 1u << 0,
    /** treat special-token strings in the text ("[MASK]", ...) as plain text;
     *  by default they are recognised as Hugging Face does */
    CE_ENCODE_SPECIAL_AS_TEXT = 1u << 1,
} ce_encode_flags;

/** Special token roles for ce_tokenizer_special_id(). */
typedef enum ce_special_token {
    CE_SPECIAL_UNK = 0,
    CE_SPECIAL_CLS = 1,
    CE_SPECIAL_SEP = 2,
    CE_SPECIAL_PAD = 3,
    CE_SPECIAL_MASK = 4,
    CE_SPECIAL_BOS = 5,
    CE_SPECIAL_EOS = 6,
} ce_special_token;

/**
 * @brief Open a tokenizer from a file (tokenizer.json, vocab.txt, vocab.json)
 * or from a model directory (tokenizer.json, else vocab.txt +
 * tokenizer_config.json for WordPiece, else vocab.json + merges.txt for
 * byte-level BPE).
 * On success *out is owned by the caller (ce_tokenizer_free()); on failure
 * *out is untouched and ce_last_error() names the file and the problem.
 * Thread-safe.
 */
CE_API ce_status ce_tokenizer_open(const char *path, ce_tokenizer **out);

/**
 * @brief Free a tokenizer. Accepts NULL. Decoders made on it must be freed first.
 * Not thread-safe on the same tokenizer: no other thread may use it during or
 * after the call. Encodings made with it stay valid.
 */
CE_API void ce_tokenizer_free(ce_tokenizer *tok);

/**
 * @brief Kind of tokenizer ("wordpiece", ...), static string; NULL for NULL.
 * Thread-safe.
 */
CE_API const char *ce_tokenizer_kind(const ce_tokenizer *tok);

/** @brief Number of ids (vocabulary plus added tokens); 0 for NULL. Thread-safe. */
CE_API size_t ce_tokenizer_vocab_size(const ce_tokenizer *tok);

/**
 * @brief Encode UTF-8 text, optionally a text pair.
 *
 * @param tok       the tokenizer
 * @param text      UTF-8 bytes, @p text_len of them (may hold NUL); NULL only when text_len is 0
 * @param text_len  bytes of @p text
 * @param pair      second text of a pair, or NULL; its tokens get token type 1
 * @param pair_len  bytes of @p pair (ignored when @p pair is NULL)
 * @param flags     ::ce_encode_flags
 * @param max_length 0 for no limit; otherwise the encoding (special tokens included)
 *                  is truncated to at most this many tokens, longest sequence first,
 *                  as Hugging Face's "longest_first" strategy does
 * @param out       on success, a new encoding owned by the caller (ce_encoding_free());
 *                  untouched on failure
 * @return CE_ERR_INVALID_UTF8 (with the byte offset in ce_last_error()) for invalid UTF-8.
 * Thread-safe: any number of threads may encode with one tokenizer.
 */
CE_API ce_status ce_tokenizer_encode(const ce_tokenizer *tok, const char *text, size_t text_len,
                                     const char *pair, size_t pair_len, uint32_t flags,
                                     size_t max_length, ce_encoding **out);

/**
 * @brief Encode @p n_texts texts (each with its pair when @p pairs is not NULL)
 * in one call, into one encoding that holds them one after another:
 * ce_encoding_num_texts() and ce_encoding_text_starts() tell where each begins.
 * Each text is encoded exactly as ce_tokenizer_encode() would (offsets are
 * into its own text). On failure nothing is returned and ce_last_error() names
 * the text ("text 12: ..."). Thread-safe.
 */
CE_API ce_status ce_tokenizer_encode_batch(const ce_tokenizer *tok, size_t n_texts,
                                           const char *const *texts, const size_t *text_lens,
                                           const char *const *pairs, const size_t *pair_lens,
                                           uint32_t flags, size_t max_length, ce_encoding **out);

/**
 * @brief Texts an encoding holds: 1 from ce_tokenizer_encode(); 0 for NULL.
 * Thread-safe on a shared const encoding.
 */
CE_API size_t ce_encoding_num_texts(const ce_encoding *enc);

/**
 * @brief Where each text begins: ce_encoding_num_texts() + 1 token indices, the
 * last one ce_encoding_length(). Borrowed from @p enc.
 * Thread-safe on a shared const encoding.
 */
CE_API const size_t *ce_encoding_text_starts(const ce_encoding *enc);

/**
 * @brief Free an encoding. Accepts NULL.
 * Not thread-safe on the same encoding: no other thread may read it (or an
 * array borrowed from it) during or after the call.
 */
CE_API void ce_encoding_free(ce_encoding *enc);

/** @brief Number of tokens; 0 for NULL. Thread-safe on a shared const encoding. */
CE_API size_t ce_encoding_length(const ce_encoding *enc);

/**
 * @brief Token ids (length ce_encoding_length()). Borrowed from @p enc.
 * A "whitespace" tokenizer (ELMo models, which read characters) gives -1 for every word.
 * Thread-safe on a shared const encoding.
 */
CE_API const int32_t *ce_encoding_ids(const ce_encoding *enc);

/**
 * @brief Token type ids (0 for the first text, 1 for the pair). Borrowed from @p enc.
 * Thread-safe on a shared const encoding.
 */
CE_API const int32_t *ce_encoding_type_ids(const ce_encoding *enc);

/**
 * @brief Which text each token came from: 0 first text, 1 pair, -1 an added
 * special token. Borrowed from @p enc. Thread-safe on a shared const encoding.
 */
CE_API const int32_t *ce_encoding_sequence_ids(const ce_encoding *enc);

/**
 * @brief UTF-8 byte offsets: 2 values per token, [begin, end) in the text the
 * token came from (see ce_encoding_sequence_ids()); added special tokens have
 * [0, 0). Borrowed from @p enc. Thread-safe on a shared const encoding.
 */
CE_API const size_t *ce_encoding_offsets(const ce_encoding *enc);

/**
 * @brief The word each token came from, as Hugging Face's `Encoding.word_ids`:
 * a word is one piece the pre-tokenizer split the text into (for BERT a run of
 * letters and digits or one punctuation character; for byte-level BPE one
 * regex split, its leading space included) or one added token; words are
 * numbered from 0 within each text (the pair's restart at 0), added special
 * tokens give -1. Tokens of one word are consecutive, so a span of tokens
 * widens to whole words by moving to the first and last token of their words.
 * Borrowed from @p enc (length ce_encoding_length()); NULL for NULL.
 * Thread-safe on a shared const encoding.
 */
CE_API const int32_t *ce_encoding_word_ids(const ce_encoding *enc);

/**
 * @brief The string of token @p id in the vocabulary (e.g. "##ing"). *token is
 * borrowed from @p tok (not NUL-terminated necessarily: use *len).
 * CE_ERR_OUT_OF_RANGE for an unknown id. Thread-safe.
 */
CE_API ce_status ce_tokenizer_id_to_token(const ce_tokenizer *tok, int32_t id, const char **token,
                                          size_t *len);

/** @brief Id of a vocabulary string. CE_ERR_NOT_FOUND when absent. Thread-safe. */
CE_API ce_status ce_tokenizer_token_to_id(const ce_tokenizer *tok, const char *token, size_t len,
                                          int32_t *id);

/**
 * @brief Id of a special token role. CE_ERR_NOT_FOUND when the tokenizer has none.
 * Thread-safe.
 */
CE_API ce_status ce_tokenizer_special_id(const ce_tokenizer *tok, ce_special_token which,
                                         int32_t *id);

/** Flags of ce_tokenizer_decode(). */
typedef enum ce_decode_flags {
    /** leave out special tokens ([CLS], [PAD], <|endoftext|>, ...) */
    CE_DECODE_SKIP_SPECIAL = 1u << 0,
} ce_decode_flags;

/**
 * @brief Turn ids back into UTF-8 text as the tokenizer's decoder does.
 *
 * Writes at most @p capacity bytes to @p buf plus no terminator; *needed gets
 * the full byte length. With a too small buffer (or buf NULL) returns
 * CE_ERR_BUFFER_TOO_SMALL and sets only *needed. CE_ERR_OUT_OF_RANGE for an
 * unknown id. Thread-safe.
 */
CE_API ce_status ce_tokenizer_decode(const ce_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                     uint32_t flags, char *buf, size_t capacity, size_t *needed);

/** An opaque streaming decoder: ids in, complete UTF-8 characters out. */
typedef struct ce_decoder ce_decoder;

/**
 * @brief Create a streaming decoder over @p tok (which must outlive it).
 * @param tok   the tokenizer whose ids the decoder reads
 * @param flags ::ce_decode_flags.
 * @param out   on success a new decoder owned by the caller (ce_decoder_free());
 *              untouched on failure
 * @return CE_OK, or the error (see ::ce_status).
 *
 * Thread-safe: any number of threads may create decoders on one tokenizer. A
 * decoder is used by one thread at a time; the tokenizer stays shareable.
 */
CE_API ce_status ce_decoder_create(const ce_tokenizer *tok, uint32_t flags, ce_decoder **out);

/**
 * @brief Free a streaming decoder. Accepts NULL.
 * Not thread-safe on the same decoder: no other thread may use it during or after
 * the call.
 */
CE_API void ce_decoder_free(ce_decoder *dec);

/**
 * @brief Feed one id; write the text it completes.
 *
 * Writes to @p buf only complete UTF-8 characters: bytes of a character that
 * the next token completes are held back. *written receives the number of bytes
 * produced. When @p capacity is too small, returns CE_ERR_BUFFER_TOO_SMALL with
 * the needed size in *written and the decoder unchanged (feed the same id again
 * with a larger buffer). 3 bytes plus 1.5 times the longest token always
 * suffice (for GPT-2's vocabulary, 400 bytes).
 * CE_ERR_OUT_OF_RANGE for an unknown id.
 * Not thread-safe on the same decoder: one thread at a time.
 */
CE_API ce_status ce_decoder_push(ce_decoder *dec, int32_t id, char *buf, size_t capacity,
                                 size_t *written);

/**
 * @brief End of stream: write what is held back (an incomplete character comes
 * out as U+FFFD, as Hugging Face's decoders do) and reset the decoder.
 * Buffer rules as for ce_decoder_push().
 * Not thread-safe on the same decoder: one thread at a time.
 */
CE_API ce_status ce_decoder_flush(ce_decoder *dec, char *buf, size_t capacity, size_t *written);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_TOKENIZER_H */
