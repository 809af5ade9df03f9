/* model.safetensors: the header reader (every tensor's bytes touched), then
 * the whole BERT fixture opened and run with these weights. */
#include "fuzz.h"
#include "io/safetensors.h"

static volatile uint8_t fuzz_sink; /* the bytes read go somewhere */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const except[] = {"model.safetensors", NULL};
    const char *dir = fuzz_dir(0, "bert-tiny-uncased", except);
    const char *path = fuzz_write(dir, "model.safetensors", data, size);
    ce_safetensors *st;
    if (fuzz_note(ce_safetensors_open(path, &st), "safetensors") == CE_OK) {
        uint8_t sum = 0;
        for (size_t i = 0; i < st->count; i++)
            for (size_t b = 0; b < st->tensors[i].nbytes; b++)
                sum += ((const uint8_t *)st->tensors[i].data)[b];
        fuzz_sink = sum;
        ce_safetensors_close(st);
    }
    ce_model *m;
    if (fuzz_note(ce_model_open(dir, NULL, &m), "model") == CE_OK) {
        fuzz_model(m);
        ce_model_free(m);
    }
    return 0;
}
