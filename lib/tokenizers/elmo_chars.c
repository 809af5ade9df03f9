/* ELMo character ids (see elmo_chars.h). Bytes, not code points: a long word
 * is cut after max_chars - 2 bytes even inside a multi-byte character, as the
 * references do with word.encode("utf-8")[:max_chars - 2]. */
#include "tokenizers/elmo_chars.h"

#include <string.h>

static void fill(size_t max_chars, int32_t *out)
{
    for (size_t i = 0; i < max_chars; i++)
        out[i] = CE_ELMO_CHAR_PAD + 1;
}

void ce_elmo_boundary_char_ids(int end, size_t max_chars, int32_t *out)
{
    fill(max_chars, out);
    out[0] = CE_ELMO_CHAR_BOW + 1;
    out[1] = (end ? CE_ELMO_CHAR_EOS : CE_ELMO_CHAR_BOS) + 1;
    out[2] = CE_ELMO_CHAR_EOW + 1;
}

void ce_elmo_word_char_ids(const char *word, size_t len, size_t max_chars, int32_t *out)
{
    if (len == 3 && !memcmp(word, "<S>", 3)) {
        ce_elmo_boundary_char_ids(0, max_chars, out);
        return;
    }
    if (len == 4 && !memcmp(word, "</S>", 4)) {
        ce_elmo_boundary_char_ids(1, max_chars, out);
        return;
    }
    size_t n = len < max_chars - 2 ? len : max_chars - 2;
    fill(max_chars, out);
    out[0] = CE_ELMO_CHAR_BOW + 1;
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (int32_t)(unsigned char)word[i] + 1;
    out[n + 1] = CE_ELMO_CHAR_EOW + 1;
}
