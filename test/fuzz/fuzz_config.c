/* config.json: the first byte picks the model whose weights it goes with
 * (BERT, GPT-2, DistilBERT, RoBERTa fixtures); the rest is config.json. A
 * model that opens runs once. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const models[] = {"bert-tiny-uncased", "gpt2-tiny", "distilbert-tiny",
                                         "roberta-tiny"};
    static const char *const except[] = {"config.json", NULL};
    if (size < 1)
        return 0;
    int k = data[0] % 4;
    const char *dir = fuzz_dir(k, models[k], except);
    fuzz_write(dir, "config.json", data + 1, size - 1);
    ce_model *m;
    if (fuzz_note(ce_model_open(dir, NULL, &m), "model") == CE_OK) {
        fuzz_model(m);
        ce_model_free(m);
    }
    return 0;
}
