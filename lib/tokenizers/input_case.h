/* Internal: lower-casing the input before tokenizing (a sentence-transformers
 * model's do_lower_case), settable without the tokenizer's internals. */
#ifndef CE_TOKENIZERS_INPUT_CASE_H
#define CE_TOKENIZERS_INPUT_CASE_H

#include "contextembed/tokenizer.h"

/* Make @p tok lower-case text (Unicode full mapping) before encoding; offsets
 * still point into the original text. Only while the tokenizer is not shared yet. */
void ce_tokenizer_lowercase_input(ce_tokenizer *tok);

#endif
