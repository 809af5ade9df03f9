/* word_vectors: BERT splits words into pieces ("unbelievably" -> "un",
 * "##believ", "##ably"). The byte offsets of the tokens say which piece came
 * from where: pieces with no gap between them belong to one word, and the
 * mean of their vectors is the word's vector.
 *
 *   cc word_vectors.c $(pkg-config --cflags --libs contextembed)
 *   ./a.out bert-base-uncased "Unbelievably, the tide went out."
 */
#include <contextembed/contextembed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT\n", argv[0]);
        return 2;
    }
    const char *text = argv[2];
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_encoding *enc = NULL;
    float *vec = NULL, *word = NULL;
    int64_t hidden;
    int rc = 1;
    if (ce_model_open(argv[1], NULL, &model) != CE_OK ||
        ce_session_create(model, NULL, &session) != CE_OK ||
        ce_model_get_info(model, CE_INFO_HIDDEN_SIZE, &hidden) != CE_OK ||
        ce_tokenizer_encode(ce_model_tokenizer(model), text, strlen(text), NULL, 0,
                            CE_ENCODE_ADD_SPECIAL, 0, &enc) != CE_OK)
        goto done;
    size_t n = ce_encoding_length(enc), dim = (size_t)hidden, count;
    vec = malloc(n * dim * sizeof *vec);
    word = malloc(dim * sizeof *word);
    if (!vec || !word || ce_session_run(session, 1, &n, ce_encoding_ids(enc), NULL) != CE_OK ||
        ce_session_output(session, 0, NULL, vec, n * dim, &count) != CE_OK)
        goto done; /* NULL selection: the last layer, [1, n, dim] */

    const size_t *off = ce_encoding_offsets(enc);      /* [begin, end) bytes per token */
    const int32_t *seq = ce_encoding_sequence_ids(enc); /* -1 for [CLS] and [SEP] */
    size_t t = 0;
    while (t < n) {
        if (seq[t] < 0) {
            t++;
            continue;
        }
        size_t first = t, begin = off[2 * t], end = off[2 * t + 1];
        memset(word, 0, dim * sizeof *word);
        do { /* this piece, and the next ones while they start where it ends */
            for (size_t k = 0; k < dim; k++)
                word[k] += vec[t * dim + k];
            end = off[2 * t + 1];
            t++;
        } while (t < n && seq[t] >= 0 && off[2 * t] == end);
        float pieces = (float)(t - first);
        printf("%-16.*s %zu piece%s  [%+.4f %+.4f %+.4f ...]\n", (int)(end - begin), text + begin,
               t - first, t - first > 1 ? "s" : " ", word[0] / pieces, word[1] / pieces,
               word[2] / pieces);
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", argv[0], ce_last_error());
    free(word);
    free(vec);
    ce_encoding_free(enc);
    ce_session_free(session);
    ce_model_free(model);
    return rc;
}
