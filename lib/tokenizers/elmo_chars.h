/* Internal: ELMo's character ids, as bilm-tf's UnicodeCharsVocabulary and
 * AllenNLP's ELMoCharacterMapper compute them.
 *
 * A word becomes max_chars ids: [begin-of-word, its UTF-8 bytes cut to
 * max_chars - 2, end-of-word, padding...], every id then shifted by +1 so that
 * 0 can mean "no token". The sentence boundaries <S> and </S> are words of
 * their own whose single "character" is 256 or 257. */
#ifndef CE_TOKENIZERS_ELMO_CHARS_H
#define CE_TOKENIZERS_ELMO_CHARS_H

#include <stddef.h>
#include <stdint.h>

/* The reference's ids before the +1 shift. */
enum {
    CE_ELMO_CHAR_BOS = 256, /* <begin sentence> */
    CE_ELMO_CHAR_EOS = 257, /* <end sentence> */
    CE_ELMO_CHAR_BOW = 258, /* <begin word> */
    CE_ELMO_CHAR_EOW = 259, /* <end word> */
    CE_ELMO_CHAR_PAD = 260, /* <padding> */
    CE_ELMO_CHAR_IDS = 262, /* ids after the shift: 0 .. 261 */
    CE_ELMO_MIN_CHARS = 3,  /* room for begin, one character, end */
};

/* Ids of one word (its bytes, any content) into out[max_chars], max_chars >=
 * CE_ELMO_MIN_CHARS. The words "<S>" and "</S>" get the boundary ids, as both
 * references map them through their vocabulary's special entries. */
void ce_elmo_word_char_ids(const char *word, size_t len, size_t max_chars, int32_t *out);

/* Ids of the sentence start (@p end == 0) or end (@p end != 0) marker. */
void ce_elmo_boundary_char_ids(int end, size_t max_chars, int32_t *out);

#endif
