/* Named tensors over one or more mapped safetensors files, with float32 views. */
#include "io/weights.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "io/half.h"
#include "io/json.h"
#include "io/model_dir.h"
#include "io/safetensors.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_IS_LE 0
#else
#define HOST_IS_LE 1
#endif

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [CE_DTYPE_F32] = {"F32", 4},   [CE_DTYPE_F16] = {"F16", 2}, [CE_DTYPE_BF16] = {"BF16", 2},
    [CE_DTYPE_F64] = {"F64", 8},   [CE_DTYPE_I64] = {"I64", 8}, [CE_DTYPE_I32] = {"I32", 4},
    [CE_DTYPE_I16] = {"I16", 2},   [CE_DTYPE_I8] = {"I8", 1},   [CE_DTYPE_U8] = {"U8", 1},
    [CE_DTYPE_BOOL] = {"BOOL", 1},
};

#define N_DTYPES (sizeof dtype_table / sizeof *dtype_table)

size_t ce_dtype_size(ce_dtype dtype)
{
    return (unsigned)dtype < N_DTYPES ? dtype_table[dtype].size : 0;
}

const char *ce_dtype_name(ce_dtype dtype)
{
    return (unsigned)dtype < N_DTYPES ? dtype_table[dtype].name : "?";
}

bool ce_dtype_from_name(const char *name, ce_dtype *out)
{
    for (size_t i = 0; name && i < N_DTYPES; i++)
        if (!strcmp(name, dtype_table[i].name)) {
            *out = (ce_dtype)i;
            return true;
        }
    return false;
}

bool ce_dtype_is_float(ce_dtype dtype)
{
    return dtype == CE_DTYPE_F32 || dtype == CE_DTYPE_F16 || dtype == CE_DTYPE_BF16 ||
           dtype == CE_DTYPE_F64;
}

struct ce_weights {
    char *source;           /* the file, or the index of a sharded checkpoint, for messages */
    ce_safetensors **files; /* the mappings */
    size_t nfiles;
    ce_tensor_info *tensors; /* every file's tensors, files in order */
    size_t count;
    size_t *slots;     /* hash table of tensor index + 1, 0 = empty */
    size_t nslots;     /* a power of two, at least twice count */
    float **converted; /* per tensor: its float32 copy, or NULL */
    size_t bytes_converted, peak_converted;
    bool defer; /* ce_weights_get_f32_deferred leaves conversions to the caller */
};

/* ---- name lookup: open addressing over indices + 1 (0 = empty slot) ---- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static size_t *probe_slot(const ce_weights *w, const char *name)
{
    size_t mask = w->nslots - 1;
    for (size_t i = (size_t)hash_name(name) & mask;; i = (i + 1) & mask) {
        size_t *slot = &w->slots[i];
        if (!*slot || !strcmp(w->tensors[*slot - 1].name, name))
            return slot;
    }
}

static ce_status build_index(ce_weights *w)
{
    w->nslots = 16;
    while (w->nslots < 2 * w->count)
        w->nslots *= 2;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    if (!w->slots)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", w->source);
    for (size_t i = 0; i < w->count; i++) {
        size_t *slot = probe_slot(w, w->tensors[i].name);
        if (*slot) {
            const ce_tensor_info *a = &w->tensors[*slot - 1], *b = &w->tensors[i];
            if (a->file == b->file)
                return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' appears twice in the header",
                                a->file, a->name);
            return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' is in two files: %s and %s", w->source,
                            a->name, a->file, b->file);
        }
        *slot = i + 1;
    }
    return CE_OK;
}

/* ---- assembling a ce_weights from opened files ---- */

/* Takes ownership of @p files (closed on failure too). */
static ce_status from_files(const char *source, ce_safetensors **files, size_t nfiles,
                            ce_weights **out)
{
    ce_weights *w = calloc(1, sizeof *w);
    if (!w) {
        for (size_t i = 0; i < nfiles; i++)
            ce_safetensors_close(files[i]);
        free(files);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
    }
    w->files = files;
    w->nfiles = nfiles;
    w->source = strdup(source);
    for (size_t i = 0; i < nfiles; i++)
        w->count += files[i]->count;
    w->tensors = malloc((w->count ? w->count : 1) * sizeof *w->tensors);
    w->converted = calloc(w->count ? w->count : 1, sizeof *w->converted);
    if (!w->source || !w->tensors || !w->converted) {
        ce_weights_close(w);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
    }
    size_t k = 0;
    for (size_t i = 0; i < nfiles; i++)
        for (size_t j = 0; j < files[i]->count; j++)
            w->tensors[k++] = files[i]->tensors[j];
    ce_status st = build_index(w);
    if (st != CE_OK) {
        ce_weights_close(w);
        return st;
    }
    *out = w;
    return CE_OK;
}

