/* Internal: the tokenizer object shared by every tokenizer kind.
 *
 * A tokenizer is: a model vocabulary, added tokens (specials) matched in the
 * raw text, a post-processor template ([CLS] $A [SEP] ...), and a table of
 * functions for the kind-specific part (normalise + pre-tokenise + model on
 * one stretch of text, and the decoder). WordPiece is one ops table
 * (wordpiece.c); a byte-level BPE is meant to be another file with its own.
 * Everything is immutable after loading, so any number of threads may encode
 * at once. */
#ifndef CE_TOKENIZERS_TOKENIZER_H
#define CE_TOKENIZERS_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contextembed/tokenizer.h"
#include "io/json.h"
#include "tokenizers/strmap.h"

/* ---- small growable buffers ---------------------------------------------- */

/* Tokens of one sequence: ids, absolute [start, end) byte offsets and the
 * word (pre-token or added token) each came from, numbered from 0. */
typedef struct ce_tok_list {
    int32_t *ids;
    size_t *offs;   /* 2 per token */
    int32_t *words; /* 1 per token */
    size_t n, cap;
    int32_t word, n_words; /* the word of the next push; words begun so far */
} ce_tok_list;

ce_status ce_tok_list_push(ce_tok_list *l, int32_t id, size_t start, size_t end);
/* The tokens pushed from now on belong to a new word, as Hugging Face's
 * word ids count the splits a pre-tokenizer (or an added token) makes. */
void ce_tok_list_begin_word(ce_tok_list *l);
void ce_tok_list_free(ce_tok_list *l);

typedef struct ce_strbuf {
    char *data;
    size_t len, cap;
} ce_strbuf;

ce_status ce_strbuf_append(ce_strbuf *b, const char *s, size_t n);
void ce_strbuf_free(ce_strbuf *b);

/* A borrowed string. */
typedef struct ce_str {
    const char *s;
    size_t len;
} ce_str;

/* ---- added tokens ------------------------------------------------------- */

typedef struct ce_added_token {
    const char *content; /* in the tokenizer's pool */
    size_t len;
    int32_t id;
    bool special;    /* skipped by CE_DECODE_SKIP_SPECIAL and CE_ENCODE_SPECIAL_AS_TEXT */
    bool normalized; /* matched in the normalised text instead of the raw text */
    bool lstrip, rstrip, single_word;
} ce_added_token;

typedef struct ce_added_pattern {
    const char *s; /* the content, or its normalised form */
    size_t len;
    uint32_t token; /* index into ce_tokenizer.added */
} ce_added_pattern;

/* The patterns of one set as an Aho-Corasick automaton over their reversed
 * bytes. Read right to left, a text tells at every position the longest
 * pattern that starts there (the first given among equal ones), in time
 * linear in the text whatever the number and length of the patterns; the
 * left-to-right pass of ce_added_next then gives Hugging Face's
 * leftmost-longest matches. Node 0 is the root; the children of node v are
 * nodes[v].first .. nodes[v + 1].first - 1, sorted by their byte; one node's
 * fields sit together, since a step reads them all. */
typedef struct ce_added_node {
    uint32_t first; /* its first child */
    uint32_t fail;  /* the node of its longest proper suffix in the automaton */
    uint32_t out;   /* 1 + the longest pattern ending here (through fail), 0: none */
} ce_added_node;

typedef struct ce_added_set {
    ce_added_pattern *pats; /* the non-empty patterns, in the order given */
    size_t n;
    uint32_t n_nodes;
    ce_added_node *nodes; /* n_nodes + 1: the last one only ends the last child list */
    uint8_t *byte;        /* the byte of the edge into each node */
    uint32_t root[256];   /* the root's child by byte, 0: none */
} ce_added_set;

ce_status ce_added_set_build(ce_added_set *set, const ce_added_pattern *pats, size_t n);
void ce_added_set_free(ce_added_set *set);

/* Where patterns of a set start in one text, found by one right-to-left pass. */
typedef struct ce_added_hit {
    size_t at;    /* a position where a pattern starts */
    uint32_t pat; /* the longest one there, index into set->pats */
} ce_added_hit;

typedef struct ce_added_scan {
    const ce_added_set *set;
    const char *s;
    size_t len;
    size_t pos;         /* where the next match may start */
    ce_added_hit *hits; /* decreasing positions: the next one is last */
    size_t n_hits, cap_hits;
    size_t run_start, run_end; /* the last white space run rstrip walked */
} ce_added_scan;

/* Find every pattern start of @p set in s[0, len) (borrowed until
 * ce_added_scan_free). Out of memory leaves nothing to free. */
