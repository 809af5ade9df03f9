/* The shared tokenizer object: building it while loading (vocabulary, added
 * tokens), the id table, special-token roles, freeing. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

struct ce_vocab_entry {
    const char *s;
    uint32_t len;
    int32_t id;
};

ce_tokenizer *ce_tokenizer_new(void)
{
    ce_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return NULL;
    for (int i = 0; i < CE_N_ROLES; i++)
        tok->roles[i] = -1;
    if (ce_strmap_init(&tok->vocab, 1024) != CE_OK ||
        ce_strmap_init(&tok->added_map, 16) != CE_OK) {
        ce_tokenizer_destroy(tok);
        return NULL;
    }
    return tok;
}

void ce_tokenizer_destroy(ce_tokenizer *tok)
{
    if (!tok)
        return;
    if (tok->ops && tok->ops->free_model)
        tok->ops->free_model(tok->model);
    ce_strmap_free(&tok->vocab);
    ce_strmap_free(&tok->added_map);
    ce_added_set_free(&tok->raw_set);
    ce_added_set_free(&tok->norm_set);
    ce_template_free(&tok->single);
    ce_template_free(&tok->pair);
    free(tok->ids);
    free(tok->added);
    free(tok->entries);
    ce_pool_free(&tok->pool);
    free(tok);
}

ce_status ce_tokenizer_add_vocab(ce_tokenizer *tok, const char *s, size_t len, int32_t id)
{
    if (tok->n_entries == tok->cap_entries) {
        size_t cap = tok->cap_entries ? tok->cap_entries * 2 : 1024;
        struct ce_vocab_entry *e = realloc(tok->entries, cap * sizeof *e);
        if (!e)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for the vocabulary");
        tok->entries = e;
        tok->cap_entries = cap;
    }
    const char *copy = ce_pool_dup(&tok->pool, s, len);
    if (!copy)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for the vocabulary");
    ce_status st = ce_strmap_put(&tok->vocab, copy, len, id);
    if (st != CE_OK)
        return st;
    tok->entries[tok->n_entries++] = (struct ce_vocab_entry){copy, (uint32_t)len, id};
    if (len > tok->max_vocab_len)
        tok->max_vocab_len = len;
    return CE_OK;
}

ce_status ce_tokenizer_vocab_from_json(ce_tokenizer *tok, const ce_json *vocab, const char *path,
                                       int32_t *max_id)
{
    int32_t max = -1;
    if (!vocab || vocab->type != CE_JSON_OBJECT || vocab->n == 0)
        return ce_error(CE_ERR_FORMAT, "%s: the vocabulary is missing or empty", path);
    for (size_t i = 0; i < vocab->n; i++) {
        const ce_json *v = vocab->items[i];
        if (v->type != CE_JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer > INT32_MAX)
            return ce_error(CE_ERR_FORMAT, "%s: vocabulary entry \"%.64s\" has no valid id", path,
                            vocab->keys[i]);
        if (ce_utf8_valid_prefix(vocab->keys[i], vocab->key_lens[i]) != vocab->key_lens[i])
            return ce_error(CE_ERR_FORMAT, "%s: vocabulary entry %zu is not UTF-8", path, i);
        ce_status st =
            ce_tokenizer_add_vocab(tok, vocab->keys[i], vocab->key_lens[i], (int32_t)v->integer);
        if (st != CE_OK)
            return st;
        if (v->integer > max)
            max = (int32_t)v->integer;
    }
    if (max_id)
        *max_id = max;
    return CE_OK;
}

/* A token already added (same content) is updated, as HF's map entry is. */
ce_status ce_tokenizer_add_added(ce_tokenizer *tok, const ce_added_token *t)
{
    int32_t idx;
    ce_added_token *dst;
    if (t->len && ce_strmap_get(&tok->added_map, t->content, t->len, &idx)) {
        dst = &tok->added[idx];
        const char *content = dst->content;
        *dst = *t;
        dst->content = content;
        return CE_OK;
    }
    if (tok->n_added == tok->cap_added) { /* doubling: files hold up to 100,000s */
        size_t cap = tok->cap_added ? 2 * tok->cap_added : 16;
        ce_added_token *a = realloc(tok->added, cap * sizeof *a);
        if (!a)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for added tokens");
        tok->added = a;
        tok->cap_added = cap;
    }
    dst = &tok->added[tok->n_added];
    *dst = *t;
    dst->content = ce_pool_dup(&tok->pool, t->content, t->len);
    if (!dst->content)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for added tokens");
    ce_status st = ce_strmap_put(&tok->added_map, dst->content, t->len, (int32_t)tok->n_added);
    if (st == CE_OK)
        tok->n_added++;
    return st;
}

static bool json_flag(const ce_json *obj, const char *key, bool dflt)
{
    bool v;
    return ce_json_get_bool(obj, key, &v) ? v : dflt;
}

