/* A sentence-transformers directory (the st-dense fixture): modules.json NUL
 * 1_Pooling/config.json NUL sentence_bert_config.json, empty parts left out.
 * A model that opens runs once. */
#include "fuzz.h"

static void put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    if (len)
        fuzz_write(dir, name, data, len);
    else
        fuzz_remove(dir, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"modules.json", "1_Pooling/config.json",
                                        "sentence_bert_config.json"};
    static const char *const except[] = {"modules.json", "1_Pooling", "sentence_bert_config.json",
                                         NULL};
    const uint8_t *part[3];
    size_t len[3];
    fuzz_split(data, size, part, len, 3);
    const char *dir = fuzz_dir(0, "st-dense", except);
    for (int i = 0; i < 3; i++)
        put(dir, names[i], part[i], len[i]);
    ce_model *m;
    if (fuzz_note(ce_model_open(dir, NULL, &m), "model") == CE_OK) {
        fuzz_model(m);
        ce_model_free(m);
    }
    return 0;
}
