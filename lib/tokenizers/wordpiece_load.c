/* Building a WordPiece tokenizer from Hugging Face's tokenizer.json, or from
 * BERT's vocab.txt plus an optional tokenizer_config.json the way
 * transformers' BertTokenizerFast converts them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/read_file.h"
#include "tokenizers/unicode.h"
#include "tokenizers/wordpiece.h"

static ce_wordpiece *wp_new(ce_tokenizer *tok)
{
    ce_wordpiece *wp = calloc(1, sizeof *wp);
    if (!wp)
        return NULL;
    tok->ops = &ce_wordpiece_ops;
    tok->model = wp;
    wp->prefix = "##";
    wp->prefix_len = 2;
    wp->max_chars = 100;
    wp->unk_id = -1;
    wp->wordpiece_decoder = true;
    wp->dec_prefix = "##";
    wp->dec_prefix_len = 2;
    wp->cleanup = true;
    return wp;
}

static bool flag(const ce_json *obj, const char *key, bool dflt)
{
    bool v;
    return ce_json_get_bool(obj, key, &v) ? v : dflt;
}

static ce_status set_unk(ce_tokenizer *tok, ce_wordpiece *wp, const char *unk, size_t len,
                         const char *path)
{
    if (!ce_strmap_get(&tok->vocab, unk, len, &wp->unk_id))
        return ce_error(CE_ERR_FORMAT, "%s: the unknown token \"%s\" is not in the vocabulary",
                        path, unk);
    tok->roles[CE_SPECIAL_UNK] = wp->unk_id;
    return CE_OK;
}

/* ---- tokenizer.json ------------------------------------------------------ */

static ce_status normalizer_from_json(ce_wordpiece *wp, const ce_json *n, const char *path)
{
    if (!n || n->type == CE_JSON_NULL)
        return CE_OK;
    const char *type = ce_json_get_string(n, "type");
    if (type && !strcmp(type, "BertNormalizer")) {
        wp->norm.clean_text = flag(n, "clean_text", true);
        wp->norm.handle_chinese = flag(n, "handle_chinese_chars", true);
        wp->norm.lowercase = flag(n, "lowercase", true);
        /* strip_accents: null means "do what lowercase does" */
        wp->norm.strip_accents = flag(n, "strip_accents", wp->norm.lowercase);
        return CE_OK;
    }
    if (type && !strcmp(type, "Lowercase")) {
        wp->norm.lowercase = true;
        return CE_OK;
    }
    return ce_error(CE_ERR_UNSUPPORTED, "%s: normalizer \"%s\" is not supported", path,
                    type ? type : "(no type)");
}

static ce_status pretokenizer_from_json(ce_wordpiece *wp, const ce_json *p, const char *path)
{
    if (!p || p->type == CE_JSON_NULL)
        return CE_OK;
    const char *type = ce_json_get_string(p, "type");
    if (type && !strcmp(type, "BertPreTokenizer")) {
        wp->bert_pretokenizer = true;
        return CE_OK;
    }
    return ce_error(CE_ERR_UNSUPPORTED, "%s: pre_tokenizer \"%s\" is not supported", path,
                    type ? type : "(no type)");
}

