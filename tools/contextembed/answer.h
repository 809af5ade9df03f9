/* contextembed answer: its arguments and output (cmd_answer.c) and the work on
 * one context (answer_context.c): windows, their logits, the best spans. */
#ifndef CLI_ANSWER_H
#define CLI_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "heads.h"
#include "pipelines.h"

typedef struct answer_opts {
    const char *question;
    size_t top, max_answer, stride, max_seq_len;
    int32_t cls_id; /* -1: the tokenizer has no [CLS] */
} answer_opts;

/* One context's result. */
typedef struct answer_result {
    ce_encoding *enc;     /* the (question, context) pair encoding */
    pipe_window *windows; /* n_windows */
    size_t n_windows;
    size_t **index;       /* per window: the encoding index of each token */
    size_t *lengths;      /* per window: its tokens */
    float **start, **end; /* per window: its start and end logits */
    pipe_span *best;      /* n_best, best first */
    size_t n_best, k;     /* k: room of best, top capped at the number of spans */
} answer_result;

/* Encode the pair, split it into windows, run them and choose the best
 * spans. @p what names the context in messages ("context 2"). On failure the
 * message is printed. Free @p res with cli_answer_result_free() in any case. */
int cli_answer_context(head_ctx *c, const answer_opts *o, const cli_text *context,
                       const char *what, answer_result *res);
void cli_answer_result_free(answer_result *res);

#endif
