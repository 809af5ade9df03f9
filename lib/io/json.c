/* JSON/YAML documents through libyaml's event parser, built into a tree.
 *
 * libyaml implements YAML 1.1, which refuses JSON's UTF-16 surrogate-pair
 * escapes ("\ud83d\ude00", as Python's json.dump writes emoji) and some raw
 * characters JSON allows in strings (DEL, U+FFFE/U+FFFF; it folds NEL and the
 * other C1 controls). A small pass rewrites surrogate pairs to UTF-8 and those
 * raw characters to \u escapes before libyaml sees the text. */
#include "io/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/error.h"
#include "io/read_file.h"

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of a raw character inside a string that YAML would reject or fold,
 * with its code point; 0 when the bytes at p are fine as they are. */
static size_t yaml_unsafe(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    if (p[0] == 0x7F) {
        *cp = 0x7F;
        return 1;
    }
    if (p[0] == 0xC2 && end - p >= 2 && p[1] >= 0x80 && p[1] <= 0x9F) {
        *cp = p[1];
        return 2;
    }
    if (p[0] == 0xEF && end - p >= 3 && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
        *cp = 0xFFFEu + (unsigned)(p[2] - 0xBE);
        return 3;
    }
    return 0;
}

/* Copy @p data, replacing "\uD8xx\uDCxx" escapes inside strings by raw UTF-8
 * and YAML-unsafe raw characters by \u escapes (at most 6 bytes for 1).
 * Lone surrogates are left for libyaml to reject. */