static ce_status decoder_from_json(ce_tokenizer *tok, ce_wordpiece *wp, const ce_json *d,
                                   const char *path)
{
    if (!d || d->type == CE_JSON_NULL) {
        wp->wordpiece_decoder = false;
        return CE_OK;
    }
    const char *type = ce_json_get_string(d, "type");
    if (!type || strcmp(type, "WordPiece"))
        return ce_error(CE_ERR_UNSUPPORTED, "%s: decoder \"%s\" is not supported", path,
                        type ? type : "(no type)");
    const ce_json *prefix = ce_json_get(d, "prefix");
    if (prefix && prefix->type == CE_JSON_STRING) {
        wp->dec_prefix = ce_pool_dup(&tok->pool, prefix->str, prefix->len);
        wp->dec_prefix_len = prefix->len;
        if (!wp->dec_prefix)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    wp->cleanup = flag(d, "cleanup", true);
    return CE_OK;
}

static ce_status model_from_json(ce_tokenizer *tok, ce_wordpiece *wp, const ce_json *model,
                                 const char *path)
{
    ce_status st = ce_tokenizer_vocab_from_json(tok, ce_json_get(model, "vocab"), path, NULL);
    if (st != CE_OK)
        return st;
    const ce_json *prefix = ce_json_get(model, "continuing_subword_prefix");
    if (prefix && prefix->type == CE_JSON_STRING) {
        wp->prefix = ce_pool_dup(&tok->pool, prefix->str, prefix->len);
        wp->prefix_len = prefix->len;
        if (!wp->prefix)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    int64_t max_chars;
    if (ce_json_get_int(model, "max_input_chars_per_word", &max_chars)) {
        if (max_chars < 0)
            return ce_error(CE_ERR_FORMAT, "%s: negative max_input_chars_per_word", path);
        wp->max_chars = (size_t)max_chars;
    }
    const ce_json *unk = ce_json_get(model, "unk_token");
    if (unk && unk->type != CE_JSON_STRING)
        return ce_error(CE_ERR_FORMAT, "%s: model.unk_token is not a string", path);
    return unk ? set_unk(tok, wp, unk->str, unk->len, path) : set_unk(tok, wp, "[UNK]", 5, path);
}

ce_status ce_wordpiece_from_json(ce_tokenizer *tok, const ce_json *root, const char *path)
{
    ce_wordpiece *wp = wp_new(tok);
    if (!wp)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    ce_status st = model_from_json(tok, wp, ce_json_get(root, "model"), path);
    if (st == CE_OK)
        st = normalizer_from_json(wp, ce_json_get(root, "normalizer"), path);
    if (st == CE_OK)
        st = pretokenizer_from_json(wp, ce_json_get(root, "pre_tokenizer"), path);
    if (st == CE_OK)
        st = decoder_from_json(tok, wp, ce_json_get(root, "decoder"), path);
    return st;
}

/* ---- vocab.txt + tokenizer_config.json --------------------------------------- */

/* One token per line, its id the line number; a later duplicate wins the
 * string -> id lookup, as in transformers' load_vocab. */
static ce_status vocab_from_txt(ce_tokenizer *tok, const char *data, size_t len, const char *path)
{
    size_t bad = ce_utf8_valid_prefix(data, len);
    if (bad != len)
        return ce_error(CE_ERR_FORMAT, "%s: invalid UTF-8 at byte %zu", path, bad);
    size_t line = 0;
    for (size_t pos = 0; pos < len; line++) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t n = end - pos;
        if (n && data[pos + n - 1] == '\r') /* files written on Windows */
            n--;
        if (line > INT32_MAX)
            return ce_error(CE_ERR_FORMAT, "%s: too many lines", path);
        ce_status st = ce_tokenizer_add_vocab(tok, data + pos, n, (int32_t)line);
        if (st != CE_OK)
            return st;
        pos = end + 1;
    }
    if (line == 0)
        return ce_error(CE_ERR_FORMAT, "%s: empty vocabulary", path);
    return CE_OK;
}

typedef struct bert_config {
    bool lower, strip, chinese;
    /* special token strings in transformers' order of adding them */
    const char *names[5];
} bert_config;

enum { NAME_UNK, NAME_SEP, NAME_PAD, NAME_CLS, NAME_MASK };

/* "unk_token": "[UNK]" or {"content": "[UNK]", ...} */
static const char *token_name(const ce_json *cfg, const char *key, const char *dflt)
{
    const ce_json *v = ce_json_get(cfg, key);
    if (v && v->type == CE_JSON_STRING)
        return v->str;
    const char *content = ce_json_get_string(v, "content");
    return content ? content : dflt;
}

static void read_config(const ce_json *cfg, bert_config *c)
{
    c->lower = flag(cfg, "do_lower_case", true);
    c->strip = flag(cfg, "strip_accents", c->lower);
    c->chinese = flag(cfg, "tokenize_chinese_chars", true);
    c->names[NAME_UNK] = token_name(cfg, "unk_token", "[UNK]");
    c->names[NAME_SEP] = token_name(cfg, "sep_token", "[SEP]");
    c->names[NAME_PAD] = token_name(cfg, "pad_token", "[PAD]");
    c->names[NAME_CLS] = token_name(cfg, "cls_token", "[CLS]");
    c->names[NAME_MASK] = token_name(cfg, "mask_token", "[MASK]");
}

/* The special tokens become added tokens (not normalised, special); one the
 * vocabulary lacks gets the next free id, as transformers does. */
static ce_status add_specials(ce_tokenizer *tok, const bert_config *c, size_t n_lines,
                              int32_t ids[5], const char *path)
{
    int64_t next = (int64_t)n_lines; /* 64 bits: the last line's id may be INT32_MAX */
    for (int i = 0; i < 5; i++) {
        const char *name = c->names[i];
        size_t len = strlen(name);
        int32_t id;
        if (!ce_tokenizer_lookup(tok, name, len, &id)) {
            if (next > INT32_MAX)
                return ce_error(CE_ERR_FORMAT, "%s: no token id is left for \"%s\"", path, name);
            id = (int32_t)next++;
        }
        ce_added_token t = {.content = name, .len = len, .id = id, .special = true};
        ce_status st = ce_tokenizer_add_added(tok, &t);
        if (st != CE_OK)
            return st;
        ids[i] = id;
    }
    return CE_OK;
}

static ce_status build_from_txt(ce_tokenizer *tok, const char *data, size_t len, const ce_json *cfg,
                                const char *path)
{
    ce_wordpiece *wp = wp_new(tok);
    if (!wp)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    bert_config c;
    read_config(cfg, &c);
    wp->norm = (ce_bert_normalizer){true, c.chinese, c.strip, c.lower};
    wp->bert_pretokenizer = true;
    ce_status st = vocab_from_txt(tok, data, len, path);
    size_t n_lines = tok->n_entries;
    if (st == CE_OK)
        st = set_unk(tok, wp, c.names[NAME_UNK], strlen(c.names[NAME_UNK]), path);
    int32_t ids[5];
    if (st == CE_OK)
        st = add_specials(tok, &c, n_lines, ids, path);
    if (st == CE_OK)
        st = ce_template_bert(tok, ids[NAME_CLS], ids[NAME_SEP]);
    if (st == CE_OK) {
        tok->roles[CE_SPECIAL_PAD] = ids[NAME_PAD];
        tok->roles[CE_SPECIAL_MASK] = ids[NAME_MASK];
        st = ce_tokenizer_finish(tok, path);
    }
    return st;
}

ce_status ce_wordpiece_from_vocab_txt(const char *vocab_path, const char *config_path,
                                      ce_tokenizer **out)
{
    ce_json *cfg = NULL;
    if (config_path) {
        ce_status st = ce_json_parse_file(config_path, &cfg);
        if (st != CE_OK)
            return st;
        if (cfg->type != CE_JSON_OBJECT) {
            ce_json_free(cfg);
            return ce_error(CE_ERR_FORMAT, "%s: not a JSON object", config_path);
        }
    }
    char *data = NULL;
    size_t len = 0;
    ce_status st = ce_read_file(vocab_path, CE_MAX_TOKENIZER_FILE, &data, &len);
    ce_tokenizer *tok = NULL;
    if (st == CE_OK && !(tok = ce_tokenizer_new()))
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", vocab_path);
    if (st == CE_OK)
        st = build_from_txt(tok, data, len, cfg, vocab_path);
    free(data);
    ce_json_free(cfg);
    if (st != CE_OK) {
        ce_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return CE_OK;
}
