/* complete: continue a prompt with a decoder model (GPT-2), one token at a
 * time. The session's KV cache keeps the context, so each step computes only
 * the new token; the streaming decoder prints whole UTF-8 characters as soon
 * as they are complete.
 *
 *   cc complete.c $(pkg-config --cflags --libs contextembed)
 *   ./a.out gpt2 "The meaning of life is" 20
 */
#include <contextembed/contextembed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL_DIR PROMPT [TOKENS]\n", argv[0]);
        return 2;
    }
    long steps = argc == 4 ? strtol(argv[3], NULL, 10) : 20;
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_encoding *enc = NULL;
    ce_sampler *sampler = NULL;
    ce_decoder *decoder = NULL;
    float *logits = NULL;
    int64_t vocab, max_positions;
    int32_t eos = -1;
    int rc = 1;
    if (ce_model_open(argv[1], NULL, &model) != CE_OK ||
        ce_session_create(model, NULL, &session) != CE_OK ||
        ce_model_get_info(model, CE_INFO_VOCAB_SIZE, &vocab) != CE_OK ||
        ce_model_get_info(model, CE_INFO_MAX_POSITIONS, &max_positions) != CE_OK)
        goto done;
    const ce_tokenizer *tok = ce_model_tokenizer(model);
    ce_tokenizer_special_id(tok, CE_SPECIAL_EOS, &eos); /* stays -1 when there is none */
    /* GPT-2 adds no special tokens; temperature 0 = greedy (argmax) */
    if (ce_tokenizer_encode(tok, argv[2], strlen(argv[2]), NULL, 0, 0, 0, &enc) != CE_OK ||
        ce_sampler_create(0, &sampler) != CE_OK ||
        ce_sampler_configure(sampler, 0.0f, 0, 1.0f) != CE_OK ||
        ce_decoder_create(tok, 0, &decoder) != CE_OK ||
        !(logits = malloc((size_t)vocab * sizeof *logits)))
        goto done;

    /* The whole prompt at once: its keys and values go into the cache. */
    if (ce_session_append(session, ce_encoding_ids(enc), ce_encoding_length(enc), 0) != CE_OK)
        goto done;
    fputs(argv[2], stdout);
    char text[256];
    size_t count, written;
    for (long i = 0; i < steps; i++) {
        int32_t id;
        if (ce_session_logits(session, logits, (size_t)vocab, &count) != CE_OK ||
            ce_sampler_sample(sampler, logits, (size_t)vocab, &id) != CE_OK)
            goto done;
        if (id == eos)
            break;
        if (ce_decoder_push(decoder, id, text, sizeof text, &written) != CE_OK)
            goto done;
        fwrite(text, 1, written, stdout);
        fflush(stdout);
        if (ce_session_context_length(session) >= (size_t)max_positions)
            break;
        if (ce_session_append(session, &id, 1, 0) != CE_OK) /* one new token: cheap */
            goto done;
    }
    if (ce_decoder_flush(decoder, text, sizeof text, &written) != CE_OK)
        goto done;
    fwrite(text, 1, written, stdout);
    putchar('\n');
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", argv[0], ce_last_error());
    free(logits);
    ce_decoder_free(decoder);
    ce_sampler_free(sampler);
    ce_encoding_free(enc);
    ce_session_free(session);
    ce_model_free(model);
    return rc;
}
