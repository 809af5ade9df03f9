/* The streaming decoder: one id in, the complete UTF-8 characters it
 * finishes out. A byte-level token may end inside a character (an emoji is
 * 4 bytes, often 2 or 3 tokens); its first bytes wait here until the next
 * token brings the rest. Bytes that can never become a character come out as
 * U+FFFD right away, as the same ids through ce_tokenizer_decode() would, so
 * the pieces of a stream add up to the decoded text. */
#include <stdlib.h>
#include <string.h>

#include "contextembed/tokenizer.h"
#include "core/error.h"
#include "tokenizers/byte_level.h"
#include "tokenizers/tokenizer.h"

#define DECODE_FLAGS (CE_DECODE_SKIP_SPECIAL)

static const char fffd[] = "\xEF\xBF\xBD";

struct ce_decoder {
    const ce_tokenizer *tok;
    uint32_t flags;
    int32_t prev; /* last id decoded since the start or the last flush; -1: none */
    char held[4]; /* the first bytes of an unfinished character */
    size_t n_held;
    ce_strbuf bytes, text, tmp; /* scratch, reused */
};

ce_status ce_decoder_create(const ce_tokenizer *tok, uint32_t flags, ce_decoder **out)
{
    if (!tok || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_decoder_create: %s is NULL",
                        tok ? "out" : "tok");
    if (flags & ~(uint32_t)DECODE_FLAGS)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_decoder_create: unknown flags 0x%x",
                        (unsigned)(flags & ~(uint32_t)DECODE_FLAGS));
    ce_decoder *dec = calloc(1, sizeof *dec);
    if (!dec)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_decoder_create: out of memory");
    dec->tok = tok;
    dec->flags = flags;
    dec->prev = -1;
    *out = dec;
    return CE_OK;
}

void ce_decoder_free(ce_decoder *dec)
{
    if (!dec)
        return;
    ce_strbuf_free(&dec->bytes);
    ce_strbuf_free(&dec->text);
    ce_strbuf_free(&dec->tmp);
    free(dec);
}

/* Kinds without decode_token (WordPiece: a space unless "##", cleanup per
 * piece) decode one token in the context of the one before it: the text of
 * [prev, id] less the text of [prev]. */
static ce_status piece_by_diff(ce_decoder *dec, int32_t id)
{
    const ce_tokenizer *tok = dec->tok;
    int32_t both[2] = {dec->prev, id};
    dec->tmp.len = 0;
    if (dec->prev < 0)
        return ce_tokenizer_decode_impl(tok, &id, 1, 0, &dec->bytes);
    size_t mark = dec->bytes.len;
    ce_status st = ce_tokenizer_decode_impl(tok, both, 2, 0, &dec->bytes);
    if (st == CE_OK)
        st = ce_tokenizer_decode_impl(tok, both, 1, 0, &dec->tmp);
    if (st != CE_OK)
        return st;
    size_t plen = dec->tmp.len, all = dec->bytes.len - mark;
    if (plen <= all && !memcmp(dec->bytes.data + mark, dec->tmp.data, plen)) {
        memmove(dec->bytes.data + mark, dec->bytes.data + mark + plen, all - plen);
        dec->bytes.len -= plen;
    }
    return CE_OK;
}

static size_t char_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Complete characters of s into out, bytes that start no character as
 * U+FFFD; returns where an unfinished character begins (len: none). */
static ce_status complete_chars(const char *s, size_t len, ce_strbuf *out, size_t *held_from)
{
    size_t pos = 0;
    ce_status st = CE_OK;
    while (pos < len && st == CE_OK) {
        bool incomplete;
        size_t bad = ce_utf8_invalid_prefix(s + pos, len - pos, &incomplete);
        if (!bad) {
            size_t n = char_len((unsigned char)s[pos]);
            st = ce_strbuf_append(out, s + pos, n);
            pos += n;
        } else if (incomplete) {
            break;
        } else {
            st = ce_strbuf_append(out, fffd, 3);
            pos += bad;
        }
    }
    *held_from = pos;
    return st;
}

/* Hand out dec->text, or leave everything as it was when it does not fit. */
static ce_status deliver(ce_decoder *dec, char *buf, size_t capacity, size_t *written,
                         const char *fn)
{
    size_t n = dec->text.len;
    *written = n;
    if (n > capacity || (!buf && n))
        return ce_error(CE_ERR_BUFFER_TOO_SMALL, "%s: %zu bytes needed, %zu given", fn, n,
                        buf ? capacity : 0);
    if (n)
        memcpy(buf, dec->text.data, n);
    return CE_OK;
}

ce_status ce_decoder_push(ce_decoder *dec, int32_t id, char *buf, size_t capacity, size_t *written)
{
    if (!dec || !written)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_decoder_push: %s is NULL",
                        dec ? "written" : "dec");
    const ce_tokenizer *tok = dec->tok;
    if (id < 0 || (size_t)id >= tok->n_ids || !tok->ids[id].s)
        return ce_error(CE_ERR_OUT_OF_RANGE, "ce_decoder_push: %d is not a token id (0..%zu)",
                        (int)id, tok->n_ids - 1);
    if ((dec->flags & CE_DECODE_SKIP_SPECIAL) && tok->ids[id].special) {
        *written = 0;
        return CE_OK;
    }
    dec->bytes.len = 0;
    dec->text.len = 0;
    ce_status st = ce_strbuf_append(&dec->bytes, dec->held, dec->n_held);
    if (st == CE_OK && tok->ops->decode_token) {
        ce_str token = {tok->ids[id].s, tok->ids[id].len};
        st = tok->ops->decode_token(tok, token, dec->prev < 0, &dec->bytes);
    } else if (st == CE_OK) {
        st = piece_by_diff(dec, id);
    }
    size_t held_from = 0;
    if (st == CE_OK)
        st = complete_chars(dec->bytes.data, dec->bytes.len, &dec->text, &held_from);
    if (st == CE_OK)
        st = deliver(dec, buf, capacity, written, "ce_decoder_push");
    if (st != CE_OK)
        return st;
    dec->n_held = dec->bytes.len - held_from; /* at most 3: one unfinished character */
    memcpy(dec->held, dec->bytes.data + held_from, dec->n_held);
    dec->prev = id;
    return CE_OK;
}

ce_status ce_decoder_flush(ce_decoder *dec, char *buf, size_t capacity, size_t *written)
{
    if (!dec || !written)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_decoder_flush: %s is NULL",
                        dec ? "written" : "dec");
    dec->text.len = 0;
    ce_status st = dec->n_held ? ce_strbuf_append(&dec->text, fffd, 3) : CE_OK;
    if (st == CE_OK)
        st = deliver(dec, buf, capacity, written, "ce_decoder_flush");
    if (st != CE_OK)
        return st;
    dec->n_held = 0;
    dec->prev = -1;
    return CE_OK;
}