ce_status ce_weights_open_file(const char *path, ce_weights **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_weights_open_file: NULL argument");
    ce_safetensors **files = malloc(sizeof *files);
    if (!files)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    ce_status st = ce_safetensors_open(path, &files[0]);
    if (st != CE_OK) {
        free(files);
        return st;
    }
    return from_files(path, files, 1, out);
}

/* ---- sharded checkpoints: model.safetensors.index.json ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct shard names of weight_map, sorted (borrowed from the tree). */
static ce_status shard_names(const char *index, const ce_json *map, const char ***names, size_t *n)
{
    if (!map || map->type != CE_JSON_OBJECT || map->n == 0)
        return ce_error(CE_ERR_FORMAT, "%s: no non-empty object 'weight_map'", index);
    const char **v = malloc(map->n * sizeof *v);
    if (!v)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", index);
    for (size_t i = 0; i < map->n; i++) {
        const ce_json *f = map->items[i];
        /* Shards live beside the index: a path elsewhere is refused rather than followed. */
        if (f->type != CE_JSON_STRING || f->len == 0 || strlen(f->str) != f->len ||
            strchr(f->str, '/') || !strcmp(f->str, ".") || !strcmp(f->str, "..")) {
            free(v);
            return ce_error(CE_ERR_FORMAT, "%s: weight_map entry '%s' is not a plain file name",
                            index, map->keys[i]);
        }
        v[i] = f->str;
    }
    qsort(v, map->n, sizeof *v, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < map->n; i++)
        if (m == 0 || strcmp(v[m - 1], v[i]))
            v[m++] = v[i];
    *names = v;
    *n = m;
    return CE_OK;
}

static ce_status open_shards(const char *dir, const char *index, const char **names, size_t n,
                             ce_safetensors ***out)
{
    ce_safetensors **files = calloc(n, sizeof *files);
    if (!files)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", index);
    ce_status st = CE_OK;
    for (size_t i = 0; i < n && st == CE_OK; i++) {
        char *path = ce_path_join(dir, names[i]);
        st = path ? ce_safetensors_open(path, &files[i])
                  : ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", index);
        if (st != CE_OK && path)
            ce_error_prefix(st, "%s: shard '%s': ", index, names[i]);
        free(path);
    }
    if (st != CE_OK) {
        for (size_t i = 0; i < n; i++)
            ce_safetensors_close(files[i]);
        free(files);
        return st;
    }
    *out = files;
    return CE_OK;
}

/* Every tensor the index names must be in the shard it names. */
static ce_status check_weight_map(const ce_weights *w, const char *dir, const ce_json *map)
{
    for (size_t i = 0; i < map->n; i++) {
        const char *name = map->keys[i], *shard = map->items[i]->str;
        const ce_tensor_info *t = ce_weights_find(w, name);
        const char *file = t ? strrchr(t->file, '/') : NULL;
        file = file ? file + 1 : (t ? t->file : NULL);
        if (!t || strcmp(file, shard))
            return ce_error(CE_ERR_FORMAT,
                            "%s: the index puts tensor '%s' in %s/%s, which does "
                            "not hold it",
                            w->source, name, dir, shard);
    }
    return CE_OK;
}

static ce_status open_index(const char *dir, const char *index, ce_weights **out)
{
    ce_json *root = NULL;
    ce_status st = ce_json_parse_file(index, &root);
    if (st != CE_OK)
        return st;
    const ce_json *map = ce_json_get(root, "weight_map");
    const char **names = NULL;
    size_t n = 0;
    ce_safetensors **files = NULL;
    ce_weights *w = NULL;
    st = shard_names(index, map, &names, &n);
    if (st == CE_OK)
        st = open_shards(dir, index, names, n, &files);
    if (st == CE_OK)
        st = from_files(index, files, n, &w);
    if (st == CE_OK)
        st = check_weight_map(w, dir, map);
    free(names);
    ce_json_free(root);
    if (st != CE_OK) {
        ce_weights_close(w);
        return st;
    }
    *out = w;
    return CE_OK;
}

/* ---- model directories ---- */

