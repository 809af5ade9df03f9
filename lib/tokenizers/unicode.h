/* Internal: UTF-8 decoding and the Unicode character classes the tokenizers
 * need, over utf8proc. Classes follow Hugging Face tokenizers (Rust), which
 * is what the models were trained with, not Python's unicodedata. BERT's
 * normaliser and pre-tokeniser have their own tables: bert_chars.h. */
#ifndef CE_TOKENIZERS_UNICODE_H
#define CE_TOKENIZERS_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the code point starting at s[*pos] (strict UTF-8: no overlong forms,
 * no surrogates, nothing above U+10FFFF). On success advance *pos past it and
 * return true; on failure leave *pos at the offending sequence. */
bool ce_utf8_next(const char *s, size_t len, size_t *pos, uint32_t *cp);

/* Length of the longest valid UTF-8 prefix of s: len when s is valid. */
size_t ce_utf8_valid_prefix(const char *s, size_t len);

/* Write cp as UTF-8 to out (4 bytes room); returns the byte count. */
size_t ce_utf8_put(char *out, uint32_t cp);

/* Bytes of the UTF-8 form of cp. */
size_t ce_utf8_len(uint32_t cp);

/* Rust's char::is_whitespace (the White_Space property); includes \t \n \r. */
bool ce_unicode_is_whitespace(uint32_t cp);

/* Regex \w with Unicode classes: letters, marks, Nd, Nl, Pc, ZWJ/ZWNJ. */
bool ce_unicode_is_word(uint32_t cp);

/* Full lowercase mapping as Rust's char::to_lowercase: utf8proc's simple
 * mapping plus the one unconditional multi-char entry (U+0130). Writes 1 or 2
 * code points to out and returns the count. */
size_t ce_unicode_lower(uint32_t cp, uint32_t out[2]);

#endif
