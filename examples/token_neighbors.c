/* token_neighbors: one contextual vector per token, and each token's nearest
 * other token in the same text by cosine similarity.
 *
 *   cc token_neighbors.c $(pkg-config --cflags --libs contextembed) -lm
 *   ./a.out bert-base-uncased "The bank raised rates; we sat on the river bank."
 */
#include <contextembed/contextembed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float dot(const float *a, const float *b, size_t n)
{
    float s = 0.0f;
    for (size_t k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT\n", argv[0]);
        return 2;
    }
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_encoding *enc = NULL;
    ce_select *sel = NULL;
    float *vec = NULL;
    int rc = 1;
    if (ce_model_open(argv[1], NULL, &model) != CE_OK || ce_session_create(model, NULL, &session) != CE_OK ||
        ce_tokenizer_encode(ce_model_tokenizer(model), argv[2], strlen(argv[2]), NULL, 0,
                            CE_ENCODE_ADD_SPECIAL, 0, &enc) != CE_OK)
        goto done;
    size_t n = ce_encoding_length(enc), count;
    if (ce_session_run(session, 1, &n, ce_encoding_ids(enc), ce_encoding_type_ids(enc)) != CE_OK)
        goto done;

    /* The last layer, every vector scaled to unit length: a dot product is then a cosine. */
    if (ce_select_create(&sel) != CE_OK || ce_select_normalize(sel, 1) != CE_OK)
        goto done;
    ce_session_output(session, 0, sel, NULL, 0, &count); /* size query: count = n * dim */
    vec = malloc(count * sizeof *vec);
    if (!vec || ce_session_output(session, 0, sel, vec, count, &count) != CE_OK)
        goto done;
    size_t dim = count / n;

    const int32_t *ids = ce_encoding_ids(enc);
    const ce_tokenizer *tok = ce_model_tokenizer(model);
    for (size_t i = 0; i < n; i++) {
        size_t best = i;
        float best_cos = -2.0f;
        for (size_t j = 0; j < n; j++) {
            float cos = dot(vec + i * dim, vec + j * dim, dim);
            if (j != i && cos > best_cos) {
                best_cos = cos;
                best = j;
            }
        }
        const char *a, *b;
        size_t alen, blen;
        ce_tokenizer_id_to_token(tok, ids[i], &a, &alen);
        ce_tokenizer_id_to_token(tok, ids[best], &b, &blen);
        printf("%3zu %-14.*s nearest: %3zu %-14.*s cos %.3f\n", i, (int)alen, a, best, (int)blen,
               b, best_cos);
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", argv[0], ce_last_error());
    free(vec);
    ce_select_free(sel);
    ce_encoding_free(enc);
    ce_session_free(session);
    ce_model_free(model);
    return rc;
}
