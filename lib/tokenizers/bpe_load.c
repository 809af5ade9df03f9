/* Building a byte-level BPE tokenizer from Hugging Face's tokenizer.json
 * (model.type "BPE" with ByteLevel pre-tokenizer and decoder), or from
 * vocab.json + merges.txt (+ tokenizer_config.json, special_tokens_map.json)
 * the way transformers' GPT2TokenizerFast converts them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/model_dir.h"
#include "io/read_file.h"
#include "tokenizers/bpe.h"
#include "tokenizers/unicode.h"

static bool flag(const ce_json *obj, const char *key, bool dflt)
{
    bool v;
    return ce_json_get_bool(obj, key, &v) ? v : dflt;
}

/* "a b": split at the one space. */
static bool split_merge(const char *s, size_t len, size_t *sp)
{
    const char *p = memchr(s, ' ', len);
    if (!p || p == s || p == s + len - 1 || memchr(p + 1, ' ', len - (size_t)(p - s) - 1))
        return false;
    *sp = (size_t)(p - s);
    return true;
}

/* model.merges: ["a b", ...] or, in newer files, [["a", "b"], ...]. */
static ce_status merges_from_json(ce_tokenizer *tok, ce_bpe *bpe, const ce_json *merges,
                                  const char *path)
{
    if (!merges || merges->type != CE_JSON_ARRAY)
        return ce_error(CE_ERR_FORMAT, "%s: model.merges is missing or not a list", path);
    char where[64];
    for (size_t i = 0; i < merges->n; i++) {
        const ce_json *m = merges->items[i];
        snprintf(where, sizeof where, "model.merges[%zu]", i);
        ce_status st;
        size_t sp;
        if (m->type == CE_JSON_STRING && split_merge(m->str, m->len, &sp)) {
            st = ce_bpe_add_merge(tok, bpe, m->str, sp, m->str + sp + 1, m->len - sp - 1,
                                  (uint32_t)i, where);
        } else if (m->type == CE_JSON_ARRAY && m->n == 2 && m->items[0]->type == CE_JSON_STRING &&
                   m->items[1]->type == CE_JSON_STRING) {
            st = ce_bpe_add_merge(tok, bpe, m->items[0]->str, m->items[0]->len, m->items[1]->str,
                                  m->items[1]->len, (uint32_t)i, where);
        } else {
            return ce_error(CE_ERR_FORMAT, "%s: %s is not a pair of tokens", path, where);
        }
        if (st != CE_OK)
            return ce_error_prefix(st, "%s: ", path);
    }
    return CE_OK;
}

static const char *type_of(const ce_json *obj)
{
    const char *t = ce_json_get_string(obj, "type");
    return t ? t : "(no type)";
}

static bool is_null(const ce_json *v)
{
    return !v || v->type == CE_JSON_NULL;
}

static ce_status pipeline_from_json(ce_bpe *bpe, const ce_json *root, const char *path)
{
    const ce_json *norm = ce_json_get(root, "normalizer");
    const ce_json *pre = ce_json_get(root, "pre_tokenizer");
    const ce_json *dec = ce_json_get(root, "decoder");
    if (!is_null(norm))
        return ce_error(CE_ERR_UNSUPPORTED, "%s: normalizer \"%s\" is not supported with BPE", path,
                        type_of(norm));
    if (is_null(pre) || strcmp(type_of(pre), "ByteLevel"))
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: BPE needs the ByteLevel pre-tokenizer (found \"%s\")", path,
                        is_null(pre) ? "null" : type_of(pre));
    bpe->add_prefix_space = flag(pre, "add_prefix_space", true);
    bpe->use_regex = flag(pre, "use_regex", true);
    if (is_null(dec))
        bpe->byte_decoder = false;
    else if (strcmp(type_of(dec), "ByteLevel"))
        return ce_error(CE_ERR_UNSUPPORTED, "%s: decoder \"%s\" is not supported with BPE", path,
                        type_of(dec));
    return CE_OK;
}

