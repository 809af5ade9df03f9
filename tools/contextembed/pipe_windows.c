/* Question answering: a long context split into overlapping windows, the
 * way Hugging Face's question-answering pipeline gets them from its tokenizer
 * (truncation="only_second", return_overflowing_tokens, stride = doc_stride):
 * every window is the pair template around the whole question and a slice of
 * the context tokens. Built from one encoding of the whole pair, so no text is
 * tokenized twice and any template (BERT's, RoBERTa's) works. See pipelines.h. */
#include "pipelines.h"

size_t pipe_qa_windows(const int32_t *seq_ids, size_t n, size_t max_len, size_t stride,
                       pipe_window *out, size_t cap, size_t *room, int *why)
{
    size_t n_context = 0;
    for (size_t i = 0; i < n; i++)
        n_context += seq_ids[i] == 1;
    *why = 0;
    *room = n_context;
    if (!n_context)
        return 0;
    if (n <= max_len) { /* no truncation: one window, whatever the stride */
        if (cap)
            out[0] = (pipe_window){0, n_context};
        return 1;
    }
    size_t others = n - n_context;
    *room = max_len > others ? max_len - others : 0;
    if (!*room) {
        *why = 1;
        return 0;
    }
    if (stride >= *room) {
        *why = 2;
        return 0;
    }
    /* Tokenizers' Encoding::truncate: windows start every room - stride
     * tokens; the first to reach the end is the last. */
    size_t step = *room - stride, count = 1 + (n_context - *room + step - 1) / step;
    for (size_t k = 0; k < count && k < cap; k++) {
        size_t first = k * step, end = first + *room;
        out[k] = (pipe_window){first, end < n_context ? end : n_context};
    }
    return count;
}

size_t pipe_qa_window_tokens(const int32_t *seq_ids, size_t n, pipe_window w, size_t *index)
{
    size_t len = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        int context = seq_ids[i] == 1;
        if (!context || (c >= w.first && c < w.end))
            index[len++] = i;
        c += context;
    }
    return len;
}
