/* What the language-model commands (logits, score, generate) share: their
 * common options, opening a decoder model, the prompt as token ids, reading
 * logits, log-softmax and token text. Written on the public API only, so each
 * piece shows a user how the library is driven. */
#ifndef CLI_LM_H
#define CLI_LM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "contextembed/contextembed.h"

/* Option ids every LM command has; a command's own ids start at LM_OPT_OWN. */
enum {
    LM_OPT_MODEL = 1,
    LM_OPT_IDS,
    LM_OPT_BACKEND,
    LM_OPT_THREADS,
    LM_OPT_HELP,
    LM_OPT_PRECISION,
    LM_OPT_OWN
};

#define LM_COMMON_OPTS                                                                     \
    {LM_OPT_MODEL, 'm', "model", 1}, {LM_OPT_IDS, 0, "ids", 1},                            \
    {LM_OPT_BACKEND, 0, "backend", 1}, {LM_OPT_THREADS, 0, "threads", 1},                  \
    {LM_OPT_HELP, 'h', "help", 0}, {LM_OPT_PRECISION, 0, "precision", 1}

/* The common options' help lines. */
#define LM_COMMON_HELP                                                                  \
    "  -m, --model DIR        decoder model directory (GPT-2, Hugging Face layout)\n"   \
    "      --ids I,J,..       the prompt as token ids instead of TEXT\n"                \
    "      --backend NAME     ref, blis, onednn or auto (default)\n"                    \
    "      --threads N        compute threads (0 = all CPUs, the default)\n"          \
    "      --precision P      f32 (default), bf16 or int8 (weight-only, faster decoding)\n"

typedef struct lm_args {
    const char *cmd; /* "logits", ... for messages */
    const char *model, *backend, *text, *precision;
    long threads;    /* < 0: the library's default */
    int32_t *ids;    /* --ids, malloc'd */
    size_t n_ids;
} lm_args;

/* Handle a common option or a positional argument (the one TEXT). Returns 0
 * when handled, -1 after --help was printed (with @p usage), -2 when @p id is
 * not a common option (the caller's own), else an exit code. */
int cli_lm_common_opt(lm_args *a, int id, const char *v, const cli_parser *p, const char *usage);

/* After parsing: -m given, exactly one of TEXT and --ids. */
int cli_lm_check_args(const lm_args *a);

void cli_lm_args_free(lm_args *a);

/* An open decoder model with one session. */
typedef struct lm_ctx {
    ce_options *opts;
    ce_model *model;
    ce_session *session;
    const ce_tokenizer *tok; /* borrowed from model; NULL when it has none */
    size_t vocab, max_positions;
    float *logits;           /* cli_lm_read_logits() */
    size_t logits_cap;
} lm_ctx;

/* Open the model and a session; refuse a model that cannot decode. */
int cli_lm_open(const lm_args *a, lm_ctx *c);
void cli_lm_close(lm_ctx *c);

/* The prompt: --ids as given, or TEXT ("-": all of standard input) encoded
 * without added special tokens, as Hugging Face's GPT-2 tokenizer does. An
 * empty prompt is a usage error. *ids is malloc'd. */
int cli_lm_prompt(const lm_args *a, const lm_ctx *c, int32_t **ids, size_t *n);

/* Copy the logits of the last append into c->logits; *rows gets their rows. */
int cli_lm_read_logits(lm_ctx *c, size_t *rows);

/* log(sum(exp(row))) in double, stable for any finite row. */
double cli_lm_logsumexp(const float *row, size_t n);

/* The text of one token as ce_tokenizer_decode() gives it (special tokens
 * kept), malloc'd with its length; NULL when there is no tokenizer or on
 * failure. A byte-level token may hold part of a UTF-8 character: the JSON
 * writer shows that as U+FFFD. */
char *cli_lm_token_text(const ce_tokenizer *tok, int32_t id, size_t *len);

/* The JSON string of a token's text, or null without a tokenizer. */
void cli_lm_json_token(FILE *f, const ce_tokenizer *tok, int32_t id);

/* A double as JSON ("%.9g"; null when not finite). */
void cli_lm_json_double(FILE *f, double v);

/* Strict parse of a finite double within [min, max]. 1 on success. */
int cli_lm_parse_double(const char *s, double min, double max, double *out);

#endif