static ce_status model_options(ce_tokenizer *tok, ce_bpe *bpe, const ce_json *model,
                               const char *path)
{
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (size_t i = 0; i < 2; i++) {
        const ce_json *v = ce_json_get(model, affixes[i]);
        if (!is_null(v) && (v->type != CE_JSON_STRING || v->len))
            return ce_error(CE_ERR_UNSUPPORTED, "%s: BPE with a %s is not supported", path,
                            affixes[i]);
    }
    if (flag(model, "byte_fallback", false))
        return ce_error(CE_ERR_UNSUPPORTED, "%s: BPE with byte_fallback is not supported", path);
    bpe->fuse_unk = flag(model, "fuse_unk", false);
    bpe->ignore_merges = flag(model, "ignore_merges", false);
    const ce_json *unk = ce_json_get(model, "unk_token");
    if (is_null(unk))
        return CE_OK;
    if (unk->type != CE_JSON_STRING ||
        !ce_strmap_get(&tok->vocab, unk->str, unk->len, &bpe->unk_id))
        return ce_error(CE_ERR_FORMAT, "%s: model.unk_token is not in the vocabulary", path);
    tok->roles[CE_SPECIAL_UNK] = bpe->unk_id;
    return CE_OK;
}

ce_status ce_bpe_from_json(ce_tokenizer *tok, const ce_json *root, const char *path)
{
    ce_bpe *bpe = ce_bpe_new(tok);
    if (!bpe)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    const ce_json *model = ce_json_get(root, "model");
    int32_t max_id;
    ce_status st = pipeline_from_json(bpe, root, path);
    if (st == CE_OK)
        st = ce_tokenizer_vocab_from_json(tok, ce_json_get(model, "vocab"), path, &max_id);
    if (st == CE_OK)
        st = model_options(tok, bpe, model, path);
    if (st == CE_OK)
        st = merges_from_json(tok, bpe, ce_json_get(model, "merges"), path);
    if (st == CE_OK)
        ce_bpe_index_bytes(tok, bpe);
    return st;
}

/* ---- special-token names from tokenizer_config.json / special_tokens_map.json ---- */

/* "eos_token": "<|endoftext|>" or {"content": "<|endoftext|>", ...} */
static const ce_json *token_content(const ce_json *v)
{
    if (v && v->type == CE_JSON_STRING)
        return v;
    const ce_json *c = ce_json_get(v, "content");
    return c && c->type == CE_JSON_STRING ? c : NULL;
}

static const struct {
    ce_special_token role;
    const char *key;
} role_keys[] = {
    {CE_SPECIAL_UNK, "unk_token"}, {CE_SPECIAL_BOS, "bos_token"},   {CE_SPECIAL_EOS, "eos_token"},
    {CE_SPECIAL_PAD, "pad_token"}, {CE_SPECIAL_MASK, "mask_token"}, {CE_SPECIAL_CLS, "cls_token"},
    {CE_SPECIAL_SEP, "sep_token"},
};

#define N_ROLE_KEYS (sizeof role_keys / sizeof *role_keys)

/* Roles named by the config files (later files win), when the names are
 * tokens; GPT2Tokenizer's defaults (<|endoftext|> for unk, bos and eos)
 * when the files say nothing. */
static void roles_from_configs(ce_tokenizer *tok, const ce_json *const *cfgs, size_t n_cfgs)
{
    for (size_t r = 0; r < N_ROLE_KEYS; r++) {
        const ce_json *name = NULL;
        for (size_t c = 0; c < n_cfgs; c++) {
            const ce_json *v = token_content(ce_json_get(cfgs[c], role_keys[r].key));
            if (v)
                name = v;
        }
        int32_t id;
        if (name && ce_tokenizer_lookup(tok, name->str, name->len, &id))
            tok->roles[role_keys[r].role] = id;
    }
    int32_t eot;
    if (ce_tokenizer_lookup(tok, "<|endoftext|>", 13, &eot)) {
        static const ce_special_token gpt2[] = {CE_SPECIAL_UNK, CE_SPECIAL_BOS, CE_SPECIAL_EOS};
        for (size_t i = 0; i < 3; i++)
            if (tok->roles[gpt2[i]] < 0)
                tok->roles[gpt2[i]] = eot;
    }
}

