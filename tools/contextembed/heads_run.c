/* The task-head commands' runs: sequences go to ce_session_run() in batches of
 * bounded size (so the session's scratch stays bounded however many lines
 * standard input holds), then each sequence's head logits are read. See heads.h. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "heads.h"

/* Bounds of one ce_session_run() call (a longer sequence runs alone). */
#define CHUNK_TOKENS 2048
#define CHUNK_SEQS 64

static size_t chunk_end(const head_seq *s, size_t n, size_t first)
{
    size_t end = first + 1, tokens = s[first].n;
    while (end < n && end - first < CHUNK_SEQS && tokens + s[end].n <= CHUNK_TOKENS)
        tokens += s[end++].n;
    return end;
}

/* Run sequences [first, end) as one batch: ce_session_run()'s status, or
 * CE_ERR_OUT_OF_MEMORY for the concatenated arrays. */
static ce_status run_range(ce_session *session, const head_seq *s, size_t first, size_t end)
{
    size_t total = 0, at = 0;
    int typed = 0;
    for (size_t i = first; i < end; i++) {
        total += s[i].n;
        typed |= s[i].type_ids != NULL;
    }
    size_t *lengths = malloc((end - first) * sizeof *lengths);
    int32_t *ids = malloc((total ? total : 1) * sizeof *ids);
    int32_t *types = typed ? calloc(total ? total : 1, sizeof *types) : NULL;
    ce_status st = CE_ERR_OUT_OF_MEMORY;
    if (lengths && ids && (types || !typed)) {
        for (size_t i = first; i < end; at += s[i++].n) {
            lengths[i - first] = s[i].n;
            memcpy(ids + at, s[i].ids, s[i].n * sizeof *ids);
            if (s[i].type_ids)
                memcpy(types + at, s[i].type_ids, s[i].n * sizeof *types);
        }
        st = ce_session_run(session, end - first, lengths, ids, types);
    }
    free(lengths);
    free(ids);
    free(types);
    return st;
}

/* A failed batch: run its sequences one by one to name the one at fault,
 * since the library's message counts within the run. */
static int run_failed(head_ctx *c, const head_seq *s, ce_status st, size_t first, size_t end,
                      const char *what)
{
    for (size_t i = first; i < end && end - first > 1; i++)
        if ((st = run_range(c->session, s, i, i + 1)) != CE_OK) {
            first = i;
            break;
        }
    fflush(stdout);
    if (st == CE_ERR_OUT_OF_MEMORY)
        return cli_failf("out of memory");
    return cli_failf("%s (%s %zu)%s", ce_last_error(), what, first,
                     st == CE_ERR_TOO_LONG ? "; this command does not cut texts: shorten it" : "");
}

/* Sequence @p seq of the last run's head logits into c->logits. */
static int read_head(head_ctx *c, size_t seq, size_t shape[2], size_t *ndim)
{
    size_t count = 0;
    ce_status st = ce_session_head_shape(c->session, seq, c->head, shape, ndim);
    if (st == CE_OK)
        st = ce_session_head_output(c->session, seq, c->head, c->logits, c->cap, &count);
    if (st == CE_ERR_BUFFER_TOO_SMALL) {
        float *grown = realloc(c->logits, (count ? count : 1) * sizeof *grown);
        if (!grown)
            return cli_failf("out of memory for %zu logits", count);
        c->logits = grown;
        c->cap = count;
        st = ce_session_head_output(c->session, seq, c->head, c->logits, c->cap, &count);
    }
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

int cli_head_run(head_ctx *c, const head_seq *seqs, size_t n, const char *what, head_emit emit,
                 void *user)
{
    for (size_t first = 0; first < n;) {
        size_t end = chunk_end(seqs, n, first);
        ce_status st = run_range(c->session, seqs, first, end);
        if (st != CE_OK)
            return run_failed(c, seqs, st, first, end, what);
        for (size_t i = first; i < end; i++) {
            size_t shape[2], ndim = 0;
            int rc = read_head(c, i - first, shape, &ndim);
            if (!rc)
                rc = emit(user, i, shape, ndim);
            if (rc)
                return rc;
        }
        first = end;
    }
    return CLI_EXIT_OK;
}
