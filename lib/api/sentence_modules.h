/* Internal: a sentence-transformers directory's modules (modules.json).
 *
 * The library implements the pipeline most such models are: a Transformer
 * module (the checkpoint, at the directory itself or a subdirectory), a Pooling
 * module and optionally Normalize. Any other module is refused by name, since
 * skipping it would silently give other vectors than sentence-transformers. */
#ifndef CE_API_SENTENCE_MODULES_H
#define CE_API_SENTENCE_MODULES_H

#include "api/select_internal.h"

typedef struct ce_sentence_modules {
    char *transformer_dir; /* the checkpoint directory (malloc'd) */
    ce_model_pooling pooling;
    int64_t embedding_dim; /* Pooling's word_embedding_dimension, 0 when absent */
} ce_sentence_modules;

/* Read @p modules_json (in directory @p dir) and the files it points to. On
 * success fills *out (free with ce_sentence_modules_free); on failure
 * CE_ERR_FORMAT / CE_ERR_UNSUPPORTED / CE_ERR_NOT_FOUND naming the file or
 * module, and *out holds nothing to free. */
ce_status ce_sentence_modules_read(const char *dir, const char *modules_json,
                                   ce_sentence_modules *out);

void ce_sentence_modules_free(ce_sentence_modules *m);

#endif