/* Parse dir/name when it exists; *out NULL when it does not. */
static ce_status optional_json(const char *dir, const char *name, ce_json **out)
{
    *out = NULL;
    if (!dir)
        return CE_OK;
    char *p = ce_path_join(dir, name);
    if (!p)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    FILE *f = fopen(p, "rb");
    ce_status st = CE_OK;
    if (f) {
        fclose(f);
        st = ce_json_parse_file(p, out);
        if (st == CE_OK && (*out)->type != CE_JSON_OBJECT) {
            ce_json_free(*out);
            *out = NULL;
            st = ce_error(CE_ERR_FORMAT, "%s: not a JSON object", p);
        }
    }
    free(p);
    return st;
}

/* Directory part of a file path ("." for a bare name); caller frees. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *d = malloc(n + 2);
    if (!d)
        return NULL;
    if (slash) {
        memcpy(d, path, n ? n : 1); /* "/x" -> "/" */
        d[n ? n : 1] = '\0';
    } else {
        strcpy(d, ".");
    }
    return d;
}

typedef struct configs {
    ce_json *tc;    /* tokenizer_config.json */
    ce_json *stm;   /* special_tokens_map.json */
    ce_json *model; /* config.json (which tokenizer class a model implies) */
} configs;

static ce_status read_configs(const char *dir, configs *c)
{
    ce_status st = optional_json(dir, "tokenizer_config.json", &c->tc);
    if (st == CE_OK)
        st = optional_json(dir, "special_tokens_map.json", &c->stm);
    if (st == CE_OK)
        st = optional_json(dir, "config.json", &c->model);
    return st;
}

static void free_configs(configs *c)
{
    ce_json_free(c->tc);
    ce_json_free(c->stm);
    ce_json_free(c->model);
}

ce_status ce_bpe_roles_from_dir(ce_tokenizer *tok, const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    configs c = {0};
    ce_status st = read_configs(dir, &c);
    if (st == CE_OK) {
        const ce_json *list[2] = {c.tc, c.stm};
        roles_from_configs(tok, list, 2);
    }
    free_configs(&c);
    free(dir);
    return st;
}

/* ---- vocab.json + merges.txt ------------------------------------------------------- */

/* One merge "a b" per line, ranked in file order; "#version" lines are
 * skipped and a final newline (or CRLF) is fine, as in HF's reader. */
