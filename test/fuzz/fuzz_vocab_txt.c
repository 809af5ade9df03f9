/* vocab.txt NUL tokenizer_config.json: BERT's WordPiece files (the config
 * left out when the second part is empty). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    fuzz_split(data, size, part, len, 2);
    const char *dir = fuzz_dir(0, NULL, NULL);
    fuzz_write(dir, "vocab.txt", part[0], len[0]);
    if (len[1])
        fuzz_write(dir, "tokenizer_config.json", part[1], len[1]);
    else
        fuzz_remove(dir, "tokenizer_config.json");
    ce_tokenizer *tok;
    if (fuzz_note(ce_tokenizer_open(dir, &tok), "tokenizer") == CE_OK) {
        fuzz_tokenizer(tok);
        ce_tokenizer_free(tok);
    }
    return 0;
}
