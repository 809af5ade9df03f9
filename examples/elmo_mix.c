/* elmo_mix: ELMo's vectors for words. ELMo gives three layers per word (the
 * character CNN and two biLSTM layers); a task mixes them with softmax-
 * normalised weights and a scale, gamma * sum_j softmax(w)_j * h_j. Words
 * go in as text with offsets: here, the text split at spaces.
 *
 *   cc elmo_mix.c $(pkg-config --cflags --libs contextembed)
 *   ./a.out elmo-small "The cat sat on the mat ." 0.2,0.5,0.3 1.0
 */
#include <contextembed/contextembed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s MODEL_DIR SENTENCE [W0,W1,W2 [GAMMA]]\n", argv[0]);
        return 2;
    }
    const char *text = argv[2];
    float weights[3] = {0.0f, 0.0f, 0.0f}; /* equal weights: the plain average */
    float gamma = argc == 5 ? strtof(argv[4], NULL) : 1.0f;
    if (argc >= 4 && sscanf(argv[3], "%f,%f,%f", &weights[0], &weights[1], &weights[2]) != 3) {
        fprintf(stderr, "%s: weights are three numbers: W0,W1,W2\n", argv[0]);
        return 2;
    }
    size_t offsets[2 * MAX_WORDS], n = 0, len = strlen(text);
    for (size_t i = 0; i < len && n < MAX_WORDS;) { /* [begin, end) of each word */
        while (i < len && text[i] == ' ')
            i++;
        if (i == len)
            break;
        offsets[2 * n] = i;
        while (i < len && text[i] != ' ')
            i++;
        offsets[2 * n++ + 1] = i;
    }
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_select *sel = NULL;
    float *out = NULL;
    size_t count;
    int64_t layers = 0;
    int rc = 1;
    if (ce_model_open(argv[1], NULL, &model) != CE_OK ||
        ce_model_get_info(model, CE_INFO_NUM_OUTPUT_LAYERS, &layers) != CE_OK)
        goto done;
    if (layers != 3) {
        fprintf(stderr, "%s: expected 3 output layers, the model has %lld\n", argv[0],
                (long long)layers);
        goto done;
    }
    if (ce_session_create(model, NULL, &session) != CE_OK ||
        ce_session_run_words(session, 1, &n, text, len, offsets) != CE_OK ||
        ce_select_create(&sel) != CE_OK || ce_select_mix(sel, weights, 3, gamma) != CE_OK)
        goto done;
    ce_session_output(session, 0, sel, NULL, 0, &count); /* size query: words x dim */
    out = malloc(count * sizeof *out);
    if (!out || ce_session_output(session, 0, sel, out, count, &count) != CE_OK)
        goto done;
    size_t dim = count / n;
    for (size_t w = 0; w < n; w++) {
        double norm = 0.0;
        for (size_t k = 0; k < dim; k++)
            norm += (double)out[w * dim + k] * out[w * dim + k];
        printf("%-12.*s |v| %8.4f  [%+.4f %+.4f ...]\n", (int)(offsets[2 * w + 1] - offsets[2 * w]),
               text + offsets[2 * w], sqrt(norm), out[w * dim], out[w * dim + 1]);
    }
    rc = 0;
done:
    if (rc && ce_last_error()[0])
        fprintf(stderr, "%s: %s\n", argv[0], ce_last_error());
    free(out);
    ce_select_free(sel);
    ce_session_free(session);
    ce_model_free(model);
    return rc;
}
