/* semantic_search: rank a small collection of texts by similarity to a query.
 * The collection is embedded in one packed batch (texts of different lengths,
 * no padding), each text as the mean of its token vectors, unit length.
 *
 *   cc semantic_search.c $(pkg-config --cflags --libs contextembed)
 *   ./a.out bert-base-uncased "where can I buy bread?"
 */
#include <contextembed/contextembed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const docs[] = {
    "The bakery on the corner sells fresh bread every morning.",
    "Our train leaves the station at half past nine.",
    "Cats sleep for most of the day.",
    "The museum is closed on Mondays.",
    "You can buy vegetables and cheese at the Saturday market.",
    "He fixed the bicycle with a new chain.",
};
#define N_DOCS (sizeof docs / sizeof *docs)

/* Encode texts[0..n) and run them as one batch; fills lengths[]. */
static ce_status run_batch(ce_session *s, const ce_tokenizer *tok, const char *const *texts,
                           size_t n, size_t *lengths)
{
    ce_encoding *enc[N_DOCS + 1] = {0};
    int32_t *ids = NULL, *types = NULL;
    size_t total = 0;
    ce_status st = CE_OK;
    for (size_t i = 0; i < n && st == CE_OK; i++) {
        st = ce_tokenizer_encode(tok, texts[i], strlen(texts[i]), NULL, 0, CE_ENCODE_ADD_SPECIAL,
                                 0, &enc[i]);
        if (st == CE_OK)
            total += lengths[i] = ce_encoding_length(enc[i]);
    }
    if (st == CE_OK) {
        ids = malloc(total * sizeof *ids);
        types = malloc(total * sizeof *types);
        st = ids && types ? CE_OK : CE_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0, at = 0; st == CE_OK && i < n; at += lengths[i++]) {
        memcpy(ids + at, ce_encoding_ids(enc[i]), lengths[i] * sizeof *ids);
        memcpy(types + at, ce_encoding_type_ids(enc[i]), lengths[i] * sizeof *types);
    }
    if (st == CE_OK)
        st = ce_session_run(s, n, lengths, ids, types);
    for (size_t i = 0; i < n; i++)
        ce_encoding_free(enc[i]);
    free(ids);
    free(types);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR QUERY\n", argv[0]);
        return 2;
    }
    const char *texts[N_DOCS + 1];
    size_t lengths[N_DOCS + 1], count, order[N_DOCS];
    float *vecs = NULL, score[N_DOCS];
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_select *sel = NULL;
    int64_t hidden;
    int rc = 1;
    texts[0] = argv[2]; /* the query is sequence 0, the documents follow */
    memcpy(texts + 1, docs, sizeof docs);
    if (ce_model_open(argv[1], NULL, &model) != CE_OK ||
        ce_session_create(model, NULL, &session) != CE_OK ||
        ce_model_get_info(model, CE_INFO_HIDDEN_SIZE, &hidden) != CE_OK ||
        ce_select_create(&sel) != CE_OK || ce_select_pool(sel, CE_POOL_MEAN) != CE_OK ||
        ce_select_normalize(sel, 1) != CE_OK ||
        run_batch(session, ce_model_tokenizer(model), texts, N_DOCS + 1, lengths) != CE_OK)
        goto done;
    size_t dim = (size_t)hidden;
    vecs = malloc((N_DOCS + 1) * dim * sizeof *vecs);
    for (size_t i = 0; vecs && i <= N_DOCS; i++)
        if (ce_session_output(session, i, sel, vecs + i * dim, dim, &count) != CE_OK)
            goto done;
    if (!vecs)
        goto done;

    for (size_t d = 0; d < N_DOCS; d++) { /* cosine with the query; insertion sort */
        score[d] = 0.0f;
        for (size_t k = 0; k < dim; k++)
            score[d] += vecs[k] * vecs[(d + 1) * dim + k];
        size_t at = d;
        for (; at > 0 && score[order[at - 1]] < score[d]; at--)
            order[at] = order[at - 1];
        order[at] = d;
    }
    for (size_t r = 0; r < 3; r++)
        printf("%zu. %.4f  %s\n", r + 1, score[order[r]], docs[order[r]]);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", argv[0], ce_last_error());
    free(vecs);
    ce_select_free(sel);
    ce_session_free(session);
    ce_model_free(model);
    return rc;
}
