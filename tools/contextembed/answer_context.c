/* contextembed answer, one context: encode (question, context) once, cut the
 * encoding into windows, run them, keep each window's logits and merge its
 * best spans (pipelines.h has the rules). */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "cli.h"

void cli_answer_result_free(answer_result *res)
{
    for (size_t k = 0; k < res->n_windows; k++) {
        free(res->index ? res->index[k] : NULL);
        free(res->start ? res->start[k] : NULL);
        free(res->end ? res->end[k] : NULL);
    }
    free(res->index);
    free(res->start);
    free(res->end);
    free(res->lengths);
    free(res->windows);
    free(res->best);
    ce_encoding_free(res->enc);
    memset(res, 0, sizeof *res);
}

static int encode_pair(head_ctx *c, const answer_opts *o, const cli_text *context,
                       const char *what, answer_result *res)
{
    const ce_tokenizer *tok;
    int rc = cli_head_tokenizer(c, &tok);
    if (rc)
        return rc;
    ce_status st = ce_tokenizer_encode(tok, o->question, strlen(o->question), context->data,
                                       context->len, CE_ENCODE_ADD_SPECIAL, 0, &res->enc);
    if (st != CE_OK)
        return cli_failf("%s (%s)", ce_last_error(), what);
    size_t n = ce_encoding_length(res->enc), counts[2] = {0, 0};
    const int32_t *seq = ce_encoding_sequence_ids(res->enc);
    for (size_t i = 0; i < n; i++)
        if (seq[i] == 0 || seq[i] == 1)
            counts[seq[i]]++;
    if (!counts[0])
        return cli_failf("the question is empty (it has no tokens): --question needs words");
    if (!counts[1])
        return cli_failf("%s is empty (it has no tokens): nothing to find an answer in", what);
    return CLI_EXIT_OK;
}

/* The windows and each one's token indices; room for their logits. */
static int split(const answer_opts *o, const char *what, answer_result *res)
{
    const int32_t *seq = ce_encoding_sequence_ids(res->enc);
    size_t n = ce_encoding_length(res->enc), room = 0;
    int why = 0;
    size_t count = pipe_qa_windows(seq, n, o->max_seq_len, o->stride, NULL, 0, &room, &why);
    if (!count && why == 1)
        return cli_failf("the question takes %zu tokens with the special ones: no room for the "
                         "context within --max-seq-len %zu", n - room, o->max_seq_len);
    if (!count)
        return cli_failf("%s: --doc-stride %zu must be below the %zu context tokens a window "
                         "holds (--max-seq-len %zu less the question and special tokens)",
                         what, o->stride, room, o->max_seq_len);
    res->windows = calloc(count, sizeof *res->windows);
    res->index = calloc(count, sizeof *res->index);
    res->start = calloc(count, sizeof *res->start);
    res->end = calloc(count, sizeof *res->end);
    res->lengths = calloc(count, sizeof *res->lengths);
    size_t n_context = 0;
    for (size_t i = 0; i < n; i++)
        n_context += seq[i] == 1;
    size_t longest = o->max_answer < n_context ? o->max_answer : n_context;
    res->k = o->top < n_context * longest ? o->top : n_context * longest; /* no more than exist */
    res->best = calloc(res->k, sizeof *res->best);
    if (!res->windows || !res->index || !res->start || !res->end || !res->lengths || !res->best)
        return cli_failf("out of memory");
    res->n_windows = count;
    pipe_qa_windows(seq, n, o->max_seq_len, o->stride, res->windows, count, &room, &why);
    for (size_t k = 0; k < count; k++) {
        if (!(res->index[k] = malloc(n * sizeof *res->index[k])))
            return cli_failf("out of memory");
        res->lengths[k] = pipe_qa_window_tokens(seq, n, res->windows[k], res->index[k]);
    }
    return CLI_EXIT_OK;
}

