/* What the task-head commands (fill-mask, classify, tag, answer) share: the
 * common options, opening a model and choosing its head, label names, running
 * token sequences in batches and reading the head's logits, a few JSON bits.
 * Written on the public API only. The rules that turn logits into answers are
 * in pipelines.h. */
#ifndef CLI_HEADS_H
#define CLI_HEADS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "contextembed/contextembed.h"
#include "text_input.h"

/* Option ids every head command has; a command's own ids start at HEAD_OPT_OWN. */
enum {
    HEAD_OPT_MODEL = 1, HEAD_OPT_BACKEND, HEAD_OPT_THREADS, HEAD_OPT_JSONL, HEAD_OPT_FORMAT,
    HEAD_OPT_HELP, HEAD_OPT_IDS, HEAD_OPT_TYPE_IDS, HEAD_OPT_OWN
};

#define HEAD_COMMON_OPTS                                                                   \
    {HEAD_OPT_MODEL, 'm', "model", 1}, {HEAD_OPT_BACKEND, 0, "backend", 1},                \
    {HEAD_OPT_THREADS, 0, "threads", 1}, {HEAD_OPT_JSONL, 0, "jsonl", 0},                  \
    {HEAD_OPT_FORMAT, 0, "format", 1}, {HEAD_OPT_HELP, 'h', "help", 0}

/* --ids and --type-ids, for the commands that take them. */
#define HEAD_IDS_OPTS {HEAD_OPT_IDS, 0, "ids", 1}, {HEAD_OPT_TYPE_IDS, 0, "type-ids", 1}

#define HEAD_COMMON_HELP                                                                 \
    "  -m, --model DIR        model directory (Hugging Face layout) with the head\n"     \
    "      --format json      the only format (one JSON object per line)\n"              \
    "      --backend NAME     ref, blis, onednn or auto (default)\n"                     \
    "      --threads N        compute threads (0 = all CPUs, the default)\n"             \
    "      --jsonl            standard input holds one JSON string per line\n"

#define HEAD_IDS_HELP                                                                    \
    "      --ids I,J,..       one sequence of token ids as given (no tokenizer, no\n"    \
    "                         special tokens added) instead of the texts\n"              \
    "      --type-ids T,T,..  token types of --ids (default all 0)\n"

#define HEAD_TEXTS_HELP                                                                  \
    "Texts come from the arguments (after \"--\" they may begin with '-'), or from\n"    \
    "standard input, one per line, when there are none or an argument is \"-\".\n"

typedef struct head_args {
    const char *cmd; /* "fill-mask", ... for messages */
    const char *model, *backend;
    long threads;    /* < 0: the library's default */
    int jsonl;
    int32_t *ids, *type_ids; /* --ids / --type-ids, malloc'd */
    size_t n_ids, n_type_ids;
    char **texts;    /* positional arguments (room for argc) */
    size_t n_texts;
} head_args;

/* Set the defaults; 1 when out of memory (message printed). */
int cli_head_args_init(head_args *a, const char *cmd, int argc);
void cli_head_args_free(head_args *a);

/* Handle a common option, --ids / --type-ids or a positional argument.
 * Returns 0 when handled, -1 after --help was printed (with @p usage), -2
 * when @p id is the caller's own, else an exit code. */
int cli_head_common_opt(head_args *a, int id, const char *v, const cli_parser *p,
                        const char *usage);

/* After parsing: -m given; --ids excludes texts and --jsonl. */
int cli_head_check_args(const head_args *a);

/* An open model with one session and the head a command reads. */
typedef struct head_ctx {
    const char *cmd, *path;
    ce_options *opts;
    ce_model *model;
    ce_session *session;
    const ce_tokenizer *tok; /* borrowed from model; NULL when it has none */
    ce_head head;
    size_t size;             /* ce_model_head_size() of head */
    cli_texts texts;         /* the texts, unless --ids */
    float *logits;           /* the last sequence's head output */
    size_t cap;
} head_ctx;

/* Read the texts (unless --ids), open the model and a session, and choose
 * the first of @p want[0..n_want) the model has; when it has none, fail with
 * a message naming the heads it has. */
int cli_head_open(const head_args *a, const ce_head *want, size_t n_want, head_ctx *c);
void cli_head_close(head_ctx *c);

/* The tokenizer, or a failure message saying --ids is needed. */
int cli_head_tokenizer(const head_ctx *c, const ce_tokenizer **tok);

/* Names of the head's outputs (ce_model_head_label(), "LABEL_i" where it has
 * none): c->size malloc'd strings in a malloc'd array (cli_head_labels_free). */
int cli_head_labels(const head_ctx *c, char ***names);
void cli_head_labels_free(char **names, size_t n);

/* Encode every text (each with @p pair when not NULL) with the special
 * tokens; encs[i] owned by the caller (cli_head_encodings_free). */
int cli_head_encode(const head_ctx *c, const char *pair, ce_encoding ***encs);
void cli_head_encodings_free(ce_encoding **encs, size_t n);

/* One token sequence to run. */
typedef struct head_seq {
    const int32_t *ids, *type_ids; /* type_ids NULL: all 0 */
    size_t n;
} head_seq;

/* Called for each sequence, in order, with its head logits (c->logits) and
 * their shape ([T, size] or [size]); returns an exit code (0 = go on). */
typedef int (*head_emit)(void *user, size_t index, const size_t *shape, size_t ndim);

/* Run @p seqs in batches of bounded size and hand each sequence's logits to
 * @p emit. A failed run names the sequence at fault as "(@p what i)". */
int cli_head_run(head_ctx *c, const head_seq *seqs, size_t n, const char *what, head_emit emit,
                 void *user);

/* JSON: an array of strings; a double ("%.9g" as embed's floats, null when
 * not finite); an array of doubles. */
void cli_head_json_strings(FILE *f, char *const *s, size_t n);
void cli_head_json_double(FILE *f, double v);
void cli_head_json_doubles(FILE *f, const double *v, size_t n);

#endif
