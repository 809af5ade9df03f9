/* Internal: a whole small file (configs, vocabularies) into memory, and the
 * size caps of the files the library reads whole.
 *
 * The caps are far above any real file (docs/formats.md lists them); they
 * bound what a corrupt or hostile file can make the library allocate. */
#ifndef CE_IO_READ_FILE_H
#define CE_IO_READ_FILE_H

#include <stddef.h>

#include "contextembed/common.h"

/* config.json, tokenizer_config.json, special_tokens_map.json, modules.json
 * and the sentence-transformers module configs, options.json (ELMo),
 * contextembed.yaml, model.safetensors.index.json: real ones are kilobytes
 * (an index of a large model, a few hundred). */
#define CE_MAX_CONFIG_FILE ((size_t)64 << 20)
/* tokenizer.json, vocab.json, vocab.txt, merges.txt: the largest real ones
 * (vocabularies of 250,000 tokens) reach 20 to 40 MB. */
#define CE_MAX_TOKENIZER_FILE ((size_t)256 << 20)

/* On success *data is a malloc'd, NUL-terminated copy of the file (the caller
 * frees it) and *len its byte length; on failure both are untouched and the
 * message names @p path. A file of more than @p max bytes is CE_ERR_FORMAT. */
ce_status ce_read_file(const char *path, size_t max, char **data, size_t *len);

/* CE_ERR_FORMAT naming @p path, its @p size and the cap @p max. */
ce_status ce_file_too_big(const char *path, size_t size, size_t max);

#endif
