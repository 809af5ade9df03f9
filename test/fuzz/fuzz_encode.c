/* Text through each tokenizer: byte 0 picks the tokenizer (WordPiece
 * uncased and cased, GPT-2's and RoBERTa's byte-level BPE, ELMo's words,
 * and a tokenizer.json whose added tokens use every matching rule), byte 1
 * the encode flags and a maximum length; the rest is the text, NUL the
 * pair. Offsets and word ids are checked, the ids decoded back, whole and
 * streamed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Added tokens with single_word, lstrip, rstrip, normalized and not,
 * special and not, sharing prefixes and suffixes. */
static const char added_json[] =
    "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, "
    "\"[CLS]\": 1, \"[SEP]\": 2, \"a\": 3, \"b\": 4, \"##b\": 5, \"ab\": 6, \"c\": 7}},"
    "\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true},"
    "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
    "\"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 2], "
    "\"cls\": [\"[CLS]\", 1]},"
    "\"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\"},"
    "\"added_tokens\": ["
    "{\"id\": 1, \"content\": \"[CLS]\", \"special\": true},"
    "{\"id\": 2, \"content\": \"[SEP]\", \"special\": true},"
    "{\"id\": 8, \"content\": \"<m>\", \"special\": true, \"lstrip\": true, \"rstrip\": true},"
    "{\"id\": 9, \"content\": \"<m\", \"special\": false, \"single_word\": true},"
    "{\"id\": 10, \"content\": \"M>\", \"special\": false, \"normalized\": true},"
    "{\"id\": 11, \"content\": \" \", \"special\": false, \"rstrip\": true, \"normalized\": false},"
    "{\"id\": 12, \"content\": \"\\u00e9t\\u00e9\", \"single_word\": true, \"lstrip\": true},"
    "{\"id\": 13, \"content\": \"ab\", \"special\": true, \"single_word\": true}]}";

static const ce_tokenizer *tokenizer(int k)
{
    static ce_tokenizer *toks[6];
    static const char *const models[] = {"bert-tiny-uncased", "bert-tiny-cased", "gpt2-tiny",
                                         "roberta-tiny", "elmo-skip"};
    if (toks[k])
        return toks[k];
    char path[4096];
    ce_status st;
    if (k < 5) {
        snprintf(path, sizeof path, "%s/%s", fuzz_fixtures(), models[k]);
        st = ce_tokenizer_open(path, &toks[k]);
    } else {
        const char *dir = fuzz_dir(0, NULL, NULL);
        fuzz_write(dir, "tokenizer.json", (const uint8_t *)added_json, strlen(added_json));
        st = ce_tokenizer_open(dir, &toks[k]);
    }
    if (st != CE_OK)
        abort();
    return toks[k];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const ce_tokenizer *tok = tokenizer(data[0] % 6);
    uint32_t flags = data[1] & 3;
    size_t max_length = data[1] >> 2; /* 0: no limit */
    const uint8_t *part[2];
    size_t len[2];
    size_t n = fuzz_split(data + 2, size - 2, part, len, 2);
    ce_encoding *enc;
    if (fuzz_note(ce_tokenizer_encode(tok, (const char *)part[0], len[0],
                                      n > 1 ? (const char *)part[1] : NULL, len[1], flags,
                                      max_length, &enc),
                  "encode") != CE_OK)
        return 0;
    const int32_t *ids = ce_encoding_ids(enc);
    const size_t *offs = ce_encoding_offsets(enc);
    size_t longest = n > 1 && len[1] > len[0] ? len[1] : len[0];
    for (size_t i = 0; i < 2 * ce_encoding_length(enc); i++)
        if (offs[i] > longest)
            abort(); /* offsets point into the text (or the pair) */
    const int32_t *words = ce_encoding_word_ids(enc), *seqs = ce_encoding_sequence_ids(enc);
    int32_t last[2] = {-1, -1};
    for (size_t i = 0; i < ce_encoding_length(enc); i++) {
        if ((words[i] < 0) != (seqs[i] < 0))
            abort(); /* exactly the special tokens have no word */
        if (seqs[i] >= 0 && words[i] < last[seqs[i] & 1])
            abort(); /* a text's words come in order, each one's tokens together */
        if (seqs[i] >= 0)
            last[seqs[i] & 1] = words[i];
    }
    size_t need;
    char small[4];
    for (uint32_t f = 0; f < 2; f++)
        if (ce_tokenizer_decode(tok, ids, ce_encoding_length(enc), f, small, sizeof small, &need) ==
            CE_ERR_BUFFER_TOO_SMALL) {
            char *buf = malloc(need);
            if (buf && ce_tokenizer_decode(tok, ids, ce_encoding_length(enc), f, buf, need,
                                           &need) != CE_OK)
                abort();
            free(buf);
        }
    ce_encoding_free(enc);
    return 0;
}