ce_status ce_added_scan_start(ce_added_scan *scan, const ce_added_set *set, const char *s,
                              size_t len);
void ce_added_scan_free(ce_added_scan *scan);

/* Find the next added token of the scan, as Hugging Face's
 * AddedVocabulary::find_matches does: leftmost-longest, a single_word token
 * next to a word character is dropped, a special token is dropped when
 * @p skip_special, lstrip/rstrip widen the match over white space (never
 * before @p prev_end). Dropped matches are consumed, not retried. On a hit
 * returns true with the widened span [*start, *end) and the token; the scan
 * moves past the raw match. */
bool ce_added_next(ce_added_scan *scan, const ce_added_token *tokens, size_t prev_end,
                   bool skip_special, size_t *start, size_t *end, const ce_added_token **token);

/* ---- post-processor ----------------------------------------------------- */

typedef enum ce_piece_kind { CE_PIECE_A, CE_PIECE_B, CE_PIECE_SPECIAL } ce_piece_kind;

typedef struct ce_piece {
    ce_piece_kind kind;
    int32_t type_id;
    int32_t *ids; /* CE_PIECE_SPECIAL: the ids it adds (owned) */
    size_t n_ids;
} ce_piece;

typedef struct ce_template {
    ce_piece *pieces;
    size_t n;
    size_t n_special; /* ids added by special pieces */
} ce_template;

/* Hugging Face's TemplateProcessing / BertProcessing / null from tokenizer.json. */
ce_status ce_template_from_json(ce_tokenizer *tok, const ce_json *pp, const char *path);
/* [CLS] $A [SEP] and [CLS] $A [SEP] $B:1 [SEP]:1 (BertTokenizerFast's template). */
ce_status ce_template_bert(ce_tokenizer *tok, int32_t cls, int32_t sep);
/* <s> $A </s> and <s> $A </s> </s> $B </s> (RobertaProcessing), with the
 * second part's token type CE_ROBERTA_PAIR_TYPE as Hugging Face gives it. */
ce_status ce_template_roberta(ce_tokenizer *tok, int32_t cls, int32_t sep);
#define CE_ROBERTA_PAIR_TYPE 0
void ce_template_free(ce_template *t);

/* ---- the ops table and the object --------------------------------------- */

typedef struct ce_tokenizer_ops {
    const char *kind; /* "wordpiece", ... */
    /* Tokenise text[start, end), a stretch with no raw-matched added token,
     * appending to out with absolute byte offsets. Matches tokens of
     * tok->norm_set itself, since only it knows the normalised text. */
    ce_status (*encode_segment)(const ce_tokenizer *tok, const char *text, size_t start, size_t end,
                                bool skip_special, ce_tok_list *out);
    /* Normalise an added token's content for matching in normalised text;
     * NULL when the kind has no normaliser. */
    ce_status (*normalize_pattern)(const ce_tokenizer *tok, const char *s, size_t len,
                                   ce_strbuf *out);
    /* Join token strings into text as the kind's decoder does. */
    ce_status (*decode)(const ce_tokenizer *tok, const ce_str *tokens, size_t n, ce_strbuf *out);
    void (*free_model)(void *model);
    /* The bytes one token adds to the decoded text (@p first: no token
     * before it), before any UTF-8 repair, so possibly part of a character;
     * the streaming decoder's way in. NULL: the streaming decoder diffs
     * decode() of the previous token with and without this one. */
    ce_status (*decode_token)(const ce_tokenizer *tok, ce_str token, bool first, ce_strbuf *out);
} ce_tokenizer_ops;

typedef struct ce_id_entry {
    const char *s; /* NULL: no token has this id */
    uint32_t len;
    bool special;
} ce_id_entry;

#define CE_N_ROLES 7

struct ce_tokenizer {
    const ce_tokenizer_ops *ops;
    void *model; /* kind-specific, owned, freed by ops->free_model */
    ce_pool pool;
    ce_strmap vocab;     /* the model's vocabulary */
    ce_strmap added_map; /* added tokens (looked up before the vocabulary) */
    ce_id_entry *ids;    /* id -> string over vocabulary and added tokens */
    size_t n_ids;
    ce_added_token *added;
    size_t n_added, cap_added;
    ce_added_set raw_set;  /* added tokens with normalized == false */
    ce_added_set norm_set; /* normalized == true, patterns normalised */
    ce_template single, pair;
    int32_t roles[CE_N_ROLES]; /* ce_special_token -> id, -1 when absent */
    size_t max_vocab_len;      /* longest vocabulary entry in bytes */
    /* ByteLevel post-processor: trim_offsets (leave a token's leading and
     * trailing 'Ġ' out of its offsets) and its add_prefix_space */
    bool pp_trim_offsets, pp_add_prefix_space;
    /* lower-case the input before anything else, offsets still into the
     * original text (a sentence-transformers model's do_lower_case) */
    bool lowercase_input;

