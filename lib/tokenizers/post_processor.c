/* Post-processor templates: where [CLS], [SEP] and the sequences go, and
 * which token type each part gets. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/template_ends.h"
#include "tokenizers/tokenizer.h"

void ce_template_free(ce_template *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->pieces[i].ids);
    free(t->pieces);
    memset(t, 0, sizeof *t);
}

static ce_status add_piece(ce_template *t, ce_piece_kind kind, int32_t type_id, const int32_t *ids,
                           size_t n_ids)
{
    ce_piece *p = realloc(t->pieces, (t->n + 1) * sizeof *p);
    if (!p)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for a template");
    t->pieces = p;
    p = &t->pieces[t->n];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->type_id = type_id;
    if (n_ids) {
        p->ids = malloc(n_ids * sizeof *p->ids);
        if (!p->ids)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for a template");
        memcpy(p->ids, ids, n_ids * sizeof *ids);
        p->n_ids = n_ids;
    }
    t->n++;
    t->n_special += n_ids;
    return CE_OK;
}

/* One piece of a fixed template: a sequence (id NULL) or one special id. */
typedef struct fixed_piece {
    ce_template *t;
    ce_piece_kind kind;
    int32_t type_id;
    const int32_t *id;
} fixed_piece;

static ce_status set_fixed(const fixed_piece *pieces, size_t n)
{
    ce_status st = CE_OK;
    for (size_t i = 0; st == CE_OK && i < n; i++)
        st = add_piece(pieces[i].t, pieces[i].kind, pieces[i].type_id, pieces[i].id,
                       pieces[i].id ? 1 : 0);
    return st;
}

ce_status ce_template_bert(ce_tokenizer *tok, int32_t cls, int32_t sep)
{
    const fixed_piece pieces[] = {
        {&tok->single, CE_PIECE_SPECIAL, 0, &cls}, {&tok->single, CE_PIECE_A, 0, NULL},
        {&tok->single, CE_PIECE_SPECIAL, 0, &sep}, {&tok->pair, CE_PIECE_SPECIAL, 0, &cls},
        {&tok->pair, CE_PIECE_A, 0, NULL},         {&tok->pair, CE_PIECE_SPECIAL, 0, &sep},
        {&tok->pair, CE_PIECE_B, 1, NULL},         {&tok->pair, CE_PIECE_SPECIAL, 1, &sep},
    };
    ce_status st = set_fixed(pieces, sizeof pieces / sizeof *pieces);
    if (st == CE_OK) {
        tok->roles[CE_SPECIAL_CLS] = cls;
        tok->roles[CE_SPECIAL_SEP] = sep;
    }
    return st;
}

ce_status ce_template_roberta(ce_tokenizer *tok, int32_t cls, int32_t sep)
{
    const int32_t b = CE_ROBERTA_PAIR_TYPE;
    const fixed_piece pieces[] = {
        {&tok->single, CE_PIECE_SPECIAL, 0, &cls}, {&tok->single, CE_PIECE_A, 0, NULL},
        {&tok->single, CE_PIECE_SPECIAL, 0, &sep}, {&tok->pair, CE_PIECE_SPECIAL, 0, &cls},
        {&tok->pair, CE_PIECE_A, 0, NULL},         {&tok->pair, CE_PIECE_SPECIAL, 0, &sep},
        {&tok->pair, CE_PIECE_SPECIAL, b, &sep},   {&tok->pair, CE_PIECE_B, b, NULL},
        {&tok->pair, CE_PIECE_SPECIAL, b, &sep},
    };
    ce_status st = set_fixed(pieces, sizeof pieces / sizeof *pieces);
    if (st == CE_OK) {
        tok->roles[CE_SPECIAL_CLS] = cls;
        tok->roles[CE_SPECIAL_SEP] = sep;
    }
    return st;
}

/* No post-processor: the sequences alone, the pair's with type 1. */
static ce_status set_plain(ce_tokenizer *tok)
{
    ce_status st = add_piece(&tok->single, CE_PIECE_A, 0, NULL, 0);
    if (st == CE_OK)
        st = add_piece(&tok->pair, CE_PIECE_A, 0, NULL, 0);
    if (st == CE_OK)
        st = add_piece(&tok->pair, CE_PIECE_B, 1, NULL, 0);
    return st;
}

