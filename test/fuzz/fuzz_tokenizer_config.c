/* tokenizer_config.json NUL special_tokens_map.json NUL config.json beside
 * the GPT-2 fixture's vocab.json + merges.txt (the BPE loader reads all
 * three: special tokens, added_tokens_decoder, the RoBERTa class), and the
 * first beside the BERT fixture's vocab.txt. Empty parts are left out. */
#include "fuzz.h"

static void put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    if (len)
        fuzz_write(dir, name, data, len);
    else
        fuzz_remove(dir, name);
}

static void open_dir(const char *dir)
{
    ce_tokenizer *tok;
    if (fuzz_note(ce_tokenizer_open(dir, &tok), "tokenizer") == CE_OK) {
        fuzz_tokenizer(tok);
        ce_tokenizer_free(tok);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"tokenizer_config.json", "special_tokens_map.json",
                                        "config.json"};
    const uint8_t *part[3];
    size_t len[3];
    fuzz_split(data, size, part, len, 3);
    const char *bpe = fuzz_dir(0, NULL, NULL), *wp = fuzz_dir(1, NULL, NULL);
    fuzz_link(bpe, "gpt2-tiny", "vocab.json");
    fuzz_link(bpe, "gpt2-tiny", "merges.txt");
    fuzz_link(wp, "bert-tiny-uncased", "vocab.txt");
    for (int i = 0; i < 3; i++)
        put(bpe, names[i], part[i], len[i]);
    put(wp, names[0], part[0], len[0]);
    open_dir(bpe);
    open_dir(wp);
    return 0;
}
