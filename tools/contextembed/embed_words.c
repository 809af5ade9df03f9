/* contextembed embed on models that read words (ELMo): the texts of a chunk
 * concatenated, with the whitespace tokenizer's per-text word offsets moved
 * to match, as ce_session_run_words takes them. */
#include <stdlib.h>
#include <string.h>

#include "embed.h"

ce_status cli_run_words(ce_session *session, const embed_seqs *s, const cli_texts *t, size_t first,
                        size_t end)
{
    size_t bytes = 0, n_words = s->starts[end] - s->starts[first];
    for (size_t i = first; i < end; i++)
        bytes += t->items[i].len;
    char *text = malloc(bytes ? bytes : 1);
    size_t *offsets = malloc((n_words ? 2 * n_words : 1) * sizeof *offsets);
    if (!text || !offsets) {
        free(text);
        free(offsets);
        return CE_ERR_OUT_OF_MEMORY;
    }
    size_t base = 0, w = 0;
    for (size_t i = first; i < end; i++) {
        memcpy(text + base, t->items[i].data, t->items[i].len);
        for (size_t k = 2 * s->starts[i]; k < 2 * s->starts[i + 1]; k++)
            offsets[w++] = s->offsets[k] + base;
        base += t->items[i].len;
    }
    ce_status st =
        ce_session_run_words(session, end - first, s->lengths + first, text, bytes, offsets);
    free(text);
    free(offsets);
    return st;
}
