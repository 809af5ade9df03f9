/* JSON/YAML documents through libyaml's event parser, built into a tree.
 *
 * Memory is what this file is about: model directories hold JSON of tens of
 * megabytes (tokenizer.json, safetensors headers), and a hostile one must
 * not cost gigabytes. The text reaches libyaml through a streaming rewrite
 * (json_input.c), never copied whole. The tree lives in one arena per
 * document: no allocation header per node, arrays exactly sized once their
 * container closes (children wait on one shared stack), equal scalars and
 * empty containers stored once, and long strings taken over from libyaml
 * instead of copied. What it may take is capped at CE_JSON_TREE_FACTOR
 * times the document. */
#include "io/json.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/error.h"
#include "io/json_input.h"
#include "io/read_file.h"

/* ---- the arena ---------------------------------------------------------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

typedef struct json_doc {
    chunk *chunks;
    char **blocks; /* long strings taken from libyaml */
    size_t n_blocks, cap_blocks;
    size_t bytes, budget; /* taken so far, and the most the tree may take */
    ce_json root;
} json_doc;

#define CHUNK_MAX ((size_t)1 << 20)
#define LONG_STRING 4096 /* from this length a string is taken, not copied */

void ce_json_free(ce_json *root)
{
    if (!root)
        return;
    json_doc *d = (json_doc *)((char *)root - offsetof(json_doc, root));
    for (chunk *c = d->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    for (size_t i = 0; i < d->n_blocks; i++)
        free(d->blocks[i]);
    free(d->blocks);
    free(d);
}

static bool over_budget(json_doc *d, size_t more)
{
    d->bytes += more;
    return d->bytes > d->budget;
}

/* NULL when out of memory or over the budget (which the caller tells apart). */
static void *doc_alloc(json_doc *d, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    chunk *c = d->chunks;
    if (c && c->cap - c->used >= size) {
        void *p = (char *)c->data + c->used;
        c->used += size;
        return p;
    }
    size_t cap = d->bytes < CHUNK_MAX ? (d->bytes > 4096 ? d->bytes : 4096) : CHUNK_MAX;
    if (size > cap / 4)
        cap = size; /* a large array gets a chunk of its own, behind the current one */
    if (over_budget(d, cap))
        return NULL;
    chunk *n = malloc(sizeof *n + cap);
    if (!n)
        return NULL;
    n->used = size;
    n->cap = cap;
    if (c && cap == size) {
        n->next = c->next;
        c->next = n;
    } else {
        n->next = c;
        d->chunks = n;
    }
    return n->data;
}

/* Take @p block over (freed with the tree, even when this fails). */
static bool keep_block(json_doc *d, char *block, size_t size)
{
    if (d->n_blocks == d->cap_blocks) {
        size_t cap = d->cap_blocks ? 2 * d->cap_blocks : 16;
        char **b = realloc(d->blocks, cap * sizeof *b);
        if (!b) {
            free(block);
            return false;
        }
        d->blocks = b;
        d->cap_blocks = cap;
    }
    d->blocks[d->n_blocks++] = block;
    return !over_budget(d, size);
}

/* A copy of libyaml's string s[len] (NUL-terminated) owned by the tree: long
 * ones are taken from the event (*owned set to NULL), short ones copied. */
static char *doc_string(json_doc *d, unsigned char **owned, size_t len)
{
    char *s = (char *)*owned;
    if (len < LONG_STRING) {
        char *p = doc_alloc(d, len + 1);
        if (p)
            memcpy(p, s, len + 1);
        return p;
    }
    char *shrunk = realloc(s, len + 1); /* libyaml doubled its buffer as it read */
    s = shrunk ? shrunk : s;
    *owned = NULL;
    return keep_block(d, s, len + 1) ? s : NULL;
}

/* ---- equal scalars once ------------------------------------------------------------- */

#define INTERN_MAX_LEN 64
#define INTERN_MAX 65536 /* distinct values kept: a table of all would cost more than it saves */

typedef struct intern {
    ce_json **slots;
    size_t mask, n;
} intern;

static bool internable(const ce_json *n)
{
    if (n->type == CE_JSON_ARRAY || n->type == CE_JSON_OBJECT)
        return n->n == 0;
    return n->type != CE_JSON_STRING || n->len <= INTERN_MAX_LEN;
}

static size_t node_hash(const ce_json *n)
{
    uint64_t h = 1469598103934665603ull;
    unsigned char head[2 + sizeof n->number + sizeof n->integer];
    head[0] = (unsigned char)n->type;
    head[1] = (unsigned char)(n->boolean | n->is_integer << 1);
    memcpy(head + 2, &n->number, sizeof n->number);
    memcpy(head + 2 + sizeof n->number, &n->integer, sizeof n->integer);
    for (size_t i = 0; i < sizeof head; i++)
        h = (h ^ head[i]) * 1099511628211ull;
    for (size_t i = 0; i < n->len; i++)
        h = (h ^ (unsigned char)n->str[i]) * 1099511628211ull;
    return (size_t)(h ^ h >> 29);
}

static bool node_equal(const ce_json *a, const ce_json *b)
{
    return a->type == b->type && a->boolean == b->boolean && a->is_integer == b->is_integer &&
           !memcmp(&a->number, &b->number, sizeof a->number) && a->integer == b->integer &&
           a->len == b->len && (!a->len || !memcmp(a->str, b->str, a->len));
}

static ce_json **intern_slot(const intern *t, const ce_json *n)
{
    size_t i = node_hash(n) & t->mask;
    while (t->slots[i] && !node_equal(t->slots[i], n))
        i = (i + 1) & t->mask;
    return &t->slots[i];
}

static bool intern_grow(intern *t)
{
    size_t cap = t->slots ? 2 * (t->mask + 1) : 256;
    intern bigger = {calloc(cap, sizeof *bigger.slots), cap - 1, t->n};
    if (!bigger.slots)
        return false;
    for (size_t i = 0; t->slots && i <= t->mask; i++)
        if (t->slots[i])
            *intern_slot(&bigger, t->slots[i]) = t->slots[i];
    free(t->slots);
    *t = bigger;
    return true;
}

/* ---- building the tree from events -------------------------------------------------- */

#define MAX_DEPTH 256

typedef struct frame {
    ce_json_type type;
    size_t start;     /* its values are vals[start, vals.n) */
    size_t key_start; /* object: its keys are keys[key_start, keys.n) */
    char *key;        /* object: key read, value not yet */
    size_t key_len;
} frame;

/* A growable array whose capacity counts against the document's budget. */
typedef struct stack {
    void *v;
    size_t n, cap, high; /* high: the most it held */
} stack;

typedef struct builder {
    json_doc *doc;
    const char *source;
    frame frames[MAX_DEPTH];
    int depth;
    stack vals;     /* ce_json *: values of the open containers */
    stack keys;     /* char *: keys of the open objects' values */
    stack key_lens; /* size_t */
    ce_json *root;
    intern tab;
} builder;

static ce_status no_memory(const builder *b)
{
    if (b->doc->bytes > b->doc->budget)
        return ce_error(CE_ERR_FORMAT,
                        "%s: the document's values take more than %d times its size (%zu bytes "
                        "of values); not a model file",
                        b->source, CE_JSON_TREE_FACTOR, b->doc->bytes);
    return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", b->source);
}

/* Room for one more item of @p size bytes; false when out of memory or
 * over budget. What the stack has held counts (the pages it touched stay
 * resident), not its capacity. */
static bool stack_room(json_doc *d, stack *s, size_t size)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        void *v = realloc(s->v, cap * size);
        if (!v)
            return false;
        s->v = v;
        s->cap = cap;
    }
    if (s->n < s->high)
        return true;
    s->high++;
    return !over_budget(d, size);
}