static ce_status refuse_foreign(const ce_model_dir *d)
{
    if (d->pickle_weights)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: only PyTorch pickle weights (%s) were found; libcontextembed reads "
                        "safetensors only (a pickle can run code when loaded). Convert once with: "
                        "python3 -c \"import torch; from safetensors.torch import save_file; "
                        "sd = torch.load('%s', map_location='cpu'); "
                        "save_file({k: v.contiguous().clone() for k, v in sd.items()}, "
                        "'%s/model.safetensors', metadata={'format': 'pt'})\" "
                        "or, with transformers, AutoModel.from_pretrained(dir)"
                        ".save_pretrained(dir, safe_serialization=True)",
                        d->dir, d->pickle_weights, d->pickle_weights, d->dir);
    if (d->hdf5_weights)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: only HDF5 weights (%s) were found; convert them to model.safetensors "
                        "first (AllenNLP ELMo weights: with the converter in tools/)",
                        d->dir, d->hdf5_weights);
    return ce_error(CE_ERR_NOT_FOUND,
                    "%s: no model.safetensors or model.safetensors.index.json in the directory",
                    d->dir);
}

ce_status ce_weights_open_dir(const char *dir, ce_weights **out)
{
    if (!dir || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_weights_open_dir: NULL argument");
    ce_model_dir d;
    ce_status st = ce_model_dir_probe(dir, &d);
    if (st != CE_OK)
        return st;
    if (d.safetensors)
        st = ce_weights_open_file(d.safetensors, out);
    else if (d.safetensors_index)
        st = open_index(dir, d.safetensors_index, out);
    else
        st = refuse_foreign(&d);
    ce_model_dir_free(&d);
    return st;
}

void ce_weights_close(ce_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->converted && i < w->count; i++)
        free(w->converted[i]);
    free(w->converted);
    for (size_t i = 0; i < w->nfiles; i++)
        ce_safetensors_close(w->files[i]);
    free(w->files);
    free(w->tensors);
    free(w->slots);
    free(w->source);
    free(w);
}

size_t ce_weights_count(const ce_weights *w)
{
    return w ? w->count : 0;
}

const ce_tensor_info *ce_weights_at(const ce_weights *w, size_t i)
{
    return w && i < w->count ? &w->tensors[i] : NULL;
}

const ce_tensor_info *ce_weights_find(const ce_weights *w, const char *name)
{
    if (!w || !name)
        return NULL;
    size_t slot = *probe_slot(w, name);
    return slot ? &w->tensors[slot - 1] : NULL;
}

size_t ce_weights_bytes_converted(const ce_weights *w)
{
    return w ? w->bytes_converted : 0;
}

size_t ce_weights_bytes_converted_peak(const ce_weights *w)
{
    return w ? w->peak_converted : 0;
}

size_t ce_weights_bytes_mapped(const ce_weights *w)
{
    size_t total = 0;
    for (size_t i = 0; w && i < w->count; i++)
        total += w->tensors[i].nbytes;
    return total;
}

/* ---- float32 views ---- */

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static ce_status check_shape(const ce_tensor_info *t, int ndim, const int64_t *shape)
{
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (same)
        return CE_OK;
    char found[200], expected[200];
    format_shape(found, sizeof found, t->ndim, t->shape);
    format_shape(expected, sizeof expected, ndim, shape);
    return ce_error(CE_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", t->file, t->name,
                    found, expected);
}

static void convert(const ce_tensor_info *t, float *dst, size_t n)
{
    const uint8_t *src = t->data;
    switch (t->dtype) {
    case CE_DTYPE_F16:
        ce_half_to_f32_array(src, dst, n);
        break;
    case CE_DTYPE_BF16:
        ce_bf16_to_f32_array(src, dst, n);
        break;
    case CE_DTYPE_F32:
        for (size_t i = 0; i < n; i++) {
            uint32_t u = 0;
            for (int b = 3; b >= 0; b--)
                u = (u << 8) | src[4 * i + (size_t)b];
            memcpy(&dst[i], &u, sizeof u);
        }
        break;
    case CE_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--)
                u = (u << 8) | src[8 * i + (size_t)b];
            double d;
            memcpy(&d, &u, sizeof d);
            dst[i] = (float)d; /* IEEE rounding; out-of-range values become inf */
        }
        break;
    default:
        break;
    }
}

static bool zero_copy(const ce_tensor_info *t)
{
    return HOST_IS_LE && t->dtype == CE_DTYPE_F32 && (uintptr_t)t->data % _Alignof(float) == 0;
}

