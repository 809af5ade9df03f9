/* tokenizer.json (WordPiece or byte-level BPE), alone in a directory. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir(0, NULL, NULL);
    fuzz_write(dir, "tokenizer.json", data, size);
    ce_tokenizer *tok;
    if (fuzz_note(ce_tokenizer_open(dir, &tok), "tokenizer") == CE_OK) {
        fuzz_tokenizer(tok);
        ce_tokenizer_free(tok);
    }
    return 0;
}