static ce_status push_value(builder *b, ce_json *v, char *key, size_t key_len)
{
    json_doc *d = b->doc;
    if (!stack_room(d, &b->vals, sizeof v) ||
        (key && (!stack_room(d, &b->keys, sizeof key) ||
                 !stack_room(d, &b->key_lens, sizeof key_len))))
        return no_memory(b);
    ((ce_json **)b->vals.v)[b->vals.n++] = v;
    if (key) {
        ((char **)b->keys.v)[b->keys.n++] = key;
        ((size_t *)b->key_lens.v)[b->key_lens.n++] = key_len;
    }
    return CE_OK;
}

/* Attach a finished value to the open container, or make it the root. */
static ce_status attach(builder *b, ce_json *v)
{
    if (b->depth == 0) {
        if (b->root)
            return ce_error(CE_ERR_FORMAT, "%s: more than one document", b->source);
        b->root = v;
        return CE_OK;
    }
    frame *f = &b->frames[b->depth - 1];
    if (f->type == CE_JSON_ARRAY)
        return push_value(b, v, NULL, 0);
    ce_status st = push_value(b, v, f->key, f->key_len);
    f->key = NULL;
    return st;
}

/* The stored node equal to *tmp: an interned one, or a new one in the arena. */
static ce_json *store_node(builder *b, const ce_json *tmp, unsigned char **owned)
{
    bool shared = internable(tmp);
    if (shared && b->tab.n < INTERN_MAX && 2 * (b->tab.n + 1) > (b->tab.slots ? b->tab.mask + 1 : 0) &&
        !intern_grow(&b->tab))
        return NULL;
    ce_json **slot = shared ? intern_slot(&b->tab, tmp) : NULL;
    if (slot && *slot)
        return *slot;
    if (b->tab.n >= INTERN_MAX) /* full: the values that repeat came early */
        slot = NULL;
    ce_json *n = doc_alloc(b->doc, sizeof *n);
    if (!n)
        return NULL;
    *n = *tmp;
    if (n->type == CE_JSON_STRING && !(n->str = doc_string(b->doc, owned, n->len)))
        return NULL;
    if (slot) {
        *slot = n;
        b->tab.n++;
    }
    return n;
}

