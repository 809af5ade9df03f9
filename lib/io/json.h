/* Internal: a JSON/YAML document tree, parsed with libyaml (JSON is YAML).
 *
 * Used for config.json, tokenizer.json, vocab.json, safetensors headers,
 * options.json and contextembed.yaml. Nodes are immutable after parsing. */
#ifndef CE_IO_JSON_H
#define CE_IO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contextembed/common.h"

typedef enum ce_json_type {
    CE_JSON_NULL,
    CE_JSON_BOOL,
    CE_JSON_NUMBER,
    CE_JSON_STRING,
    CE_JSON_ARRAY,
    CE_JSON_OBJECT,
} ce_json_type;

typedef struct ce_json ce_json;
struct ce_json {
    ce_json_type type;
    bool boolean;      /* CE_JSON_BOOL */
    bool is_integer;   /* CE_JSON_NUMBER written without '.', 'e' or 'E' */
    double number;     /* CE_JSON_NUMBER */
    int64_t integer;   /* CE_JSON_NUMBER when is_integer (exact, not via double) */
    char *str;         /* CE_JSON_STRING: NUL-terminated, may hold embedded NULs */
    size_t len;        /* CE_JSON_STRING: byte length */
    size_t n;          /* CE_JSON_ARRAY / CE_JSON_OBJECT: number of items */
    ce_json **items;   /* values, in document order */
    char **keys;       /* CE_JSON_OBJECT: keys (NUL-terminated), parallel to items */
    size_t *key_lens;  /* CE_JSON_OBJECT: key byte lengths */
};

/* A tree (with the parser's stacks) takes at most this many times its
 * document, plus 1 MB: a document whose values would take more is refused
 * (CE_ERR_FORMAT). Real files take 2 to 10 times their size (a vocabulary
 * of short tokens, compactly written, the most); the bound stops a small
 * file of tiny values ("[[0],[0],...]") from taking gigabytes. */
#define CE_JSON_TREE_FACTOR 16

/* Parse @p len bytes. @p source names the input in error messages (a path).
 * On success *out owns the tree (free with ce_json_free); on failure *out is
 * untouched and ce_last_error() says where the document is broken. Besides
 * the tree, parsing needs a few buffers of the size of the largest string
 * (libyaml's), never a copy of the document. Nodes may be shared within a
 * tree (equal scalars are stored once). */
ce_status ce_json_parse(const char *data, size_t len, const char *source, ce_json **out);

/* Parse a file of at most CE_MAX_CONFIG_FILE bytes (io/read_file.h), streamed. */
ce_status ce_json_parse_file(const char *path, ce_json **out);

/* Parse a file of at most @p max bytes; a larger one is CE_ERR_FORMAT,
 * naming the file, its size and the cap. */
ce_status ce_json_parse_file_max(const char *path, size_t max, ce_json **out);

/* Free a tree that ce_json_parse* returned (only the root: the nodes live in
 * one arena). Accepts NULL. */
void ce_json_free(ce_json *root);

/* Member @p key of an object, or NULL (also when @p obj is NULL or not an object). */
const ce_json *ce_json_get(const ce_json *obj, const char *key);

/* Typed member lookups: return true and set *out only when the member exists
 * with the right type (integers must be exact integers). */
bool ce_json_get_int(const ce_json *obj, const char *key, int64_t *out);
bool ce_json_get_number(const ce_json *obj, const char *key, double *out);
bool ce_json_get_bool(const ce_json *obj, const char *key, bool *out);
const char *ce_json_get_string(const ce_json *obj, const char *key);

#endif