ce_status ce_tokenizer_added_from_json(ce_tokenizer *tok, const ce_json *arr, const char *path)
{
    if (!arr || arr->type == CE_JSON_NULL)
        return CE_OK;
    if (arr->type != CE_JSON_ARRAY)
        return ce_error(CE_ERR_FORMAT, "%s: added_tokens is not a list", path);
    for (size_t i = 0; i < arr->n; i++) {
        const ce_json *it = arr->items[i];
        const ce_json *content = ce_json_get(it, "content");
        int64_t id;
        if (!content || content->type != CE_JSON_STRING || !ce_json_get_int(it, "id", &id) ||
            id < 0 || id > INT32_MAX)
            return ce_error(CE_ERR_FORMAT, "%s: added_tokens[%zu]: needs content and an id", path,
                            i);
        ce_added_token t = {
            .content = content->str,
            .len = content->len,
            .id = (int32_t)id,
            .special = json_flag(it, "special", false),
            .lstrip = json_flag(it, "lstrip", false),
            .rstrip = json_flag(it, "rstrip", false),
            .single_word = json_flag(it, "single_word", false),
        };
        t.normalized = json_flag(it, "normalized", !t.special);
        if (t.len == 0)
            continue; /* HF ignores empty added tokens */
        /* HF gives a token that the model already knows the model's id */
        int32_t vid;
        if (ce_strmap_get(&tok->vocab, t.content, t.len, &vid))
            t.id = vid;
        ce_status st = ce_tokenizer_add_added(tok, &t);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

bool ce_tokenizer_lookup(const ce_tokenizer *tok, const char *s, size_t len, int32_t *id)
{
    int32_t idx;
    if (ce_strmap_get(&tok->added_map, s, len, &idx)) {
        *id = tok->added[idx].id;
        return true;
    }
    return ce_strmap_get(&tok->vocab, s, len, id);
}

static ce_status build_id_table(ce_tokenizer *tok, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < tok->n_entries; i++)
        if ((size_t)tok->entries[i].id + 1 > n)
            n = (size_t)tok->entries[i].id + 1;
    for (size_t i = 0; i < tok->n_added; i++)
        if ((size_t)tok->added[i].id + 1 > n)
            n = (size_t)tok->added[i].id + 1;
    /* ids may have holes, but a few huge ids would make a huge table */
    if (n > 2 * (tok->n_entries + tok->n_added) + 65536)
        return ce_error(CE_ERR_FORMAT, "%s: token ids up to %zu for %zu tokens", path, n - 1,
                        tok->n_entries + tok->n_added);
    tok->ids = calloc(n ? n : 1, sizeof *tok->ids);
    if (!tok->ids)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory for the id table", path);
    tok->n_ids = n;
    for (size_t i = 0; i < tok->n_entries; i++) {
        const struct ce_vocab_entry *e = &tok->entries[i];
        tok->ids[e->id] = (ce_id_entry){e->s, e->len, false};
    }
    for (size_t i = 0; i < tok->n_added; i++) {
        const ce_added_token *a = &tok->added[i];
        tok->ids[a->id] = (ce_id_entry){a->content, (uint32_t)a->len, a->special};
    }
    return CE_OK;
}

static ce_status build_sets(ce_tokenizer *tok)
{
    size_t n = tok->n_added;
    ce_added_pattern *raw = calloc(n ? n : 1, sizeof *raw);
    ce_added_pattern *norm = calloc(n ? n : 1, sizeof *norm);
    ce_status st = raw && norm ? CE_OK : ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n_raw = 0, n_norm = 0;
    ce_strbuf buf = {0};
    for (size_t i = 0; st == CE_OK && i < n; i++) {
        const ce_added_token *a = &tok->added[i];
        ce_added_pattern p = {a->content, a->len, (uint32_t)i};
        if (!a->normalized) {
            raw[n_raw++] = p;
            continue;
        }
        if (tok->ops->normalize_pattern) {
            buf.len = 0;
            st = tok->ops->normalize_pattern(tok, a->content, a->len, &buf);
            if (st == CE_OK && !(p.s = ce_pool_dup(&tok->pool, buf.data ? buf.data : "", buf.len)))
                st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
            p.len = buf.len;
        }
        norm[n_norm++] = p;
    }
    ce_strbuf_free(&buf);
    if (st == CE_OK)
        st = ce_added_set_build(&tok->raw_set, raw, n_raw);
    if (st == CE_OK)
        st = ce_added_set_build(&tok->norm_set, norm, n_norm);
    free(raw);
    free(norm);
    return st;
}

static ce_status check_template(const ce_tokenizer *tok, const ce_template *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; k < t->pieces[i].n_ids; k++) {
            int32_t id = t->pieces[i].ids[k];
            if ((size_t)id >= tok->n_ids || !tok->ids[id].s)
                return ce_error(CE_ERR_FORMAT, "%s: post-processor uses unknown id %d", path,
                                (int)id);
        }
    return CE_OK;
}

static void default_roles(ce_tokenizer *tok)
{
    static const struct {
        ce_special_token role;
        const char *name;
    } names[] = {{CE_SPECIAL_UNK, "[UNK]"},
                 {CE_SPECIAL_CLS, "[CLS]"},
                 {CE_SPECIAL_SEP, "[SEP]"},
                 {CE_SPECIAL_PAD, "[PAD]"},
                 {CE_SPECIAL_MASK, "[MASK]"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int32_t id;
        if (tok->roles[names[i].role] < 0 &&
            ce_tokenizer_lookup(tok, names[i].name, strlen(names[i].name), &id))
            tok->roles[names[i].role] = id;
    }
}

ce_status ce_tokenizer_finish(ce_tokenizer *tok, const char *path)
{
    ce_status st = build_id_table(tok, path);
    if (st == CE_OK)
        st = build_sets(tok);
    if (st == CE_OK)
        st = check_template(tok, &tok->single, path);
    if (st == CE_OK)
        st = check_template(tok, &tok->pair, path);
    if (st != CE_OK)
        return st;
    default_roles(tok);
    free(tok->entries);
    tok->entries = NULL;
    tok->n_entries = tok->cap_entries = 0;
    return CE_OK;
}