/* An unquoted scalar: null, a boolean, a number, or else a word (a string,
 * as YAML reads it; *n is left as it is). */
static void plain_scalar(ce_json *n, const char *s, size_t len)
{
    ce_json v = {.type = CE_JSON_NULL};
    char *end;
    if ((len == 4 && !memcmp(s, "null", 4)) || (len == 1 && s[0] == '~') || len == 0) {
        *n = v;
    } else if ((len == 4 && !memcmp(s, "true", 4)) || (len == 4 && !memcmp(s, "True", 4)) ||
               (len == 5 && !memcmp(s, "false", 5)) || (len == 5 && !memcmp(s, "False", 5))) {
        v.type = CE_JSON_BOOL;
        v.boolean = s[0] == 't' || s[0] == 'T';
        *n = v;
    } else if ((v.number = strtod(s, &end), end == s + len)) {
        v.type = CE_JSON_NUMBER;
        if (!strpbrk(s, ".eEnN")) {
            errno = 0;
            long long i = strtoll(s, &end, 10);
            v.is_integer = errno == 0 && end == s + len;
            v.integer = v.is_integer ? i : 0;
        }
        *n = v;
    }
}

static ce_status on_scalar(builder *b, yaml_event_t *e)
{
    unsigned char **value = &e->data.scalar.value;
    size_t len = e->data.scalar.length;
    ce_json tmp = {.type = CE_JSON_STRING, .str = (char *)*value, .len = len};
    if (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        plain_scalar(&tmp, tmp.str, len);
    frame *f = b->depth ? &b->frames[b->depth - 1] : NULL;
    if (f && f->type == CE_JSON_OBJECT && !f->key) { /* this scalar is a key */
        if (tmp.type != CE_JSON_STRING)
            return ce_error(CE_ERR_FORMAT, "%s: mapping key is not a string", b->source);
        if (!(f->key = doc_string(b->doc, value, len)))
            return no_memory(b);
        f->key_len = len;
        return CE_OK;
    }
    ce_json *n = store_node(b, &tmp, value);
    return n ? attach(b, n) : no_memory(b);
}

static ce_status on_start(builder *b, ce_json_type type)
{
    if (b->depth == MAX_DEPTH)
        return ce_error(CE_ERR_FORMAT, "%s: nesting deeper than %d", b->source, MAX_DEPTH);
    frame *parent = b->depth ? &b->frames[b->depth - 1] : NULL;
    if (parent && parent->type == CE_JSON_OBJECT && !parent->key)
        return ce_error(CE_ERR_FORMAT, "%s: mapping key is not a scalar", b->source);
    b->frames[b->depth++] = (frame){type, b->vals.n, b->keys.n, NULL, 0};
    return CE_OK;
}

/* Close the innermost container: its values move into exact arrays. */
static ce_status on_end(builder *b)
{
    frame f = b->frames[--b->depth];
    size_t n = b->vals.n - f.start;
    ce_json tmp = {.type = f.type, .n = n};
    if (n && !(tmp.items = doc_alloc(b->doc, n * sizeof *tmp.items)))
        return no_memory(b);
    if (n && f.type == CE_JSON_OBJECT &&
        (!(tmp.keys = doc_alloc(b->doc, n * sizeof *tmp.keys)) ||
         !(tmp.key_lens = doc_alloc(b->doc, n * sizeof *tmp.key_lens))))
        return no_memory(b);
    if (n)
        memcpy(tmp.items, (ce_json **)b->vals.v + f.start, n * sizeof *tmp.items);
    if (tmp.keys) {
        memcpy(tmp.keys, (char **)b->keys.v + f.key_start, n * sizeof *tmp.keys);
        memcpy(tmp.key_lens, (size_t *)b->key_lens.v + f.key_start, n * sizeof *tmp.key_lens);
    }
    b->vals.n = f.start;
    b->keys.n = b->key_lens.n = f.key_start;
    ce_json *node = store_node(b, &tmp, NULL);
    return node ? attach(b, node) : no_memory(b);
}

static ce_status on_event(builder *b, yaml_event_t *e)
{
    switch (e->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(b, e);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, CE_JSON_ARRAY);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, CE_JSON_OBJECT);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    case YAML_ALIAS_EVENT:
        return ce_error(CE_ERR_FORMAT, "%s: YAML aliases are not supported", b->source);
    default:
        return CE_OK;
    }
}

