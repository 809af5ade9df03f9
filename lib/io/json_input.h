/* Internal: the text libyaml reads for a JSON document, streamed.
 *
 * libyaml implements YAML 1.1, which refuses JSON's UTF-16 surrogate-pair
 * escapes ("\ud83d\ude00", as Python's json.dump writes emoji) and some raw
 * characters JSON allows in strings (DEL, U+FFFE/U+FFFF; it folds NEL and the
 * other C1 controls, and takes U+2028 and U+2029 for line breaks, trimming
 * the white space around them; serde_json, which writes Hugging Face's
 * tokenizer.json, leaves all of these raw), and a tab before the first
 * token; its keys end at 1024 characters or at a line break before the
 * colon. The input rewrites surrogate pairs to UTF-8, those raw characters
 * to \u escapes, tabs between tokens to spaces and keys to explicit keys
 * as libyaml pulls the text, a few kilobytes at a time: the document is
 * never copied whole (it was, into a buffer of six times its size), and a
 * file is never read whole either. */
#ifndef CE_IO_JSON_INPUT_H
#define CE_IO_JSON_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "contextembed/common.h"

#define CE_JSON_INPUT_WINDOW 65536
/* containers whose kind the input tracks (the tree refuses deeper ones) */
#define CE_JSON_INPUT_DEPTH 1024

typedef struct ce_json_input {
    FILE *file;        /* NULL: the document is data[0, len) */
    const char *data;  /* the bytes not yet rewritten are data[pos, len) */
    size_t len, pos;
    size_t total, max; /* file: bytes read so far, and the cap */
    bool eof, too_big, read_error;
    bool in_string;
    /* the keys of a document that opens with '{' or '[' go to libyaml as
     * explicit keys ("? "), which YAML does not cut at 1024 characters nor
     * at a line break before the colon */
    unsigned char opening; /* the document's first ASCII character other than white space, or 0 */
    bool expect_key;       /* the next string is an object's key */
    size_t depth;          /* containers open */
    unsigned char objects[CE_JSON_INPUT_DEPTH / 8]; /* bit d: container d is an object */
    char pend[8]; /* rewritten bytes libyaml has not taken yet */
    unsigned pend_len, pend_pos;
    char window[]; /* file: the part read, CE_JSON_INPUT_WINDOW bytes */
} ce_json_input;

/* A document in memory (borrowed until the parse ends); @p in needs
 * sizeof (ce_json_input) bytes. */
void ce_json_input_memory(ce_json_input *in, const char *data, size_t len);

/* An open file of at most @p max bytes (the caller closes it); @p in needs
 * sizeof (ce_json_input) + CE_JSON_INPUT_WINDOW bytes. */
void ce_json_input_file(ce_json_input *in, FILE *f, size_t max);

/* libyaml's yaml_read_handler_t: fill @p buffer with up to @p size rewritten
 * bytes (0 at the end); returns 0 when the file cannot be read or passes
 * its cap (in->read_error, in->too_big say which). */
int ce_json_input_read(void *in, unsigned char *buffer, size_t size, size_t *size_read);

#endif
