/* contextembed embed: its arguments, its sequences and its output, each in
 * its own file (embed_args.c, embed_seqs.c, embed_output.c); cmd_embed.c
 * runs them in order, with a progress line (progress.c) and a clean stop on
 * SIGINT (interrupt.c). */
#ifndef CLI_EMBED_H
#define CLI_EMBED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "contextembed/contextembed.h"
#include "out_file.h"
#include "text_input.h"

/* Tokens per ce_session_run() unless --batch-tokens says otherwise. */
#define EMBED_BATCH_TOKENS 2048

typedef enum embed_layers {
    EMBED_LAYERS_DEFAULT = 0, /* the last layer */
    EMBED_LAYERS_LIST,        /* --layer N or --layers I,J,.. */
    EMBED_LAYERS_ALL,         /* --layers all */
    EMBED_LAYERS_MIX,         /* --mix W0,W1,..[:GAMMA] */
} embed_layers;

typedef struct embed_args {
    const char *model, *backend, *output, *pair;
    const char *input;        /* --input FILE, or NULL */
    const char *precision;    /* --precision, or NULL (f32) */
    long threads;             /* < 0: the library's default */
    long stride;              /* --stride: window overlap; 0 = the library's default */
    long batch_tokens;        /* --batch-tokens: tokens per run; 0 = the default */
    embed_layers layer_mode;
    const char *layer_flag;   /* the option that chose the layers, for messages */
    int32_t *layers;          /* EMBED_LAYERS_LIST */
    size_t n_layers;
    float *mix;               /* EMBED_LAYERS_MIX */
    size_t n_mix;
    float gamma;
    int pool;                 /* a ce_pool; -1 until resolved against the model */
    int normalize, truncate;  /* -1: the model's default (sentence-transformers) */
    int add_special, special_as_text, npy, jsonl;
    int carry_state;          /* --carry-state (ELMo) */
    int windows, stack, skip_bad;
    int progress;             /* --progress 1, --no-progress 0, else -1 (automatic) */
    int32_t *ids, *type_ids;  /* --ids / --type-ids */
    size_t n_ids, n_type_ids;
    char **texts;             /* positional arguments (room for argc) */
    size_t n_texts;
} embed_args;

/* -1: --help printed; otherwise an exit code (0 = go on). */
int cli_embed_parse(int argc, char **argv, embed_args *a);
void cli_embed_args_free(embed_args *a);

/* The selection the arguments ask for, checked against the model (a layer
 * out of range or a mix of the wrong length is a usage error). */
int cli_embed_select(const embed_args *a, const ce_model *m, ce_select **out);

/* The sequences of one invocation, concatenated as ce_session_run() takes them. */
typedef struct embed_seqs {
    size_t n;
    size_t *lengths;   /* n */
    size_t *starts;    /* n + 1 prefix sums of lengths */
    int32_t *ids;      /* starts[n] */
    int32_t *type_ids; /* starts[n], or NULL (all 0) */
    size_t *offsets;   /* 2 * starts[n], or NULL (--ids) */
} embed_seqs;

/* Tokenize every text (with the pair when given); max_length 0 = no limit.
 * When the tokenizer refuses a text, returns 1 with *failed set to its index
 * and ce_last_error() saying why, and prints nothing. */
int cli_seqs_from_texts(embed_seqs *s, const ce_tokenizer *tok, const cli_texts *t,
                        const char *pair, uint32_t flags, size_t max_length, size_t *failed);
/* One sequence of given ids (type_ids may be NULL). */
int cli_seqs_from_ids(embed_seqs *s, const int32_t *ids, const int32_t *type_ids, size_t n);
void cli_seqs_free(embed_seqs *s);

/* Run sequences [first, end) of @p s, tokenised from texts @p t by a
 * whitespace tokenizer, as words (ELMo): ce_session_run_words's status. */
ce_status cli_run_words(ce_session *session, const embed_seqs *s, const cli_texts *t,
                        size_t first, size_t end);

/* Where results go: JSON lines to a stream, .npy files, or one stacked .npy
 * (see --help). Files named by -o are written as "FILE.partial" and renamed
 * when complete (out_file.h). */
typedef struct embed_sink {
    FILE *json;            /* JSON lines: standard output or out.f */
    const char *npy_path;  /* .npy: NULL for standard output */
    int npy, stack, with_types;
    size_t n_items;
    const size_t *pos;     /* --skip-bad: each item's input position, else NULL */
    cli_out_file out;      /* -o FILE (JSON lines or the stacked array) */
    size_t row_shape[3], row_ndim; /* --stack: one row's shape, once known */
    size_t rows;           /* --stack: rows written */
} embed_sink;

/* One sequence's result. */
typedef struct embed_item {
    const int32_t *ids, *type_ids; /* n_tokens; type_ids NULL to leave them out */
    const size_t *offsets;         /* 2 * n_tokens, or NULL (written as []) */
    size_t n_tokens;
    size_t shape[3], ndim;
    const float *data;             /* product of shape */
} embed_item;

/* @p pos: see embed_sink (NULL unless --skip-bad). */
int cli_sink_open(embed_sink *k, const embed_args *a, size_t n_items, const size_t *pos);
/* Item @p index (0-based, in input order) of the n_items. */
int cli_sink_write(embed_sink *k, size_t index, const embed_item *item);
/* After the last item: finish the output (a stack of no rows takes its row
 * shape from @p empty_row, @p empty_ndim). */
int cli_sink_close(embed_sink *k, const size_t *empty_row, size_t empty_ndim);
/* After a failure or interruption: remove unfinished files; 1 when one was
 * removed. */
int cli_sink_abort(embed_sink *k);

#endif
