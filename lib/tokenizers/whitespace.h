/* Internal: the "whitespace" tokenizer kind, for models that read words
 * (ELMo): text is split on white space as Python's str.split() does, each
 * word keeps its UTF-8 byte offsets, and ids are -1 (there is no vocabulary). */
#ifndef CE_TOKENIZERS_WHITESPACE_H
#define CE_TOKENIZERS_WHITESPACE_H

#include "contextembed/tokenizer.h"

/* A new whitespace tokenizer, owned by the caller (ce_tokenizer_free);
 * *out untouched on failure. */
ce_status ce_whitespace_tokenizer_create(ce_tokenizer **out);

#endif
