/* model.safetensors.index.json beside the bert-tiny-sharded fixture's two
 * shards; a model that opens runs once. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const except[] = {"model.safetensors.index.json", NULL};
    const char *dir = fuzz_dir(0, "bert-tiny-sharded", except);
    fuzz_write(dir, "model.safetensors.index.json", data, size);
    ce_model *m;
    if (fuzz_note(ce_model_open(dir, NULL, &m), "model") == CE_OK) {
        fuzz_model(m);
        ce_model_free(m);
    }
    return 0;
}
