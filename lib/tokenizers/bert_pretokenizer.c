/* BertPreTokenizer: split on white space (removed) and around every
 * punctuation character (kept as a word of its own). */
#include "tokenizers/bert_chars.h"
#include "tokenizers/wordpiece.h"

ce_status ce_bert_pretokenize(const ce_nchar *v, size_t a, size_t b, ce_word_fn fn, void *ctx)
{
    size_t word = a; /* start of the word being read */
    for (size_t i = a; i < b; i++) {
        unsigned cls = ce_bert_class(v[i].cp);
        bool space = cls & CE_BERT_SPACE;
        if (!space && !(cls & CE_BERT_PUNCT))
            continue;
        ce_status st = i > word ? fn(ctx, word, i) : CE_OK;
        if (st == CE_OK && !space)
            st = fn(ctx, i, i + 1);
        if (st != CE_OK)
            return st;
        word = i + 1;
    }
    return b > word ? fn(ctx, word, b) : CE_OK;
}