static void builder_free(builder *b)
{
    free(b->vals.v);
    free(b->keys.v);
    free(b->key_lens.v);
    free(b->tab.slots);
}

static ce_status input_error(const ce_json_input *in, const char *source)
{
    if (in->too_big)
        return ce_file_too_big(source, in->total, in->max);
    return ce_error(CE_ERR_IO, "%s: read error", source);
}

/* Run libyaml over @p in into the tree of @p doc; *root gets the root node. */
static ce_status run_parser(ce_json_input *in, builder *b)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: cannot initialise the YAML parser", b->source);
    yaml_parser_set_input(&parser, ce_json_input_read, in);
    ce_status st = CE_OK;
    while (st == CE_OK) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            if (parser.error == YAML_MEMORY_ERROR)
                st = ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", b->source);
            else if (parser.error == YAML_READER_ERROR && (in->too_big || in->read_error))
                st = input_error(in, b->source);
            else
                st = ce_error(CE_ERR_FORMAT, "%s: not valid JSON/YAML: %s at line %zu, column %zu",
                              b->source, parser.problem ? parser.problem : "syntax error",
                              parser.problem_mark.line + 1, parser.problem_mark.column + 1);
            break;
        }
        bool done = event.type == YAML_STREAM_END_EVENT;
        st = on_event(b, &event);
        yaml_event_delete(&event);
        if (done)
            break;
    }
    yaml_parser_delete(&parser);
    if (st == CE_OK && (!b->root || b->depth != 0))
        st = ce_error(CE_ERR_FORMAT, "%s: empty document", b->source);
    return st;
}

/* Parse @p in, a document of @p size bytes (its tree may take
 * CE_JSON_TREE_FACTOR times that). */
static ce_status parse_input(ce_json_input *in, size_t size, const char *source, ce_json **out)
{
    json_doc *doc = calloc(1, sizeof *doc);
    builder *b = calloc(1, sizeof *b);
    if (!doc || !b) {
        free(doc);
        free(b);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
    }
    size_t factor = CE_JSON_TREE_FACTOR;
    doc->budget = (size > (SIZE_MAX >> 21) / factor ? SIZE_MAX >> 1 : size * factor) + (1 << 20);
    b->doc = doc;
    b->source = source;
    ce_status st = run_parser(in, b);
    if (st == CE_OK) {
        doc->root = *b->root;
        *out = &doc->root;
    } else {
        ce_json_free(&doc->root);
    }
    builder_free(b);
    free(b);
    return st;
}

ce_status ce_json_parse(const char *data, size_t len, const char *source, ce_json **out)
{
    if (!data || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_json_parse: NULL argument");
    if (!source)
        source = "<document>";
    ce_json_input *in = malloc(sizeof *in);
    if (!in)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
    ce_json_input_memory(in, data, len);
    ce_status st = parse_input(in, len, source, out);
    free(in);
    return st;
}

ce_status ce_json_parse_file_max(const char *path, size_t max, ce_json **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_json_parse_file: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f)
        return ce_error(CE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    size_t size = max; /* a pipe's size is not known beforehand */
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        size = (size_t)sb.st_size;
    ce_json_input *in = size <= max ? malloc(sizeof *in + CE_JSON_INPUT_WINDOW) : NULL;
    ce_status st;
    if (size > max) {
        st = ce_file_too_big(path, size, max);
    } else if (!in) {
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    } else {
        ce_json_input_file(in, f, max);
        st = parse_input(in, size, path, out);
    }
    free(in);
    fclose(f);
    return st;
}

ce_status ce_json_parse_file(const char *path, ce_json **out)
{
    return ce_json_parse_file_max(path, CE_MAX_CONFIG_FILE, out);
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
