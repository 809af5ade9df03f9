/* safetensors header parsing and validation. */
#include "io/safetensors.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"

#define METADATA_KEY "__metadata__"

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static bool is_metadata(const ce_json *root, size_t i)
{
    return root->key_lens[i] == sizeof METADATA_KEY - 1 && !strcmp(root->keys[i], METADATA_KEY);
}

/* "__metadata__" is a flat string-to-string map; anything else is corrupt. */
static ce_status check_metadata(const char *path, const ce_json *meta)
{
    if (meta->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: header field '__metadata__' is not an object", path);
    for (size_t i = 0; i < meta->n; i++)
        if (meta->items[i]->type != CE_JSON_STRING)
            return ce_error(CE_ERR_FORMAT, "%s: metadata value '%s' is not a string", path,
                            meta->keys[i]);
    return CE_OK;
}

static ce_status parse_dtype(const char *path, const char *name, const ce_json *entry,
                             ce_tensor_info *t)
{
    const ce_json *v = ce_json_get(entry, "dtype");
    if (!v || v->type != CE_JSON_STRING)
        return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' has no string 'dtype'", path, name);
    if (!ce_dtype_from_name(v->str, &t->dtype))
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: tensor '%s' has dtype '%s', which is not supported "
                        "(supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                        path, name, v->str);
    return CE_OK;
}

/* Also computes nbytes = product(shape) * dtype size, refusing overflow. */
static ce_status parse_shape(const char *path, const char *name, const ce_json *entry,
                             ce_tensor_info *t)
{
    const ce_json *v = ce_json_get(entry, "shape");
    if (!v || v->type != CE_JSON_ARRAY)
        return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' has no array 'shape'", path, name);
    if (v->n > CE_TENSOR_MAX_DIMS)
        return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' has %zu dimensions (at most %d supported)",
                        path, name, v->n, CE_TENSOR_MAX_DIMS);
    uint64_t bytes = ce_dtype_size(t->dtype);
    for (size_t d = 0; d < v->n; d++) {
        const ce_json *dim = v->items[d];
        if (dim->type != CE_JSON_NUMBER || !dim->is_integer || dim->integer < 0)
            return ce_error(CE_ERR_FORMAT,
                            "%s: tensor '%s': shape entry %zu is not a non-negative integer", path,
                            name, d);
        t->shape[d] = dim->integer;
        if (__builtin_mul_overflow(bytes, (uint64_t)dim->integer, &bytes) || bytes > SIZE_MAX)
            return ce_error(CE_ERR_FORMAT, "%s: tensor '%s': shape is too large (size overflows)",
                            path, name);
    }
    t->ndim = (int)v->n;
    t->nbytes = (size_t)bytes;
    return CE_OK;
}

static ce_status parse_offsets(const char *path, const char *name, const ce_json *entry,
                               uint64_t data_size, uint64_t *begin, uint64_t *end)
{
    const ce_json *v = ce_json_get(entry, "data_offsets");
    if (!v || v->type != CE_JSON_ARRAY || v->n != 2)
        return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' has no 'data_offsets' pair [begin, end]",
                        path, name);
    for (int i = 0; i < 2; i++)
        if (v->items[i]->type != CE_JSON_NUMBER || !v->items[i]->is_integer ||
            v->items[i]->integer < 0)
            return ce_error(CE_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets are not non-negative integers", path,
                            name);
    *begin = (uint64_t)v->items[0]->integer;
    *end = (uint64_t)v->items[1]->integer;
    if (*begin > *end)
        return ce_error(CE_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                        "] end before they begin",
                        path, name, *begin, *end);
    if (*end > data_size)
        return ce_error(CE_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets end at %" PRIu64
                        " but the file holds only %" PRIu64 " data bytes (truncated file?)",
                        path, name, *end, data_size);
    return CE_OK;
}

static ce_status parse_entry(const char *path, const char *name, const ce_json *entry,
                             const uint8_t *data, uint64_t data_size, ce_tensor_info *t)
{
    if (entry->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: header entry '%s' is not an object", path, name);
    uint64_t begin = 0, end = 0;
    ce_status st = parse_dtype(path, name, entry, t);
    if (st == CE_OK)
        st = parse_shape(path, name, entry, t);
    if (st == CE_OK)
        st = parse_offsets(path, name, entry, data_size, &begin, &end);
    if (st != CE_OK)
        return st;
    if (end - begin != t->nbytes)
        return ce_error(CE_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets span %" PRIu64
                        " bytes but its %s shape needs "
                        "%zu",
                        path, name, end - begin, ce_dtype_name(t->dtype), t->nbytes);
    t->name = name;
    t->data = data + begin;
    t->file = path;
    return CE_OK;
}

typedef struct span {
    const uint8_t *begin, *end;
    const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sort by start and compare neighbours; empty tensors occupy no bytes. */
static ce_status check_overlap(const char *path, const ce_tensor_info *t, size_t n)
{
    span *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].nbytes)
            s[m++] = (span){t[i].data, (const uint8_t *)t[i].data + t[i].nbytes, t[i].name};
    qsort(s, m, sizeof *s, span_cmp);
    ce_status st = CE_OK;
    for (size_t i = 1; i < m && st == CE_OK; i++)
        if (s[i].begin < s[i - 1].end)
            st = ce_error(CE_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section",
                          path, s[i - 1].name, s[i].name);
    free(s);
    return st;
}