/* The tensor @p name, checked to be floating point of exactly that shape. */
static ce_status find_f32(ce_weights *w, const char *name, int ndim, const int64_t *shape,
                          const ce_tensor_info **out)
{
    if (!w || !name || ndim < 0 || ndim > CE_TENSOR_MAX_DIMS || (ndim > 0 && !shape))
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_weights_get_f32: bad argument");
    const ce_tensor_info *t = ce_weights_find(w, name);
    if (!t)
        return ce_error(CE_ERR_NOT_FOUND, "%s: no tensor named '%s'", w->source, name);
    ce_status st = check_shape(t, ndim, shape);
    if (st != CE_OK)
        return st;
    if (!ce_dtype_is_float(t->dtype))
        return ce_error(CE_ERR_FORMAT,
                        "%s: tensor '%s' has dtype %s, expected a floating-point tensor "
                        "(F32, F16, BF16 or F64)",
                        t->file, t->name, ce_dtype_name(t->dtype));
    *out = t;
    return CE_OK;
}

/* The float32 data of @p t without converting it, or NULL when that needs a conversion. */
static const float *f32_at_hand(const ce_weights *w, const ce_tensor_info *t)
{
    size_t i = (size_t)(t - w->tensors);
    if (w->converted[i])
        return w->converted[i];
    return zero_copy(t) ? t->data : NULL;
}

ce_status ce_weights_f32_of(ce_weights *w, const ce_tensor_info *t, const float **out)
{
    const float *ready = f32_at_hand(w, t);
    if (ready) {
        *out = ready;
        return CE_OK;
    }
    size_t n = t->nbytes / ce_dtype_size(t->dtype);
    float *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf)
        return ce_error(CE_ERR_OUT_OF_MEMORY,
                        "%s: tensor '%s': cannot allocate %zu bytes to "
                        "convert it to F32",
                        t->file, t->name, n * sizeof *buf);
    convert(t, buf, n);
    /* The file's copy is not read again (asking twice returns buf): its
     * pages need not stay resident beside the float32 one. */
    ce_weights_drop_resident(w, t->data, t->nbytes);
    w->converted[(size_t)(t - w->tensors)] = buf;
    w->bytes_converted += n * sizeof *buf;
    if (w->bytes_converted > w->peak_converted)
        w->peak_converted = w->bytes_converted;
    *out = buf;
    return CE_OK;
}

ce_status ce_weights_get_f32(ce_weights *w, const char *name, int ndim, const int64_t *shape,
                             const float **out)
{
    const ce_tensor_info *t = NULL;
    ce_status st = out ? find_f32(w, name, ndim, shape, &t)
                       : ce_error(CE_ERR_INVALID_ARGUMENT, "ce_weights_get_f32: bad argument");
    return st == CE_OK ? ce_weights_f32_of(w, t, out) : st;
}

void ce_weights_defer_conversions(ce_weights *w, bool defer)
{
    if (w)
        w->defer = defer;
}

ce_status ce_weights_get_f32_deferred(ce_weights *w, const char *name, int ndim,
                                      const int64_t *shape, const float **out,
                                      const ce_tensor_info **deferred)
{
    const ce_tensor_info *t = NULL;
    ce_status st = out && deferred ? find_f32(w, name, ndim, shape, &t)
                                   : ce_error(CE_ERR_INVALID_ARGUMENT,
                                              "ce_weights_get_f32_deferred: bad argument");
    if (st != CE_OK)
        return st;
    if (!w->defer || f32_at_hand(w, t)) {
        st = ce_weights_f32_of(w, t, out);
        if (st == CE_OK)
            *deferred = NULL;
        return st;
    }
    *out = NULL;
    *deferred = t;
    return CE_OK;
}

bool ce_weights_release_converted(ce_weights *w, const void *p, size_t bytes)
{
    for (size_t i = 0; w && p && i < w->count; i++) {
        if (w->converted[i] != p)
            continue;
        size_t n = w->tensors[i].nbytes / ce_dtype_size(w->tensors[i].dtype) * sizeof(float);
        if (n != bytes)
            return false;
        free(w->converted[i]);
        w->converted[i] = NULL;
        w->bytes_converted -= n;
        return true;
    }
    return false;
}

void ce_weights_drop_resident(const ce_weights *w, const void *p, size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!w || !p || !bytes || page <= 0)
        return;
    uintptr_t a = (uintptr_t)p, end = a + bytes;
    for (size_t i = 0; i < w->nfiles; i++) {
        const ce_mapped_file *f = w->files[i]->map;
        uintptr_t base = (uintptr_t)f->data;
        if (!f->mapped || a < base || end > base + f->size)
            continue;
        /* Only whole pages inside the tensor: a neighbour may still be in use. */
        uintptr_t lo = (a + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
        uintptr_t hi = end / (uintptr_t)page * (uintptr_t)page;
        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_DONTNEED); /* refaults from the file if read */
        return;
    }
}