static char *rewrite_surrogates(const char *data, size_t len, size_t *out_len)
{
    if (len > (SIZE_MAX - 1) / 6)
        return NULL;
    char *out = malloc(len * 6 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    int in_string = 0;
    const char *end = data + len;
    for (const char *p = data; p < end; p++) {
        char c = *p;
        if (!in_string) {
            if (c == '"')
                in_string = 1;
            out[o++] = c;
            continue;
        }
        if (c == '"') {
            in_string = 0;
            out[o++] = c;
            continue;
        }
        unsigned cp;
        size_t unsafe = yaml_unsafe((const unsigned char *)p, (const unsigned char *)end, &cp);
        if (unsafe) {
            o += (size_t)sprintf(out + o, "\\u%04X", cp);
            p += unsafe - 1;
            continue;
        }
        if (c != '\\' || p + 1 >= end) {
            out[o++] = c;
            continue;
        }
        unsigned hi, lo;
        if (p[1] == 'u' && hex4(p + 2, end, &hi) && hi >= 0xD800 && hi < 0xDC00 &&
            end - p >= 12 && p[6] == '\\' && p[7] == 'u' && hex4(p + 8, end, &lo) &&
            lo >= 0xDC00 && lo < 0xE000) {
            o += put_utf8(out + o, 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
            p += 11;
            continue;
        }
        out[o++] = c; /* keep the escape: the next char is copied verbatim */
        out[o++] = *++p;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static ce_json *node_new(ce_json_type type)
{
    ce_json *n = calloc(1, sizeof *n);
    if (n)
        n->type = type;
    return n;
}

void ce_json_free(ce_json *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n; i++) {
        ce_json_free(node->items[i]);
        if (node->keys)
            free(node->keys[i]);
    }
    free(node->items);
    free(node->keys);
    free(node->key_lens);
    free(node->str);
    free(node);
}

static int plain_scalar(ce_json *n, const char *s, size_t len)
{
    if ((len == 4 && !memcmp(s, "null", 4)) || (len == 1 && s[0] == '~') || len == 0) {
        n->type = CE_JSON_NULL;
        return 1;
    }
    if ((len == 4 && !memcmp(s, "true", 4)) || (len == 4 && !memcmp(s, "True", 4))) {
        n->type = CE_JSON_BOOL;
        n->boolean = true;
        return 1;
    }
    if ((len == 5 && !memcmp(s, "false", 5)) || (len == 5 && !memcmp(s, "False", 5))) {
        n->type = CE_JSON_BOOL;
        return 1;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s + len && len > 0) {
        n->type = CE_JSON_NUMBER;
        n->number = d;
        if (!strpbrk(s, ".eEnN")) {
            errno = 0;
            long long v = strtoll(s, &end, 10);
            if (errno == 0 && end == s + len) {
                n->is_integer = true;
                n->integer = v;
            }
        }
        return 1;
    }
    return 0; /* an unquoted word: YAML treats it as a string */
}

static int set_string(ce_json *n, const char *s, size_t len)
{
    n->type = CE_JSON_STRING;
    n->str = malloc(len + 1);
    if (!n->str)
        return 0;
    memcpy(n->str, s, len);
    n->str[len] = '\0';
    n->len = len;
    return 1;
}

static int append_child(ce_json *parent, ce_json *child, char *key, size_t key_len)
{
    if ((parent->n & (parent->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = parent->n ? parent->n * 2 : 4;
        ce_json **items = realloc(parent->items, cap * sizeof *items);
        if (!items)
            return 0;
        parent->items = items;
        if (parent->type == CE_JSON_OBJECT) {
            char **keys = realloc(parent->keys, cap * sizeof *keys);
            if (!keys)
                return 0;
            parent->keys = keys;
            size_t *lens = realloc(parent->key_lens, cap * sizeof *lens);
            if (!lens)
                return 0;
            parent->key_lens = lens;
        }
    }
    parent->items[parent->n] = child;
    if (parent->type == CE_JSON_OBJECT) {
        parent->keys[parent->n] = key;
        parent->key_lens[parent->n] = key_len;
    }
    parent->n++;
    return 1;
}

#define MAX_DEPTH 256

typedef struct builder {
    ce_json *stack[MAX_DEPTH];
    char *pending_key[MAX_DEPTH]; /* key read, value not yet seen */
    size_t pending_len[MAX_DEPTH];
    int depth;
    ce_json *root;
} builder;

/* Attach a finished value to the container on top of the stack. */
static ce_status attach(builder *b, ce_json *v, const char *source)
{
    if (b->depth == 0) {
        if (b->root) {
            ce_json_free(v);
            return ce_error(CE_ERR_FORMAT, "%s: more than one document", source);
        }
        b->root = v;
        return CE_OK;
    }
    ce_json *top = b->stack[b->depth - 1];
    if (top->type == CE_JSON_ARRAY) {
        if (!append_child(top, v, NULL, 0)) {
            ce_json_free(v);
            return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
        }
        return CE_OK;
    }
    char *key = b->pending_key[b->depth - 1];
    if (!key) { /* this value is a key */
        if (v->type != CE_JSON_STRING && v->type != CE_JSON_NUMBER && v->type != CE_JSON_BOOL &&
            v->type != CE_JSON_NULL) {
            ce_json_free(v);
            return ce_error(CE_ERR_FORMAT, "%s: mapping key is not a scalar", source);
        }
        if (v->type != CE_JSON_STRING) {
            ce_json_free(v);
            return ce_error(CE_ERR_FORMAT, "%s: mapping key is not a string", source);
        }
        b->pending_key[b->depth - 1] = v->str;
        b->pending_len[b->depth - 1] = v->len;
        v->str = NULL;
        ce_json_free(v);
        return CE_OK;
    }
    b->pending_key[b->depth - 1] = NULL;
    if (!append_child(top, v, key, b->pending_len[b->depth - 1])) {
        free(key);
        ce_json_free(v);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
    }
    return CE_OK;
}

static ce_status on_event(builder *b, const yaml_event_t *e, const char *source)
{
    ce_json *n;
    switch (e->type) {
    case YAML_SCALAR_EVENT: {
        n = node_new(CE_JSON_STRING);
        if (!n)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
        const char *s = (const char *)e->data.scalar.value;
        size_t len = e->data.scalar.length;
        int ok = (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && plain_scalar(n, s, len)) ||
                 set_string(n, s, len);
        if (!ok) {
            ce_json_free(n);
            return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
        }
        return attach(b, n, source);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (b->depth == MAX_DEPTH)
            return ce_error(CE_ERR_FORMAT, "%s: nesting deeper than %d", source, MAX_DEPTH);
        n = node_new(e->type == YAML_SEQUENCE_START_EVENT ? CE_JSON_ARRAY : CE_JSON_OBJECT);
        if (!n)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
        b->stack[b->depth] = n;
        b->pending_key[b->depth] = NULL;
        b->depth++;
        return CE_OK;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        n = b->stack[--b->depth];
        free(b->pending_key[b->depth]);
        b->pending_key[b->depth] = NULL;
        return attach(b, n, source);
    case YAML_ALIAS_EVENT:
        return ce_error(CE_ERR_FORMAT, "%s: YAML aliases are not supported", source);
    default:
        return CE_OK;
    }
}

static void builder_discard(builder *b)
{
    while (b->depth > 0) {
        b->depth--;
        free(b->pending_key[b->depth]);
        ce_json_free(b->stack[b->depth]);
    }
    ce_json_free(b->root);
}

ce_status ce_json_parse(const char *data, size_t len, const char *source, ce_json **out)
{
    if (!data || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_json_parse: NULL argument");
    if (!source)
        source = "<document>";
    size_t clean_len;
    char *clean = rewrite_surrogates(data, len, &clean_len);
    if (!clean)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(clean);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: cannot initialise the YAML parser", source);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)clean, clean_len);
    builder *b = calloc(1, sizeof *b);
    ce_status st = b ? CE_OK : ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
    while (st == CE_OK) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            st = ce_error(CE_ERR_FORMAT, "%s: not valid JSON/YAML: %s at line %zu, column %zu",
                          source, parser.problem ? parser.problem : "syntax error",
                          parser.problem_mark.line + 1, parser.problem_mark.column + 1);
            break;
        }
        int done = event.type == YAML_STREAM_END_EVENT;
        st = on_event(b, &event, source);
        yaml_event_delete(&event);
        if (done)
            break;
    }
    yaml_parser_delete(&parser);
    free(clean);
    if (st == CE_OK && (!b->root || b->depth != 0))
        st = ce_error(CE_ERR_FORMAT, "%s: empty document", source);
    if (st != CE_OK) {
        if (b)
            builder_discard(b);
        free(b);
        return st;
    }
    *out = b->root;
    free(b);
    return CE_OK;
}

ce_status ce_json_parse_file(const char *path, ce_json **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_json_parse_file: NULL argument");
    char *buf;
    size_t len;
    ce_status st = ce_read_file(path, &buf, &len);
    if (st != CE_OK)
        return st;
    st = ce_json_parse(buf, len, path, out);
    free(buf);
    return st;
}

const ce_json *ce_json_get(const ce_json *obj, const char *key)
{
    if (!obj || obj->type != CE_JSON_OBJECT || !key)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < obj->n; i++)
        if (obj->key_lens[i] == klen && !memcmp(obj->keys[i], key, klen))
            return obj->items[i];
    return NULL;
}

bool ce_json_get_int(const ce_json *obj, const char *key, int64_t *out)
{
    const ce_json *v = ce_json_get(obj, key);
    if (!v || v->type != CE_JSON_NUMBER || !v->is_integer)
        return false;
    *out = v->integer;
    return true;
}

bool ce_json_get_number(const ce_json *obj, const char *key, double *out)
{
    const ce_json *v = ce_json_get(obj, key);
    if (!v || v->type != CE_JSON_NUMBER)
        return false;
    *out = v->number;
    return true;
}

bool ce_json_get_bool(const ce_json *obj, const char *key, bool *out)
{
    const ce_json *v = ce_json_get(obj, key);
    if (!v || v->type != CE_JSON_BOOL)
        return false;
    *out = v->boolean;
    return true;
}

const char *ce_json_get_string(const ce_json *obj, const char *key)
{
    const ce_json *v = ce_json_get(obj, key);
    return v && v->type == CE_JSON_STRING ? v->str : NULL;
}
