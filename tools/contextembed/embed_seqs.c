/* contextembed embed: texts (or --ids) into the concatenated arrays ce_session_run() takes. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embed.h"

void cli_seqs_free(embed_seqs *s)
{
    free(s->lengths);
    free(s->starts);
    free(s->ids);
    free(s->type_ids);
    free(s->offsets);
    memset(s, 0, sizeof *s);
}

/* Room for @p n sequences of @p total tokens; offsets only when asked. */
static int seqs_alloc(embed_seqs *s, size_t n, size_t total, int types, int offsets)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->lengths = calloc(n ? n : 1, sizeof *s->lengths);
    s->starts = calloc(n + 1, sizeof *s->starts);
    s->ids = malloc((total ? total : 1) * sizeof *s->ids);
    s->type_ids = types ? malloc((total ? total : 1) * sizeof *s->type_ids) : NULL;
    s->offsets = offsets ? malloc((total ? total : 1) * 2 * sizeof *s->offsets) : NULL;
    if (s->lengths && s->starts && s->ids && (s->type_ids || !types) && (s->offsets || !offsets))
        return CLI_EXIT_OK;
    cli_seqs_free(s);
    return cli_failf("out of memory");
}

int cli_seqs_from_ids(embed_seqs *s, const int32_t *ids, const int32_t *type_ids, size_t n)
{
    int rc = seqs_alloc(s, 1, n, type_ids != NULL, 0);
    if (rc)
        return rc;
    s->lengths[0] = n;
    s->starts[1] = n;
    memcpy(s->ids, ids, n * sizeof *ids);
    if (type_ids)
        memcpy(s->type_ids, type_ids, n * sizeof *type_ids);
    return CLI_EXIT_OK;
}

/* Encode every text; encs[i] owned by the caller. */
static int encode_all(ce_encoding **encs, const ce_tokenizer *tok, const cli_texts *t,
                      const char *pair, uint32_t flags, size_t max_length, size_t *failed)
{
    size_t pair_len = pair ? strlen(pair) : 0;
    for (size_t i = 0; i < t->n; i++) {
        ce_status st = ce_tokenizer_encode(tok, t->items[i].data, t->items[i].len, pair,
                                           pair_len, flags, max_length, &encs[i]);
        if (st != CE_OK) {
            *failed = i;
            return CLI_EXIT_FAILURE;
        }
    }
    return CLI_EXIT_OK;
}

static void copy_encodings(embed_seqs *s, ce_encoding *const *encs)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t len = ce_encoding_length(encs[i]), at = s->starts[i];
        s->lengths[i] = len;
        s->starts[i + 1] = at + len;
        if (!len)
            continue; /* an empty encoding's arrays may be NULL */
        memcpy(s->ids + at, ce_encoding_ids(encs[i]), len * sizeof *s->ids);
        memcpy(s->offsets + 2 * at, ce_encoding_offsets(encs[i]), 2 * len * sizeof *s->offsets);
        if (s->type_ids)
            memcpy(s->type_ids + at, ce_encoding_type_ids(encs[i]), len * sizeof *s->type_ids);
    }
}

int cli_seqs_from_texts(embed_seqs *s, const ce_tokenizer *tok, const cli_texts *t,
                        const char *pair, uint32_t flags, size_t max_length, size_t *failed)
{
    ce_encoding **encs = calloc(t->n ? t->n : 1, sizeof *encs);
    if (!encs)
        return cli_failf("out of memory");
    int rc = encode_all(encs, tok, t, pair, flags, max_length, failed);
    size_t total = 0;
    for (size_t i = 0; !rc && i < t->n; i++)
        total += ce_encoding_length(encs[i]);
    if (!rc && !(rc = seqs_alloc(s, t->n, total, pair != NULL, 1)))
        copy_encodings(s, encs);
    for (size_t i = 0; i < t->n; i++)
        ce_encoding_free(encs[i]);
    free(encs);
    return rc;
}
