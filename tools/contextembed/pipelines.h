/* The rules that turn task-head logits into answers, as Hugging Face's
 * pipelines apply them: fill-mask and text-classification (pipe_scores.c),
 * token-classification with aggregation_strategy="simple" (pipe_entities.c),
 * question-answering (pipe_windows.c, pipe_spans.c).
 *
 * Everything here works on plain arrays, with no model and no tokenizer, so
 * test/test-pipelines.c checks each rule on hand-made logits
 * (the JSON files of test/fixtures/pipelines/); bindings/python/contextembed/pipelines.py
 * is the same rules in Python, checked on the same files. Probabilities are
 * computed in double (Hugging Face computes in float32: the last bits differ,
 * never the choice, save for exact float32 ties). */
#ifndef CLI_PIPELINES_H
#define CLI_PIPELINES_H

#include <stddef.h>
#include <stdint.h>

/* ---- scores: fill-mask, classify (pipe_scores.c) ---- */

/* probs = softmax(logits), stable for any finite row. */
void pipe_softmax(const float *logits, size_t n, double *probs);

/* probs = 1 / (1 + exp(-logits)), element-wise (multi-label classification). */
void pipe_sigmoid(const float *logits, size_t n, double *probs);

/* Index of the largest value; the lowest index among equal ones (numpy's argmax). */
size_t pipe_argmax(const double *v, size_t n);

/* Indices of the min(k, n) largest values into out, largest first; equal values
 * lower index first, NaN last. Returns the count, 0 when out of memory (only a
 * large k allocates). */
size_t pipe_top_k(const double *v, size_t n, size_t k, size_t *out);

/* ---- entities: tag (pipe_entities.c) ---- */

/* One entity: consecutive tokens grouped as Hugging Face's
 * TokenClassificationPipeline.group_entities() does. */
typedef struct pipe_entity {
    const char *type; /* the first token's label after its first '-' (borrowed from labels) */
    size_t type_len;
    size_t first, last; /* token indices of the first and last token */
    size_t start, end;  /* byte offsets: the first token's start, the last token's end */
    double score;       /* mean of the tokens' probabilities */
} pipe_entity;

/* label[t] = argmax of row t of probs [n_tokens][n_labels] (ties: lower index). */
void pipe_token_labels(const double *probs, size_t n_tokens, size_t n_labels, size_t *label);

/* Entities of one sequence. probs [n_tokens][n_labels] are softmax rows;
 * skip[t] non-zero for special tokens; offsets holds 2 per token; labels the
 * n_labels names. Each token takes its argmax label with that probability;
 * B-X / I-X have type X (another label is its own type, as an I-); a token
 * joins the current group when its type equals the group's last token's and
 * it is not a B-; groups whose type ("-" split) is "O" are dropped. out has
 * room for n_tokens entities; returns how many were written. */
size_t pipe_group_entities(const double *probs, size_t n_tokens, size_t n_labels,
                           const unsigned char *skip, const size_t *offsets,
                           const char *const *labels, pipe_entity *out);

/* ---- question answering: windows (pipe_windows.c) ---- */

/* Windows over the context tokens, as Hugging Face tokenizers' overflow with
 * truncation "only_second" and a stride: window k holds context tokens
 * [first, end). */
typedef struct pipe_window {
    size_t first, end;
} pipe_window;

/* How the n tokens of one (question, context) pair encoding split into
 * windows of at most max_len tokens, consecutive windows sharing stride
 * context tokens. seq_ids are ce_encoding_sequence_ids() (-1 special, 0
 * question, 1 context). Writes up to cap windows to out (NULL to count) and
 * returns the number needed; 0 when the pair cannot be split: no context
 * token, the question leaves no room (*why = 1), or stride is not below the
 * context tokens a window holds (*why = 2; *room gets that number). */
size_t pipe_qa_windows(const int32_t *seq_ids, size_t n, size_t max_len, size_t stride,
                       pipe_window *out, size_t cap, size_t *room, int *why);

/* Encoding indices of window w's tokens, in order: every token that is not a
 * context token (the template and the question) and context tokens
 * w.first .. w.end - 1 in their place. index has room for n; returns the
 * window's length. */
size_t pipe_qa_window_tokens(const int32_t *seq_ids, size_t n, pipe_window w, size_t *index);

/* ---- question answering: spans (pipe_spans.c) ---- */

/* Per window token: keep[i] (its logit takes part in the softmax) for context
 * tokens and, as Hugging Face's p_mask keeps it, any token whose id is cls_id
 * (-1: none); context[i] (may begin or end an answer) for context tokens. */
void pipe_qa_masks(const int32_t *ids, const int32_t *seq_ids, size_t n, int32_t cls_id,
                   unsigned char *keep, unsigned char *context);

/* Start (or end) probabilities of one window: logits of tokens not kept
 * become -10000, a softmax over the window, then the first token's
 * probability is set to 0 (the [CLS] position). */
void pipe_qa_probs(const float *logits, const unsigned char *keep, size_t n, double *probs);

/* An answer candidate: window token positions start..end (inclusive). */
typedef struct pipe_span {
    size_t window, start, end;
    double score; /* p_start[start] * p_end[end] */
} pipe_span;

/* Merge one window's candidates into best[0..have), kept sorted (higher score
 * first; equal scores: earlier window, then lower start, then lower end) and
 * at most k long. Candidates: start <= end < start + max_answer, both context
 * tokens. Returns the new count. */
size_t pipe_qa_add_spans(const double *p_start, const double *p_end, const unsigned char *context,
                         size_t n, size_t window, size_t max_answer, pipe_span *best, size_t have,
                         size_t k);

/* The answer's tokens widened to whole words, as the pipeline's
 * align_to_words does: *start moves back to the first, *end on to the last
 * token of its word among the window's tokens (a word a window cuts keeps
 * only its part inside). words and seq_ids are of the whole encoding
 * (ce_encoding_word_ids(), ce_encoding_sequence_ids()), index the window's
 * encoding indices (pipe_qa_window_tokens), n its length. */
void pipe_qa_word_span(const int32_t *words, const int32_t *seq_ids, const size_t *index, size_t n,
                       size_t *start, size_t *end);

#endif
