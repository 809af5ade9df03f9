/* vocab.json NUL merges.txt: a byte-level BPE without tokenizer.json. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    fuzz_split(data, size, part, len, 2);
    const char *dir = fuzz_dir(0, NULL, NULL);
    fuzz_write(dir, "vocab.json", part[0], len[0]);
    fuzz_write(dir, "merges.txt", part[1], len[1]);
    ce_tokenizer *tok;
    if (fuzz_note(ce_tokenizer_open(dir, &tok), "tokenizer") == CE_OK) {
        fuzz_tokenizer(tok);
        ce_tokenizer_free(tok);
    }
    return 0;
}