static ce_status merges_from_txt(ce_tokenizer *tok, ce_bpe *bpe, const char *data, size_t len,
                                 const char *path)
{
    if (ce_utf8_valid_prefix(data, len) != len)
        return ce_error(CE_ERR_FORMAT, "%s: invalid UTF-8 at byte %zu", path,
                        ce_utf8_valid_prefix(data, len));
    uint32_t rank = 0;
    size_t line = 1;
    char where[64];
    for (size_t pos = 0; pos < len; line++) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len, n = end - pos, sp;
        const char *s = data + pos;
        pos = end + 1;
        if (n && s[n - 1] == '\r')
            n--;
        if (n >= 8 && !memcmp(s, "#version", 8))
            continue;
        if (!split_merge(s, n, &sp))
            return ce_error(CE_ERR_FORMAT, "%s: line %zu is not a merge \"a b\"", path, line);
        snprintf(where, sizeof where, "%s: line %zu", path, line);
        ce_status st = ce_bpe_add_merge(tok, bpe, s, sp, s + sp + 1, n - sp - 1, rank++, where);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

static ce_status load_vocab_json(ce_tokenizer *tok, const char *path, int32_t *max_id)
{
    ce_json *v;
    ce_status st = ce_json_parse_file_max(path, CE_MAX_TOKENIZER_FILE, &v);
    if (st != CE_OK)
        return st;
    st = ce_tokenizer_vocab_from_json(tok, v, path, max_id);
    ce_json_free(v);
    return st;
}

/* added_tokens_decoder: {"50256": {"content": ..., "special": true, ...}} */
static ce_status added_from_config(ce_tokenizer *tok, const ce_json *tc, const char *where)
{
    const ce_json *dec = ce_json_get(tc, "added_tokens_decoder");
    for (size_t i = 0; dec && dec->type == CE_JSON_OBJECT && i < dec->n; i++) {
        const ce_json *it = dec->items[i], *content = token_content(it);
        char *end;
        long id = strtol(dec->keys[i], &end, 10);
        if (!content || *end || end == dec->keys[i] || id < 0 || id > INT32_MAX)
            return ce_error(CE_ERR_FORMAT, "%s: bad added_tokens_decoder entry \"%.32s\"", where,
                            dec->keys[i]);
        ce_added_token t = {
            .content = content->str,
            .len = content->len,
            .id = (int32_t)id,
            .special = flag(it, "special", false),
            .lstrip = flag(it, "lstrip", false),
            .rstrip = flag(it, "rstrip", false),
            .single_word = flag(it, "single_word", false),
            .normalized = flag(it, "normalized", false),
        };
        ce_status st = t.len ? ce_tokenizer_add_added(tok, &t) : CE_OK;
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

/* The id after the vocabulary's and the added tokens' largest, which
 * transformers gives to a named token the vocabulary lacks. 64 bits: the
 * largest id may be INT32_MAX, and then there is no next one. */
static int64_t first_free_id(const ce_tokenizer *tok, int32_t max_id)
{
    int64_t next = (int64_t)max_id + 1;
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].id >= next)
            next = (int64_t)tok->added[i].id + 1;
    return next;
}

static ce_status take_free_id(int64_t *next_id, const char *s, size_t len, int32_t *id)
{
    if (*next_id > INT32_MAX)
        return ce_error(CE_ERR_FORMAT, "no token id is left for \"%.*s\" (ids reach %d)",
                        len > 64 ? 64 : (int)len, s, INT32_MAX);
    *id = (int32_t)(*next_id)++;
    return CE_OK;
}

/* A named special token becomes an added special token; one unknown to the
 * vocabulary gets the next free id, as transformers gives it. */
static ce_status add_special_name(ce_tokenizer *tok, const char *s, size_t len, int64_t *next_id)
{
    int32_t idx, id;
    if (!len || ce_strmap_get(&tok->added_map, s, len, &idx))
        return CE_OK;
    ce_status st = ce_strmap_get(&tok->vocab, s, len, &id) ? CE_OK
                                                           : take_free_id(next_id, s, len, &id);
    ce_added_token t = {.content = s, .len = len, .id = id, .special = true};
    return st == CE_OK ? ce_tokenizer_add_added(tok, &t) : st;
}

static ce_status add_special_json(ce_tokenizer *tok, const ce_json *name, int64_t *next_id)
{
    return name ? add_special_name(tok, name->str, name->len, next_id) : CE_OK;
}

static ce_status specials_from_configs(ce_tokenizer *tok, const configs *c, int32_t max_id)
{
    int64_t next = first_free_id(tok, max_id);
    const ce_json *list[2] = {c->tc, c->stm};
    ce_status st = CE_OK;
    bool named = false;
    for (size_t k = 0; k < 2 && st == CE_OK; k++) {
        for (size_t r = 0; r < N_ROLE_KEYS && st == CE_OK; r++) {
            const ce_json *name = token_content(ce_json_get(list[k], role_keys[r].key));
            named |= name != NULL;
            st = add_special_json(tok, name, &next);
        }
        const ce_json *extra = ce_json_get(list[k], "additional_special_tokens");
        for (size_t i = 0; st == CE_OK && extra && extra->type == CE_JSON_ARRAY && i < extra->n;
             i++)
            st = add_special_json(tok, token_content(extra->items[i]), &next);
    }
    /* GPT2Tokenizer's defaults: unk, bos and eos are all <|endoftext|> */
    int32_t id;
    if (st == CE_OK && !named && ce_strmap_get(&tok->vocab, "<|endoftext|>", 13, &id))
        st = add_special_name(tok, "<|endoftext|>", 13, &next);
    return st;
}

/* RobertaTokenizer(Fast) by tokenizer_config.json's tokenizer_class, else by
 * config.json's model_type, as transformers' AutoTokenizer picks it. */
static bool is_roberta(const configs *c)
{
    const char *cls = ce_json_get_string(c->tc, "tokenizer_class");
    if (cls)
        return !strncmp(cls, "RobertaTokenizer", 16);
    const char *type = ce_json_get_string(c->model, "model_type");
    return type && !strcmp(type, "roberta");
}

/* RobertaTokenizer's special tokens when the files do not name them. */
static const struct {
    ce_special_token role;
    const char *key, *name;
} roberta_defaults[] = {
    {CE_SPECIAL_BOS, "bos_token", "<s>"},   {CE_SPECIAL_EOS, "eos_token", "</s>"},
    {CE_SPECIAL_UNK, "unk_token", "<unk>"}, {CE_SPECIAL_SEP, "sep_token", "</s>"},
    {CE_SPECIAL_CLS, "cls_token", "<s>"},   {CE_SPECIAL_PAD, "pad_token", "<pad>"},
    {CE_SPECIAL_MASK, "mask_token", "<mask>"},
};

/* The configured name of a role (later file wins), else RoBERTa's default. */
static const ce_json *named(const configs *c, const char *key, const ce_json **obj)
{
    const ce_json *v = NULL;
    const ce_json *list[2] = {c->tc, c->stm};
    for (size_t i = 0; i < 2; i++) {
        const ce_json *t = token_content(ce_json_get(list[i], key));
        if (t) {
            v = t;
            *obj = ce_json_get(list[i], key);
        }
    }
    return v;
}

/* RobertaTokenizer declares its mask token with lstrip (" <mask>" is one
 * token), unless the files say otherwise. Added before the other specials. */
static ce_status roberta_mask(ce_tokenizer *tok, const configs *c, int64_t *next)
{
    const ce_json *obj = NULL, *name = named(c, "mask_token", &obj);
    const char *s = name ? name->str : "<mask>";
    size_t len = name ? name->len : 6;
    int32_t idx, id;
    if (ce_strmap_get(&tok->added_map, s, len, &idx))
        return CE_OK;
    ce_status st = ce_strmap_get(&tok->vocab, s, len, &id) ? CE_OK
                                                           : take_free_id(next, s, len, &id);
    ce_added_token t = {.content = s, .len = len, .id = id, .special = true,
                        .lstrip = flag(obj, "lstrip", true), .rstrip = flag(obj, "rstrip", false)};
    return st == CE_OK ? ce_tokenizer_add_added(tok, &t) : st;
}

static ce_status roberta_specials(ce_tokenizer *tok, const configs *c, int64_t *next)
{
    ce_status st = roberta_mask(tok, c, next);
    for (size_t i = 0; st == CE_OK && i < sizeof roberta_defaults / sizeof *roberta_defaults; i++) {
        const ce_json *obj = NULL;
        if (!named(c, roberta_defaults[i].key, &obj))
            st = add_special_name(tok, roberta_defaults[i].name, strlen(roberta_defaults[i].name),
                                  next);
    }
    return st;
}

/* <s> A </s> (</s> B </s>) with ByteLevel's offset trimming, as transformers'
 * RobertaConverter builds RobertaProcessing. */
static ce_status roberta_template(ce_tokenizer *tok, const configs *c, const ce_bpe *bpe,
                                  const char *path)
{
    int32_t ids[2];
    const char *keys[2] = {"cls_token", "sep_token"}, *dflt[2] = {"<s>", "</s>"};
    for (int i = 0; i < 2; i++) {
        const ce_json *obj = NULL, *name = named(c, keys[i], &obj);
        const char *s = name ? name->str : dflt[i];
        if (!ce_tokenizer_lookup(tok, s, name ? name->len : strlen(s), &ids[i]))
            return ce_error(CE_ERR_FORMAT, "%s: RoBERTa's %s \"%s\" is not a token", path,
                            keys[i], s);
    }
    tok->pp_trim_offsets = true;
    tok->pp_add_prefix_space = bpe->add_prefix_space;
    return ce_template_roberta(tok, ids[0], ids[1]);
}

static void roberta_roles(ce_tokenizer *tok)
{
    for (size_t i = 0; i < sizeof roberta_defaults / sizeof *roberta_defaults; i++) {
        int32_t id;
        const char *n = roberta_defaults[i].name;
        if (tok->roles[roberta_defaults[i].role] < 0 && ce_tokenizer_lookup(tok, n, strlen(n), &id))
            tok->roles[roberta_defaults[i].role] = id;
    }
}

/* Special tokens and template of the tokenizer class the files imply. */
static ce_status specials_and_template(ce_tokenizer *tok, const configs *c, const ce_bpe *bpe,
                                       int32_t max_id, const char *path)
{
    bool roberta = is_roberta(c);
    int64_t next = first_free_id(tok, max_id);
    ce_status st = roberta ? roberta_specials(tok, c, &next) : CE_OK;
    if (st == CE_OK)
        st = specials_from_configs(tok, c, max_id);
    if (st == CE_OK)
        st = roberta ? roberta_template(tok, c, bpe, path) : ce_template_from_json(tok, NULL, path);
    else if (st == CE_ERR_FORMAT)
        st = ce_error_prefix(st, "%s: ", path);
    if (st == CE_OK) {
        const ce_json *list[2] = {c->tc, c->stm};
        roles_from_configs(tok, list, 2);
        if (roberta)
            roberta_roles(tok);
    }
    return st;
}

static ce_status build_from_files(ce_tokenizer *tok, const char *vocab_path,
                                  const char *merges_path, const char *dir)
{
    ce_bpe *bpe = ce_bpe_new(tok);
    if (!bpe)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", vocab_path);
    configs c = {0};
    char *merges = NULL;
    size_t merges_len = 0;
    int32_t max_id = -1;
    ce_status st = read_configs(dir, &c);
    if (st == CE_OK)
        st = load_vocab_json(tok, vocab_path, &max_id);
    if (st == CE_OK)
        st = ce_read_file(merges_path, CE_MAX_TOKENIZER_FILE, &merges, &merges_len);
    if (st == CE_OK)
        st = merges_from_txt(tok, bpe, merges, merges_len, merges_path);
    free(merges);
    if (st == CE_OK) {
        ce_bpe_index_bytes(tok, bpe);
        bpe->add_prefix_space = flag(c.tc, "add_prefix_space", false);
        st = added_from_config(tok, c.tc, vocab_path);
    }
    if (st == CE_OK)
        st = specials_and_template(tok, &c, bpe, max_id, vocab_path);
    if (st == CE_OK)
        st = ce_tokenizer_finish(tok, vocab_path);
    free_configs(&c);
    return st;
}

ce_status ce_bpe_from_files(const char *vocab_path, const char *merges_path, const char *dir,
                            ce_tokenizer **out)
{
    ce_tokenizer *tok = ce_tokenizer_new();
    if (!tok)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", vocab_path);
    ce_status st = build_from_files(tok, vocab_path, merges_path, dir);
    if (st != CE_OK) {
        ce_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return CE_OK;
}
