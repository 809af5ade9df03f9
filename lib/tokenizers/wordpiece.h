/* Internal: the WordPiece tokenizer (BERT): its normaliser, pre-tokeniser,
 * model and decoder settings. */
#ifndef CE_TOKENIZERS_WORDPIECE_H
#define CE_TOKENIZERS_WORDPIECE_H

#include "tokenizers/tokenizer.h"

/* BertNormalizer's steps, applied in this order; all false = no normaliser. */
typedef struct ce_bert_normalizer {
    bool clean_text;     /* drop NUL, U+FFFD, Cc/Cf/Co; white space -> ' ' */
    bool handle_chinese; /* ' ' around every CJK ideograph */
    bool strip_accents;  /* NFD, then drop Mn */
    bool lowercase;      /* full lowercase mapping */
} ce_bert_normalizer;

/* A normalised character and the span [start, end) of the original bytes it
 * came from: every piece of an expanded character carries the whole span. */
typedef struct ce_nchar {
    uint32_t cp;
    size_t start, end;
} ce_nchar;

typedef struct ce_nchar_buf {
    ce_nchar *v;
    size_t n, cap;
} ce_nchar_buf;

/* Normalise text[start, end) (valid UTF-8), appending to out. */
ce_status ce_bert_normalize(const ce_bert_normalizer *cfg, const char *text, size_t start,
                            size_t end, ce_nchar_buf *out);
void ce_nchar_buf_free(ce_nchar_buf *b);

/* BertPreTokenizer on chars v[a, b): words end at white space (dropped) and
 * every punctuation character is a word of its own. Calls fn per word. */
typedef ce_status (*ce_word_fn)(void *ctx, size_t a, size_t b);
ce_status ce_bert_pretokenize(const ce_nchar *v, size_t a, size_t b, ce_word_fn fn, void *ctx);

typedef struct ce_wordpiece {
    ce_bert_normalizer norm;
    bool bert_pretokenizer; /* false: a whole stretch is one word */
    const char *prefix;     /* continuing_subword_prefix ("##"), in the pool */
    size_t prefix_len;
    size_t max_chars; /* max_input_chars_per_word */
    int32_t unk_id;
    bool wordpiece_decoder; /* false: tokens joined with spaces */
    const char *dec_prefix;
    size_t dec_prefix_len;
    bool cleanup;
} ce_wordpiece;

extern const ce_tokenizer_ops ce_wordpiece_ops;

/* The WordPiece decoder's cleanup, applied to one decoded piece in place
 * (" ." -> ".", " n't" -> "n't", ...); returns the new length. */
size_t ce_wordpiece_cleanup(char *s, size_t len);

#endif
