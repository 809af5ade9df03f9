/* Question answering: the best answer spans, chosen as Hugging Face's
 * question-answering pipeline chooses them (select_starts_ends, decode_spans):
 * see pipelines.h. */
#include <math.h>
#include <stdbool.h>

#include "pipelines.h"

void pipe_qa_masks(const int32_t *ids, const int32_t *seq_ids, size_t n, int32_t cls_id,
                   unsigned char *keep, unsigned char *context)
{
    for (size_t i = 0; i < n; i++) {
        context[i] = seq_ids[i] == 1;
        /* Hugging Face leaves [CLS] unmasked (models trained with unanswerable
         * questions point there), so it takes part in the softmax. */
        keep[i] = context[i] || (cls_id >= 0 && ids[i] == cls_id);
    }
}

void pipe_qa_probs(const float *logits, const unsigned char *keep, size_t n, double *probs)
{
    double max = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) {
        probs[i] = keep[i] ? (double)logits[i] : -10000.0;
        max = probs[i] > max ? probs[i] : max;
    }
    for (size_t i = 0; i < n; i++)
        sum += probs[i] = exp(probs[i] - max);
    for (size_t i = 0; i < n; i++)
        probs[i] /= sum;
    if (n)
        probs[0] = 0.0; /* "Mask CLS": after the softmax, so it still normalised */
}

/* a ranks before b: higher score, then earlier window, lower start, lower end. */
static int span_before(const pipe_span *a, const pipe_span *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->window != b->window)
        return a->window < b->window;
    if (a->start != b->start)
        return a->start < b->start;
    return a->end < b->end;
}

/* Insert c into the sorted best[0..have) of at most k; the new count. */
static size_t insert(pipe_span *best, size_t have, size_t k, pipe_span c)
{
    if (have == k && !span_before(&c, &best[k - 1]))
        return have;
    size_t j = have < k ? have++ : k - 1;
    for (; j > 0 && span_before(&c, &best[j - 1]); j--)
        best[j] = best[j - 1];
    best[j] = c;
    return have;
}

size_t pipe_qa_add_spans(const double *p_start, const double *p_end, const unsigned char *context,
                         size_t n, size_t window, size_t max_answer, pipe_span *best, size_t have,
                         size_t k)
{
    if (!k)
        return 0;
    for (size_t s = 0; s < n; s++) {
        if (!context[s])
            continue;
        size_t stop = max_answer < n - s ? s + max_answer : n;
        for (size_t e = s; e < stop; e++)
            if (context[e])
                have = insert(best, have, k, (pipe_span){window, s, e, p_start[s] * p_end[e]});
    }
    return have;
}

static bool same_word(const int32_t *words, const int32_t *seq_ids, size_t a, size_t b)
{
    return words[a] >= 0 && words[a] == words[b] && seq_ids[a] == seq_ids[b];
}

void pipe_qa_word_span(const int32_t *words, const int32_t *seq_ids, const size_t *index, size_t n,
                       size_t *start, size_t *end)
{
    while (*start > 0 && same_word(words, seq_ids, index[*start], index[*start - 1]))
        --*start;
    while (*end + 1 < n && same_word(words, seq_ids, index[*end], index[*end + 1]))
        ++*end;
}
