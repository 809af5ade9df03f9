/* Internal: GPT-2's byte-level pieces. Every byte of the text is shown to
 * the BPE model as one printable character (bytes_to_unicode in OpenAI's
 * encoder.py), the text is first cut into words by GPT-2's pattern, and the
 * decoder maps the characters back to bytes. */
#ifndef CE_TOKENIZERS_BYTE_LEVEL_H
#define CE_TOKENIZERS_BYTE_LEVEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizers/tokenizer.h"

/* The character that stands for byte b: b itself for the printable bytes
 * '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF; U+0100 + n for the n-th other
 * byte (space is U+0120 'Ġ', newline U+010A 'Ċ'). */
uint32_t ce_byte_level_char(uint8_t b);

/* UTF-8 form of that character (1 or 2 bytes) into out; returns the length. */
size_t ce_byte_level_put(uint8_t b, char out[2]);

/* The byte a character stands for, or -1 when it stands for none. */
int ce_byte_level_byte(uint32_t cp);

/* End of the word that starts at s[pos] (pos < len, s valid UTF-8) under
 * GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * matched as a backtracking regex engine does (first alternative wins).
 * Always > pos: every character is in one class or another. */
size_t ce_byte_level_word_end(const char *s, size_t len, size_t pos);

/* Append the bytes one token string stands for: each character mapped back
 * to its byte, or, when any character stands for no byte (an added token
 * such as "hello world"), the string's own bytes, as HF's ByteLevel decoder
 * does. The result may hold part of a UTF-8 character. */
ce_status ce_byte_level_token_bytes(const char *s, size_t len, ce_strbuf *out);

/* Bytes that begin s[0, len) and form no valid UTF-8 character, as one
 * "maximal subpart" (Unicode's U+FFFD substitution, Rust's
 * String::from_utf8_lossy): returns its length n >= 1 and sets
 * *incomplete when s[0, n) is a valid start that merely runs out at len
 * (more bytes could still complete it). Returns 0 when s starts with a valid
 * character. */
size_t ce_utf8_invalid_prefix(const char *s, size_t len, bool *incomplete);

/* Append s with every invalid part replaced by U+FFFD, as from_utf8_lossy. */
ce_status ce_utf8_append_lossy(ce_strbuf *out, const char *s, size_t len);

/* The ByteLevel / RobertaProcessing trim_offsets (HF's process_offsets): a
 * token with @p lead leading and @p trail trailing spaces ('\u0120' or white
 * space) loses them from its span [*start, *end) of @p text, one character
 * each; the first token of a text (@p first) keeps a single leading space
 * when @p add_prefix_space put it there. */
void ce_byte_level_trim(const char *text, size_t lead, size_t trail, bool first,
                        bool add_prefix_space, size_t *start, size_t *end);

#endif
