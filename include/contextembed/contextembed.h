/**
 * @file contextembed.h
 * @brief libcontextembed: contextual embeddings and next-token logits on the CPU.
 *
 * Include this one header. Typical use:
 * @code
 *   ce_model *m; ce_session *s; ce_encoding *e;
 *   ce_model_open("bert-dir", NULL, &m);
 *   ce_tokenizer_encode(ce_model_tokenizer(m), text, strlen(text), NULL, 0,
 *                       CE_ENCODE_ADD_SPECIAL, 0, &e);
 *   size_t n = ce_encoding_length(e);
 *   ce_session_create(m, NULL, &s);
 *   ce_session_run(s, 1, &n, ce_encoding_ids(e), ce_encoding_type_ids(e));
 *   ce_session_output(s, 0, NULL, buf, cap, &count);   // last layer, [1, T, D]
 * @endcode
 */
#ifndef CONTEXTEMBED_H
#define CONTEXTEMBED_H

#include "common.h"
#include "version.h"
#include "options.h"
#include "tokenizer.h"
#include "model.h"
#include "session.h"
#include "backend.h"

#endif /* CONTEXTEMBED_H */
