/* sentence_similarity: one vector per sentence (mean of the last layer's token
 * vectors, scaled to unit length) and the cosine similarity of every pair.
 *
 *   cc sentence_similarity.c $(pkg-config --cflags --libs contextembed)
 *   ./a.out bert-base-uncased "A man is playing a guitar." "Someone plays music." "It rains."
 */
#include <contextembed/contextembed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT TEXT [TEXT ...]\n", argv[0]);
        return 2;
    }
    size_t n_texts = (size_t)argc - 2;
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_select *sel = NULL;
    float *vecs = NULL;
    int64_t hidden = 0;
    int rc = 1;
    if (ce_model_open(argv[1], NULL, &model) != CE_OK ||
        ce_session_create(model, NULL, &session) != CE_OK ||
        ce_model_get_info(model, CE_INFO_HIDDEN_SIZE, &hidden) != CE_OK ||
        ce_select_create(&sel) != CE_OK || ce_select_pool(sel, CE_POOL_MEAN) != CE_OK ||
        ce_select_normalize(sel, 1) != CE_OK)
        goto done;
    size_t dim = (size_t)hidden;
    vecs = malloc(n_texts * dim * sizeof *vecs);
    if (!vecs)
        goto done;

    /* One text per run keeps the example short; ce_session_run also takes a
     * packed batch of sequences (see docs/guide.md). */
    for (size_t t = 0; t < n_texts; t++) {
        const char *text = argv[2 + t];
        ce_encoding *enc;
        if (ce_tokenizer_encode(ce_model_tokenizer(model), text, strlen(text), NULL, 0,
                                CE_ENCODE_ADD_SPECIAL, 0, &enc) != CE_OK)
            goto done;
        size_t len = ce_encoding_length(enc), count;
        ce_status st = ce_session_run(session, 1, &len, ce_encoding_ids(enc),
                                      ce_encoding_type_ids(enc));
        ce_encoding_free(enc);
        if (st != CE_OK ||
            ce_session_output(session, 0, sel, vecs + t * dim, dim, &count) != CE_OK)
            goto done;
    }

    for (size_t a = 0; a < n_texts; a++)
        for (size_t b = a + 1; b < n_texts; b++) {
            float cos = 0.0f;
            for (size_t k = 0; k < dim; k++)
                cos += vecs[a * dim + k] * vecs[b * dim + k];
            printf("%.4f  \"%s\"  \"%s\"\n", cos, argv[2 + a], argv[2 + b]);
        }
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