/* What emit() needs: the windows' ids and scratch as long as the longest window. */
typedef struct qa_work {
    head_ctx *c;
    const answer_opts *o;
    answer_result *res;
    head_seq *seqs;
    int32_t *tokens; /* ids then type ids of every window */
    int32_t *seq_ids; /* one window's sequence ids */
    double *p_start, *p_end;
    unsigned char *keep, *context;
} qa_work;

static int make_seqs(qa_work *w)
{
    answer_result *res = w->res;
    size_t total = 0, longest = 1;
    for (size_t k = 0; k < res->n_windows; k++) {
        total += res->lengths[k];
        longest = res->lengths[k] > longest ? res->lengths[k] : longest;
    }
    w->seqs = calloc(res->n_windows, sizeof *w->seqs);
    w->tokens = malloc(2 * total * sizeof *w->tokens);
    w->seq_ids = malloc(longest * sizeof *w->seq_ids);
    w->p_start = malloc(longest * sizeof *w->p_start);
    w->p_end = malloc(longest * sizeof *w->p_end);
    w->keep = malloc(longest);
    w->context = malloc(longest);
    if (!w->seqs || !w->tokens || !w->seq_ids || !w->p_start || !w->p_end || !w->keep ||
        !w->context)
        return cli_failf("out of memory");
    const int32_t *ids = ce_encoding_ids(res->enc), *types = ce_encoding_type_ids(res->enc);
    int32_t *at = w->tokens;
    for (size_t k = 0; k < res->n_windows; k++) {
        size_t len = res->lengths[k];
        for (size_t i = 0; i < len; i++) {
            at[i] = ids[res->index[k][i]];
            at[len + i] = types[res->index[k][i]];
        }
        w->seqs[k] = (head_seq){at, at + len, len};
        at += 2 * len;
    }
    return CLI_EXIT_OK;
}

/* Window k's logits, [T, 2]: keep them, and merge its spans into the best. */
static int emit(void *user, size_t k, const size_t *shape, size_t ndim)
{
    qa_work *w = user;
    answer_result *res = w->res;
    size_t len = res->lengths[k];
    if (ndim != 2 || shape[0] != len || shape[1] != 2)
        return cli_failf("unexpected question-answering output shape");
    res->start[k] = malloc(len * sizeof *res->start[k]);
    res->end[k] = malloc(len * sizeof *res->end[k]);
    if (!res->start[k] || !res->end[k])
        return cli_failf("out of memory");
    for (size_t i = 0; i < len; i++) {
        res->start[k][i] = w->c->logits[2 * i];
        res->end[k][i] = w->c->logits[2 * i + 1];
    }
    const int32_t *seq = ce_encoding_sequence_ids(res->enc);
    for (size_t i = 0; i < len; i++)
        w->seq_ids[i] = seq[res->index[k][i]];
    pipe_qa_masks(w->seqs[k].ids, w->seq_ids, len, w->o->cls_id, w->keep, w->context);
    pipe_qa_probs(res->start[k], w->keep, len, w->p_start);
    pipe_qa_probs(res->end[k], w->keep, len, w->p_end);
    res->n_best = pipe_qa_add_spans(w->p_start, w->p_end, w->context, len, k, w->o->max_answer,
                                    res->best, res->n_best, res->k);
    return CLI_EXIT_OK;
}

int cli_answer_context(head_ctx *c, const answer_opts *o, const cli_text *context,
                       const char *what, answer_result *res)
{
    qa_work w = {c, o, res, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int rc = encode_pair(c, o, context, what, res);
    if (!rc)
        rc = split(o, what, res);
    if (!rc)
        rc = make_seqs(&w);
    if (!rc)
        rc = cli_head_run(c, w.seqs, res->n_windows, "window", emit, &w);
    if (!rc && !res->n_best)
        rc = cli_failf("%s: no answer span in the context", what);
    free(w.seqs);
    free(w.tokens);
    free(w.seq_ids);
    free(w.p_start);
    free(w.p_end);
    free(w.keep);
    free(w.context);
    return rc;
}
