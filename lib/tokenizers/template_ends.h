/* Internal: the special tokens a tokenizer's single-text template puts before
 * and after the text ([CLS] / [SEP], <s> / </s>), for code that must rebuild
 * pieces of an encoded sequence (sliding windows) without the tokenizer's
 * internals. */
#ifndef CE_TOKENIZERS_TEMPLATE_ENDS_H
#define CE_TOKENIZERS_TEMPLATE_ENDS_H

#include <stddef.h>
#include <stdint.h>

#include "contextembed/tokenizer.h"

#define CE_TEMPLATE_ENDS_MAX 8

/* Ids before ($lead, *n_lead) and after ($trail, *n_trail) the text in the
 * single template; at most CE_TEMPLATE_ENDS_MAX each (more are reported as
 * none). Both 0 for NULL or a template without specials. */
void ce_tokenizer_template_ends(const ce_tokenizer *tok, int32_t *lead, size_t *n_lead,
                                int32_t *trail, size_t *n_trail);

#endif