    /* loading only: (string, id) pairs of the vocabulary in insertion order */
    struct ce_vocab_entry *entries;
    size_t n_entries, cap_entries;
};

/* Loading (tokenizer.c). */
ce_tokenizer *ce_tokenizer_new(void);
ce_status ce_tokenizer_add_vocab(ce_tokenizer *tok, const char *s, size_t len, int32_t id);
/* Add every {"token": id} of a JSON object (tokenizer.json's model.vocab, vocab.json);
 * *max_id (may be NULL) receives the largest id. */
ce_status ce_tokenizer_vocab_from_json(ce_tokenizer *tok, const ce_json *vocab, const char *path,
                                       int32_t *max_id);
ce_status ce_tokenizer_add_added(ce_tokenizer *tok, const ce_added_token *t);
/* Parse tokenizer.json's "added_tokens" array. */
ce_status ce_tokenizer_added_from_json(ce_tokenizer *tok, const ce_json *arr, const char *path);
/* After the model and added tokens: build the id table, the matchers, the
 * special-token roles; check that template ids exist. */
ce_status ce_tokenizer_finish(ce_tokenizer *tok, const char *path);
/* Id of a string: added tokens first, then the vocabulary. */
bool ce_tokenizer_lookup(const ce_tokenizer *tok, const char *s, size_t len, int32_t *id);
void ce_tokenizer_destroy(ce_tokenizer *tok);

/* Open a file or model directory (tokenizer.c). */
ce_status ce_tokenizer_load(const char *path, ce_tokenizer **out);

/* Kind-specific loaders (wordpiece_load.c, bpe_load.c). */
ce_status ce_wordpiece_from_json(ce_tokenizer *tok, const ce_json *root, const char *path);
ce_status ce_wordpiece_from_vocab_txt(const char *vocab_path, const char *config_path,
                                      ce_tokenizer **out);
ce_status ce_bpe_from_json(ce_tokenizer *tok, const ce_json *root, const char *path);
/* Special-token roles named by the tokenizer_config.json and
 * special_tokens_map.json beside @p path, after the added tokens are in. */
ce_status ce_bpe_roles_from_dir(ce_tokenizer *tok, const char *path);
/* vocab.json + merges.txt; @p dir (may be NULL) holds tokenizer_config.json
 * and special_tokens_map.json when they exist. */
ce_status ce_bpe_from_files(const char *vocab_path, const char *merges_path, const char *dir,
                            ce_tokenizer **out);

/* Encoding and decoding (encode.c). */
ce_status ce_tokenizer_encode_impl(const ce_tokenizer *tok, const char *text, size_t text_len,
                                   const char *pair, size_t pair_len, uint32_t flags,
                                   size_t max_length, ce_encoding **out);
ce_status ce_tokenizer_decode_impl(const ce_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                   uint32_t flags, ce_strbuf *out);

/* ---- the encoding result (encoding.c) ----------------------------------- */

struct ce_encoding {
    size_t n;
    int32_t *ids;
    int32_t *type_ids;
    int32_t *seq_ids;
    int32_t *word_ids; /* word within its sequence, -1 for special tokens */
    size_t *offsets;   /* 2 per token */
    /* a batch: text t holds tokens [text_starts[t], text_starts[t + 1]) */
    size_t n_texts;
    size_t *text_starts; /* n_texts + 1 */
    size_t one_text[2];  /* text_starts of a single encoding */
};

ce_encoding *ce_encoding_alloc(size_t n);

/* One encoding holding @p n_encs encodings one after another (a batch);
 * NULL when out of memory. The parts stay owned by the caller. */
ce_encoding *ce_encoding_concat(ce_encoding *const *encs, size_t n_encs);

/* Cut a and b (b may be NULL) to at most max_tokens together, as Hugging
 * Face's "longest_first" truncation does. */
void ce_truncate_longest_first(ce_tok_list *a, ce_tok_list *b, size_t max_tokens);

/* Lay out the final encoding: the template's pieces, special ones only when
 * add_special. */
ce_status ce_template_apply(const ce_template *t, const ce_tok_list *a, const ce_tok_list *b,
                            bool add_special, ce_encoding **out);

#endif