static bool get_type_id(const ce_json *obj, int32_t *out)
{
    int64_t v = 0;
    if (ce_json_get(obj, "type_id") && !ce_json_get_int(obj, "type_id", &v))
        return false;
    if (v < 0 || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

/* {"SpecialToken": {"id": "[CLS]", "type_id": 0}} with the ids from the
 * template's "special_tokens" map. */
static ce_status parse_special(ce_template *t, const ce_json *sp, const ce_json *map,
                               const char *path)
{
    const char *name = ce_json_get_string(sp, "id");
    int32_t type_id;
    if (!name || !get_type_id(sp, &type_id))
        return ce_error(CE_ERR_FORMAT, "%s: post_processor: bad SpecialToken piece", path);
    const ce_json *ids = ce_json_get(ce_json_get(map, name), "ids");
    if (!ids || ids->type != CE_JSON_ARRAY || ids->n > 64)
        return ce_error(CE_ERR_FORMAT, "%s: post_processor: no ids for special token \"%s\"", path,
                        name);
    int32_t v[64];
    for (size_t i = 0; i < ids->n; i++) {
        const ce_json *x = ids->items[i];
        if (x->type != CE_JSON_NUMBER || !x->is_integer || x->integer < 0 || x->integer > INT32_MAX)
            return ce_error(CE_ERR_FORMAT, "%s: post_processor: bad id for \"%s\"", path, name);
        v[i] = (int32_t)x->integer;
    }
    return add_piece(t, CE_PIECE_SPECIAL, type_id, v, ids->n);
}

static ce_status parse_template(ce_template *t, const ce_json *list, const ce_json *map,
                                const char *path)
{
    if (!list || list->type != CE_JSON_ARRAY)
        return ce_error(CE_ERR_FORMAT, "%s: post_processor: template is not a list", path);
    for (size_t i = 0; i < list->n; i++) {
        const ce_json *it = list->items[i];
        const ce_json *sp = ce_json_get(it, "SpecialToken");
        const ce_json *sq = ce_json_get(it, "Sequence");
        ce_status st;
        if (sp) {
            st = parse_special(t, sp, map, path);
        } else if (sq) {
            const char *id = ce_json_get_string(sq, "id");
            int32_t type_id;
            if (!id || (strcmp(id, "A") && strcmp(id, "B")) || !get_type_id(sq, &type_id))
                return ce_error(CE_ERR_FORMAT, "%s: post_processor: bad Sequence piece", path);
            st = add_piece(t, id[0] == 'A' ? CE_PIECE_A : CE_PIECE_B, type_id, NULL, 0);
        } else {
            return ce_error(CE_ERR_FORMAT, "%s: post_processor: unknown template piece", path);
        }
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

/* The first special id before $A is the [CLS] role, the last after it [SEP]. */
static void roles_from_template(ce_tokenizer *tok)
{
    const ce_template *t = &tok->single;
    bool seen_a = false;
    for (size_t i = 0; i < t->n; i++) {
        const ce_piece *p = &t->pieces[i];
        if (p->kind == CE_PIECE_A)
            seen_a = true;
        else if (p->kind == CE_PIECE_SPECIAL && p->n_ids && !seen_a &&
                 tok->roles[CE_SPECIAL_CLS] < 0)
            tok->roles[CE_SPECIAL_CLS] = p->ids[0];
        else if (p->kind == CE_PIECE_SPECIAL && p->n_ids && seen_a)
            tok->roles[CE_SPECIAL_SEP] = p->ids[p->n_ids - 1];
    }
}

/* BertProcessing: {"sep": ["[SEP]", 102], "cls": ["[CLS]", 101]} */
static bool pair_id(const ce_json *pp, const char *key, int32_t *id)
{
    const ce_json *v = ce_json_get(pp, key);
    if (!v || v->type != CE_JSON_ARRAY || v->n != 2)
        return false;
    const ce_json *x = v->items[1];
    if (x->type != CE_JSON_NUMBER || !x->is_integer || x->integer < 0 || x->integer > INT32_MAX)
        return false;
    *id = (int32_t)x->integer;
    return true;
}

/* ByteLevel adds no tokens; its trim_offsets is applied by the BPE model,
 * which knows the token strings. */
static void byte_level_flags(ce_tokenizer *tok, const ce_json *pp)
{
    bool v;
    tok->pp_trim_offsets = ce_json_get_bool(pp, "trim_offsets", &v) ? v : true;
    tok->pp_add_prefix_space = ce_json_get_bool(pp, "add_prefix_space", &v) ? v : true;
}

/* Sequence: ByteLevel steps and at most one template. */
static ce_status parse_sequence(ce_tokenizer *tok, const ce_json *pp, const char *path)
{
    const ce_json *list = ce_json_get(pp, "processors");
    if (!list || list->type != CE_JSON_ARRAY)
        return ce_error(CE_ERR_FORMAT, "%s: post_processor Sequence without processors", path);
    const ce_json *tpl = NULL;
    for (size_t i = 0; i < list->n; i++) {
        const char *type = ce_json_get_string(list->items[i], "type");
        if (type && !strcmp(type, "ByteLevel"))
            byte_level_flags(tok, list->items[i]);
        else if (!tpl)
            tpl = list->items[i];
        else
            return ce_error(CE_ERR_UNSUPPORTED, "%s: post_processor Sequence with two templates",
                            path);
    }
    return ce_template_from_json(tok, tpl, path);
}

static ce_status pp_byte_level(ce_tokenizer *tok, const ce_json *pp, const char *path)
{
    (void)path;
    byte_level_flags(tok, pp);
    return set_plain(tok);
}

static ce_status pp_template(ce_tokenizer *tok, const ce_json *pp, const char *path)
{
    const ce_json *map = ce_json_get(pp, "special_tokens");
    ce_status st = parse_template(&tok->single, ce_json_get(pp, "single"), map, path);
    if (st == CE_OK)
        st = parse_template(&tok->pair, ce_json_get(pp, "pair"), map, path);
    if (st == CE_OK)
        roles_from_template(tok);
    return st;
}

static ce_status pp_bert(ce_tokenizer *tok, const ce_json *pp, const char *path)
{
    int32_t cls, sep;
    if (!pair_id(pp, "cls", &cls) || !pair_id(pp, "sep", &sep))
        return ce_error(CE_ERR_FORMAT, "%s: BertProcessing needs cls and sep", path);
    return ce_template_bert(tok, cls, sep);
}

/* RobertaProcessing: <s> A </s> and <s> A </s></s> B </s>, plus ByteLevel's
 * offset trimming (trim_offsets, add_prefix_space; both default true). */
static ce_status pp_roberta(ce_tokenizer *tok, const ce_json *pp, const char *path)
{
    int32_t cls, sep;
    if (!pair_id(pp, "cls", &cls) || !pair_id(pp, "sep", &sep))
        return ce_error(CE_ERR_FORMAT, "%s: RobertaProcessing needs cls and sep", path);
    byte_level_flags(tok, pp);
    return ce_template_roberta(tok, cls, sep);
}

/* Post-processor types of tokenizer.json: one line each. */
static const struct {
    const char *type;
    ce_status (*parse)(ce_tokenizer *tok, const ce_json *pp, const char *path);
} processors[] = {
    {"TemplateProcessing", pp_template}, {"BertProcessing", pp_bert},
    {"RobertaProcessing", pp_roberta},   {"ByteLevel", pp_byte_level},
    {"Sequence", parse_sequence},
};

ce_status ce_template_from_json(ce_tokenizer *tok, const ce_json *pp, const char *path)
{
    if (!pp || pp->type == CE_JSON_NULL)
        return set_plain(tok);
    const char *type = ce_json_get_string(pp, "type");
    if (!type)
        return ce_error(CE_ERR_FORMAT, "%s: post_processor without a type", path);
    for (size_t i = 0; i < sizeof processors / sizeof *processors; i++)
        if (!strcmp(type, processors[i].type))
            return processors[i].parse(tok, pp, path);
    return ce_error(CE_ERR_UNSUPPORTED, "%s: post_processor \"%s\" is not supported", path, type);
}

static size_t piece_ids(const ce_template *t, size_t from, size_t to, int32_t *out)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        const ce_piece *p = &t->pieces[i];
        if (p->kind != CE_PIECE_SPECIAL)
            continue;
        if (n + p->n_ids > CE_TEMPLATE_ENDS_MAX)
            return 0;
        memcpy(out + n, p->ids, p->n_ids * sizeof *out);
        n += p->n_ids;
    }
    return n;
}

void ce_tokenizer_template_ends(const ce_tokenizer *tok, int32_t *lead, size_t *n_lead,
                                int32_t *trail, size_t *n_trail)
{
    *n_lead = *n_trail = 0;
    if (!tok)
        return;
    const ce_template *t = &tok->single;
    size_t a = 0;
    while (a < t->n && t->pieces[a].kind != CE_PIECE_A)
        a++;
    if (a == t->n)
        return;
    *n_lead = piece_ids(t, 0, a, lead);
    *n_trail = piece_ids(t, a + 1, t->n, trail);
}
