/* Internal: the character classes and maps of BERT's normaliser and
 * pre-tokeniser, exactly as Hugging Face tokenizers has them on every code
 * point. Its tables are not the current Unicode's: is_control, is_punctuation
 * and Mn come from the unicode_categories crate (Unicode 8), NFD and the
 * combining classes from unicode-normalization-alignments (Unicode 9), white
 * space and lowercase from Rust's std. So they are generated from Hugging
 * Face's behaviour (test/gen/gen_bert_unicode.mjs, then gen_bert_chars_c.py),
 * not taken from utf8proc, whose Unicode moves with the system. */
#ifndef CE_TOKENIZERS_BERT_CHARS_H
#define CE_TOKENIZERS_BERT_CHARS_H

#include <stddef.h>
#include <stdint.h>

enum {
    CE_BERT_DELETE = 1, /* clean_text drops it: NUL, U+FFFD, Cc/Cf/Co but tab, LF, CR */
    CE_BERT_SPACE = 2,  /* white space (Rust's char::is_whitespace): clean_text makes it ' '
                         * unless it is also CE_BERT_DELETE; the pre-tokeniser drops it */
    CE_BERT_PUNCT = 4,  /* ASCII punctuation or P*: a word of its own */
    CE_BERT_CJK = 8,    /* handle_chinese_chars puts ' ' on both sides (HF's ranges: its
                         * Extension E starts at U+2B920, not U+2B820) */
    CE_BERT_MN = 16,    /* strip_accents drops it (after NFD) */
};

/* The CE_BERT_* bits of cp (any value; 0 above U+10FFFF). */
unsigned ce_bert_class(uint32_t cp);

/* Canonical combining class of cp, the key NFD's canonical ordering sorts by. */
int ce_bert_ccc(uint32_t cp);

/* Full canonical decomposition of cp (Hangul included), not reordered:
 * writes 1 to CE_BERT_MAX_NFD code points to out and returns the count. */
#define CE_BERT_MAX_NFD 4
size_t ce_bert_nfd(uint32_t cp, uint32_t out[CE_BERT_MAX_NFD]);

/* Lowercase of cp as Rust's char::to_lowercase (no context, so no final
 * sigma): writes 1 to CE_BERT_MAX_LOWER code points and returns the count. */
#define CE_BERT_MAX_LOWER 3
size_t ce_bert_lower(uint32_t cp, uint32_t out[CE_BERT_MAX_LOWER]);

#endif
