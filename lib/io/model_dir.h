/* Internal: which known files a model directory holds.
 *
 * One stat per well-known name plus one directory scan for pickled or HDF5
 * weights, so that callers decide what to open (and what to refuse, with a
 * useful message) without touching the file system again. */
#ifndef CE_IO_MODEL_DIR_H
#define CE_IO_MODEL_DIR_H

#include "contextembed/common.h"

/* Each member is a malloc'd "dir/name" path of an existing regular file (or a
 * symlink to one, as in the Hugging Face cache), or NULL when absent. */
typedef struct ce_model_dir {
    char *dir;                     /* the directory as given */
    char *config_json;             /* config.json */
    char *options_json;            /* options.json (AllenNLP ELMo) */
    char *contextembed_yaml;       /* contextembed.yaml */
    char *modules_json;            /* modules.json (sentence-transformers) */
    char *tokenizer_json;          /* tokenizer.json */
    char *tokenizer_config_json;   /* tokenizer_config.json */
    char *special_tokens_map_json; /* special_tokens_map.json */
    char *vocab_txt;               /* vocab.txt (WordPiece) */
    char *vocab_json;              /* vocab.json (byte-level BPE) */
    char *merges_txt;              /* merges.txt (byte-level BPE) */
    char *safetensors;             /* model.safetensors */
    char *safetensors_index;       /* model.safetensors.index.json */
    char *pickle_weights;          /* pytorch_model.bin, else the first *.bin *.pt *.pth *.ckpt */
    char *hdf5_weights;            /* the first *.h5 / *.hdf5 (TensorFlow, AllenNLP ELMo) */
} ce_model_dir;

/* Probe @p path. A missing path -> CE_ERR_NOT_FOUND, a path that is not a
 * directory or cannot be listed -> CE_ERR_IO, both naming it. On success
 * *out is filled (free its members with ce_model_dir_free); untouched on
 * failure. */
ce_status ce_model_dir_probe(const char *path, ce_model_dir *out);

/* Free every member and zero the struct. Accepts NULL and a zeroed struct. */
void ce_model_dir_free(ce_model_dir *d);

/* Join a directory and a file name with '/' into a malloc'd string (NULL on OOM). */
char *ce_path_join(const char *dir, const char *name);

#endif
