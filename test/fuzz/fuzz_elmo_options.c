/* ELMo's options.json beside the elmo-skip fixture's weights; a model that
 * opens reads two sentences of words. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const except[] = {"options.json", NULL};
    const char *dir = fuzz_dir(0, "elmo-skip", except);
    fuzz_write(dir, "options.json", data, size);
    ce_model *m;
    if (fuzz_note(ce_model_open(dir, NULL, &m), "model") == CE_OK) {
        fuzz_model(m);
        ce_model_free(m);
    }
    return 0;
}