/* Copy every tensor name into one block; names with embedded NULs are refused. */
static ce_status copy_names(const char *path, const ce_json *root, ce_safetensors *st)
{
    size_t total = 0;
    for (size_t i = 0; i < root->n; i++) {
        if (strlen(root->keys[i]) != root->key_lens[i])
            return ce_error(CE_ERR_FORMAT, "%s: a tensor name contains a NUL byte", path);
        total += root->key_lens[i] + 1;
    }
    st->names = malloc(total ? total : 1);
    if (!st->names)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    return CE_OK;
}

static ce_status parse_entries(const ce_json *root, const uint8_t *data, uint64_t data_size,
                               ce_safetensors *st)
{
    const char *path = st->path;
    ce_status s = copy_names(path, root, st);
    if (s != CE_OK)
        return s;
    st->tensors = calloc(root->n ? root->n : 1, sizeof *st->tensors);
    if (!st->tensors)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    char *name = st->names;
    for (size_t i = 0; i < root->n; i++) {
        if (is_metadata(root, i)) {
            s = check_metadata(path, root->items[i]);
            if (s != CE_OK)
                return s;
            continue;
        }
        memcpy(name, root->keys[i], root->key_lens[i] + 1);
        s = parse_entry(path, name, root->items[i], data, data_size, &st->tensors[st->count]);
        if (s != CE_OK)
            return s;
        st->count++;
        name += root->key_lens[i] + 1;
    }
    return check_overlap(path, st->tensors, st->count);
}

static bool starts_with_brace(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i < n && p[i] == '{';
}

static ce_status parse_file(ce_safetensors *st)
{
    const char *path = st->path;
    const uint8_t *bytes = st->map->data;
    size_t size = st->map->size;
    if (size < 8)
        return ce_error(CE_ERR_FORMAT,
                        "%s: file is %zu bytes, too short for a safetensors header length", path,
                        size);
    uint64_t hlen = load_le64(bytes);
    if (hlen > size - 8)
        return ce_error(CE_ERR_FORMAT,
                        "%s: header length %" PRIu64 " exceeds the %zu bytes that follow it "
                        "(truncated, or not a safetensors file)",
                        path, hlen, size - 8);
    if (hlen > CE_SAFETENSORS_MAX_HEADER)
        return ce_error(CE_ERR_FORMAT, "%s: header length %" PRIu64 " is larger than %u bytes",
                        path, hlen, CE_SAFETENSORS_MAX_HEADER);
    if (!starts_with_brace(bytes + 8, (size_t)hlen))
        return ce_error(CE_ERR_FORMAT, "%s: header is not a JSON object", path);
    ce_json *root = NULL;
    ce_status s = ce_json_parse((const char *)bytes + 8, (size_t)hlen, path, &root);
    if (s != CE_OK)
        return s;
    if (root->type != CE_JSON_OBJECT)
        s = ce_error(CE_ERR_FORMAT, "%s: header is not a JSON object", path);
    else
        s = parse_entries(root, bytes + 8 + hlen, size - 8 - hlen, st);
    ce_json_free(root);
    return s;
}

ce_status ce_safetensors_open_ex(const char *path, unsigned map_flags, ce_safetensors **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_safetensors_open: NULL argument");
    ce_safetensors *st = calloc(1, sizeof *st);
    if (!st)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    ce_status s = ce_mapped_file_open_ex(path, map_flags, &st->map);
    if (s == CE_OK) {
        st->path = st->map->path;
        s = parse_file(st);
    }
    if (s != CE_OK) {
        ce_safetensors_close(st);
        return s;
    }
    *out = st;
    return CE_OK;
}

ce_status ce_safetensors_open(const char *path, ce_safetensors **out)
{
    return ce_safetensors_open_ex(path, 0, out);
}

void ce_safetensors_close(ce_safetensors *st)
{
    if (!st)
        return;
    ce_mapped_file_close(st->map);
    free(st->tensors);
    free(st->names);
    free(st);
}
