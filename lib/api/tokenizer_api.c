/* Exported tokenizer functions: argument checks and NULL handling in front
 * of lib/tokenizers. */
#include <stdlib.h>
#include <string.h>

#include "contextembed/tokenizer.h"
#include "core/error.h"
#include "tokenizers/tokenizer.h"

#define ENCODE_FLAGS (CE_ENCODE_ADD_SPECIAL | CE_ENCODE_SPECIAL_AS_TEXT)
#define DECODE_FLAGS (CE_DECODE_SKIP_SPECIAL)

ce_status ce_tokenizer_open(const char *path, ce_tokenizer **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_open: %s is NULL",
                        path ? "out" : "path");
    return ce_tokenizer_load(path, out);
}

void ce_tokenizer_free(ce_tokenizer *tok)
{
    ce_tokenizer_destroy(tok);
}

const char *ce_tokenizer_kind(const ce_tokenizer *tok)
{
    return tok ? tok->ops->kind : NULL;
}

size_t ce_tokenizer_vocab_size(const ce_tokenizer *tok)
{
    return tok ? tok->n_ids : 0;
}

ce_status ce_tokenizer_encode(const ce_tokenizer *tok, const char *text, size_t text_len,
                              const char *pair, size_t pair_len, uint32_t flags, size_t max_length,
                              ce_encoding **out)
{
    if (!tok || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_encode: %s is NULL",
                        tok ? "out" : "tok");
    if (!text && text_len)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_tokenizer_encode: text is NULL with text_len %zu", text_len);
    if (!pair && pair_len)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_tokenizer_encode: pair is NULL with pair_len %zu", pair_len);
    if (flags & ~(uint32_t)ENCODE_FLAGS)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_encode: unknown flags 0x%x",
                        (unsigned)(flags & ~(uint32_t)ENCODE_FLAGS));
    return ce_tokenizer_encode_impl(tok, text ? text : "", text_len, pair, pair_len, flags,
                                    max_length, out);
}

void ce_encoding_free(ce_encoding *enc)
{
    if (enc && enc->text_starts != enc->one_text)
        free(enc->text_starts);
    free(enc);
}

size_t ce_encoding_num_texts(const ce_encoding *enc)
{
    return enc ? enc->n_texts : 0;
}

const size_t *ce_encoding_text_starts(const ce_encoding *enc)
{
    return enc ? enc->text_starts : NULL;
}

ce_status ce_tokenizer_encode_batch(const ce_tokenizer *tok, size_t n_texts,
                                    const char *const *texts, const size_t *text_lens,
                                    const char *const *pairs, const size_t *pair_lens,
                                    uint32_t flags, size_t max_length, ce_encoding **out)
{
    if (!tok || !out || (n_texts && (!texts || !text_lens)) || (pairs && !pair_lens))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_encode_batch: NULL argument");
    ce_encoding **encs = calloc(n_texts ? n_texts : 1, sizeof *encs);
    if (!encs)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_tokenizer_encode_batch: out of memory");
    ce_status st = CE_OK;
    for (size_t i = 0; st == CE_OK && i < n_texts; i++) {
        st = ce_tokenizer_encode(tok, texts[i], text_lens[i], pairs ? pairs[i] : NULL,
                                 pairs ? pair_lens[i] : 0, flags, max_length, &encs[i]);
        if (st != CE_OK)
            ce_error_prefix(st, "text %zu: ", i);
    }
    ce_encoding *all = NULL;
    if (st == CE_OK && !(all = ce_encoding_concat(encs, n_texts)))
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "ce_tokenizer_encode_batch: out of memory");
    for (size_t i = 0; i < n_texts; i++)
        ce_encoding_free(encs[i]);
    free(encs);
    if (st == CE_OK)
        *out = all;
    return st;
}

size_t ce_encoding_length(const ce_encoding *enc)
{
    return enc ? enc->n : 0;
}

const int32_t *ce_encoding_ids(const ce_encoding *enc)
{
    return enc ? enc->ids : NULL;
}

const int32_t *ce_encoding_type_ids(const ce_encoding *enc)
{
    return enc ? enc->type_ids : NULL;
}

const int32_t *ce_encoding_sequence_ids(const ce_encoding *enc)
{
    return enc ? enc->seq_ids : NULL;
}

const int32_t *ce_encoding_word_ids(const ce_encoding *enc)
{
    return enc ? enc->word_ids : NULL;
}

const size_t *ce_encoding_offsets(const ce_encoding *enc)
{
    return enc ? enc->offsets : NULL;
}

ce_status ce_tokenizer_id_to_token(const ce_tokenizer *tok, int32_t id, const char **token,
                                   size_t *len)
{
    if (!tok || !token || !len)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_id_to_token: %s is NULL",
                        !tok     ? "tok"
                        : !token ? "token"
                                 : "len");
    if (id < 0 || (size_t)id >= tok->n_ids || !tok->ids[id].s)
        return ce_error(CE_ERR_OUT_OF_RANGE, "token id %d is not in the vocabulary (0..%zu)",
                        (int)id, tok->n_ids - 1);
    *token = tok->ids[id].s;
    *len = tok->ids[id].len;
    return CE_OK;
}

ce_status ce_tokenizer_token_to_id(const ce_tokenizer *tok, const char *token, size_t len,
                                   int32_t *id)
{
    if (!tok || !id || (!token && len))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_token_to_id: %s is NULL",
                        !tok  ? "tok"
                        : !id ? "id"
                              : "token");
    int32_t v;
    if (!ce_tokenizer_lookup(tok, token ? token : "", len, &v))
        return ce_error(CE_ERR_NOT_FOUND, "token \"%.*s\" is not in the vocabulary",
                        len > 64 ? 64 : (int)len, token ? token : "");
    *id = v;
    return CE_OK;
}

ce_status ce_tokenizer_special_id(const ce_tokenizer *tok, ce_special_token which, int32_t *id)
{
    if (!tok || !id)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_special_id: %s is NULL",
                        tok ? "id" : "tok");
    if ((int)which < 0 || (int)which >= CE_N_ROLES)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_special_id: no role %d", (int)which);
    if (tok->roles[which] < 0)
        return ce_error(CE_ERR_NOT_FOUND, "the tokenizer has no special token for role %d",
                        (int)which);
    *id = tok->roles[which];
    return CE_OK;
}

ce_status ce_tokenizer_decode(const ce_tokenizer *tok, const int32_t *ids, size_t n_ids,
                              uint32_t flags, char *buf, size_t capacity, size_t *needed)
{
    if (!tok || !needed || (!ids && n_ids))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_decode: %s is NULL",
                        !tok      ? "tok"
                        : !needed ? "needed"
                                  : "ids");
    if (flags & ~(uint32_t)DECODE_FLAGS)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_tokenizer_decode: unknown flags 0x%x",
                        (unsigned)(flags & ~(uint32_t)DECODE_FLAGS));
    ce_strbuf text = {0};
    ce_status st = ce_tokenizer_decode_impl(tok, ids, n_ids, flags, &text);
    if (st != CE_OK) {
        ce_strbuf_free(&text);
        return st;
    }
    *needed = text.len;
    /* buf NULL is a size query; an empty result needs no buffer at all */
    if (text.len > capacity || (!buf && text.len)) {
        st = ce_error(CE_ERR_BUFFER_TOO_SMALL, "ce_tokenizer_decode: %zu bytes needed, %zu given",
                      text.len, buf ? capacity : 0);
    } else if (text.len) {
        memcpy(buf, text.data, text.len);
    }
    ce_strbuf_free(&text);
    return st;
}
