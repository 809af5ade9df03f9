/* Internal: the byte-level BPE tokenizer (GPT-2): vocabulary (in the shared
 * ce_tokenizer), merge ranks, the merging of one word, and the settings of
 * its ByteLevel pre-tokenizer and decoder. */
#ifndef CE_TOKENIZERS_BPE_H
#define CE_TOKENIZERS_BPE_H

#include "tokenizers/tokenizer.h"

/* One merge "a b" -> ab, keyed by the ids of a and b. */
typedef struct ce_bpe_merge {
    uint64_t key; /* (id_a << 32) | id_b; CE_BPE_EMPTY: free slot */
    uint32_t rank;
    int32_t new_id;
} ce_bpe_merge;

#define CE_BPE_EMPTY UINT64_MAX

typedef struct ce_bpe {
    ce_bpe_merge *merges; /* open addressing, linear probing */
    size_t mask;          /* capacity - 1 */
    size_t n_merges;
    int32_t byte_id[256]; /* id of the character of each byte; -1: not in the vocabulary */
    int32_t unk_id;       /* -1: characters outside the vocabulary are dropped, as HF does */
    bool fuse_unk;
    bool ignore_merges;    /* a word found whole in the vocabulary is one token */
    bool add_prefix_space; /* ByteLevel pre-tokenizer: a space before each text that lacks one */
    bool use_regex;        /* ByteLevel pre-tokenizer: cut words with GPT-2's pattern */
    bool byte_decoder;     /* ByteLevel decoder; false: tokens joined with spaces (no decoder) */
} ce_bpe;

extern const ce_tokenizer_ops ce_bpe_ops;

/* A new model with no merges, set as tok's model (tok->ops = &ce_bpe_ops). */
ce_bpe *ce_bpe_new(ce_tokenizer *tok);

/* Add merge "a b" with the given rank; a, b and a+b must be in the
 * vocabulary (CE_ERR_FORMAT naming @p where otherwise). A repeated pair takes
 * the later rank, as HF's map does. */
ce_status ce_bpe_add_merge(ce_tokenizer *tok, ce_bpe *bpe, const char *a, size_t alen,
                           const char *b, size_t blen, uint32_t rank, const char *where);

/* After the vocabulary is in: the per-byte ids. */
void ce_bpe_index_bytes(const ce_tokenizer *tok, ce_bpe *bpe);

/* Loaders: ce_bpe_from_json, ce_bpe_from_files (tokenizer.h). */

#endif
