/* Internal: UTF-8 decoding and the Unicode character classes the tokenizers
 * need, over utf8proc. Classes follow Hugging Face tokenizers (Rust), which
 * is what the models were trained with, not Python's unicodedata. */
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

/* BERT's "control": general category Cc, Cf or Co, except tab, LF and CR
 * (HF's is_control uses unicode_categories' is_other(), which is Cc|Cf|Co). */
bool ce_unicode_is_control(uint32_t cp);

/* Rust's char::is_whitespace (the White_Space property); includes \t \n \r. */
bool ce_unicode_is_whitespace(uint32_t cp);

/* BERT punctuation: ASCII 33-47, 58-64, 91-96, 123-126, or a P* category. */
bool ce_unicode_is_punctuation(uint32_t cp);

/* The CJK ideograph ranges of BERT's _is_chinese_char as HF's Rust port has
 * them: its Extension E range starts at U+2B920, not U+2B820, and we follow
 * HF so that ids match. */
bool ce_unicode_is_cjk(uint32_t cp);

/* General category Mn (non-spacing mark). */
bool ce_unicode_is_mn(uint32_t cp);

/* Regex \w with Unicode classes: letters, marks, Nd, Nl, Pc, ZWJ/ZWNJ. */
bool ce_unicode_is_word(uint32_t cp);

/* Canonical combining class. */
int ce_unicode_ccc(uint32_t cp);

/* Full lowercase mapping as Rust's char::to_lowercase: utf8proc's simple
 * mapping plus the one unconditional multi-char entry (U+0130). Writes 1 or 2
 * code points to out and returns the count. */
size_t ce_unicode_lower(uint32_t cp, uint32_t out[2]);

/* Canonical decomposition (NFD) of one code point, Hangul included, without
 * reordering. Writes at most cap code points; returns the count needed (at
 * most CE_UNICODE_MAX_DECOMP). */
#define CE_UNICODE_MAX_DECOMP 8
size_t ce_unicode_nfd(uint32_t cp, uint32_t *out, size_t cap);

#endif
