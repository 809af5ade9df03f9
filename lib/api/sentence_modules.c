/* sentence-transformers directories: modules.json, 1_Pooling/config.json,
 * Normalize and sentence_bert_config.json, read as sentence-transformers does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/sentence_modules.h"
#include "core/error.h"
#include "io/json.h"
#include "io/model_dir.h"

#define ST_PREFIX "sentence_transformers.models."

typedef enum { MOD_TRANSFORMER, MOD_POOLING, MOD_NORMALIZE, MOD_OTHER } module_kind;

static module_kind kind_of(const char *type)
{
    static const char *const names[] = {"Transformer", "Pooling", "Normalize"};
    size_t n = strlen(ST_PREFIX);
    if (strncmp(type, ST_PREFIX, n) != 0)
        return MOD_OTHER;
    for (int k = 0; k < 3; k++)
        if (!strcmp(type + n, names[k]))
            return (module_kind)k;
    return MOD_OTHER;
}

/* A module path stays inside the directory: relative, no "..". */
static bool safe_path(const char *p)
{
    return p[0] != '/' && strstr(p, "..") == NULL;
}

static bool is_file(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Pooling's config.json: one boolean per mode (or the older "pooling_mode" string). */
static ce_status read_pooling(const char *dir, const char *path, ce_sentence_modules *out)
{
    static const struct {
        const char *key, *mode_name;
        ce_pool pool;
    } modes[] = {
        {"pooling_mode_cls_token", "cls", CE_POOL_CLS},
        {"pooling_mode_max_tokens", "max", CE_POOL_MAX},
        {"pooling_mode_mean_tokens", "mean", CE_POOL_MEAN},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens", CE_POOL_MEAN_SQRT_LEN},
        {"pooling_mode_weightedmean_tokens", "weightedmean", CE_POOL_WEIGHTED_MEAN},
        {"pooling_mode_lasttoken", "lasttoken", CE_POOL_LAST},
    };
    char *sub = ce_path_join(dir, path), *file = sub ? ce_path_join(sub, "config.json") : NULL;
    free(sub);
    if (!file)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    ce_json *cfg = NULL;
    ce_status st = ce_json_parse_file(file, &cfg);
    unsigned bits = 0;
    const char *named = st == CE_OK ? ce_json_get_string(cfg, "pooling_mode") : NULL;
    for (size_t i = 0; st == CE_OK && i < sizeof modes / sizeof *modes; i++) {
        bool on = false;
        if (ce_json_get(cfg, modes[i].key) && !ce_json_get_bool(cfg, modes[i].key, &on))
            st = ce_error(CE_ERR_FORMAT, "%s: \"%s\" is not a boolean", file, modes[i].key);
        if (on || (named && !strcmp(named, modes[i].mode_name)))
            bits |= 1u << modes[i].pool;
    }
    int64_t dim = 0;
    if (st == CE_OK && ce_json_get(cfg, "word_embedding_dimension") &&
        (!ce_json_get_int(cfg, "word_embedding_dimension", &dim) || dim <= 0))
        st = ce_error(CE_ERR_FORMAT, "%s: \"word_embedding_dimension\" is not a positive integer",
                      file);
    if (st == CE_OK && !bits)
        st = ce_error(CE_ERR_FORMAT, "%s: no pooling mode is enabled", file);
    if (st == CE_OK) {
        out->pooling.modes = bits;
        out->embedding_dim = dim;
    }
    ce_json_free(cfg);
    free(file);
    return st;
}

/* sentence_bert_config.json (or a family's older name) beside the checkpoint. */
static ce_status read_st_config(const char *tdir, ce_model_pooling *p)
{
    static const char *const names[] = {"sentence_bert_config.json", "sentence_roberta_config.json",
                                        "sentence_distilbert_config.json"};
    char *file = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !is_file(file); i++) {
        free(file);
        if (!(file = ce_path_join(tdir, names[i])))
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!is_file(file)) {
        free(file);
        return CE_OK;
    }
    ce_json *cfg = NULL;
    ce_status st = ce_json_parse_file(file, &cfg);
    const ce_json *len = st == CE_OK ? ce_json_get(cfg, "max_seq_length") : NULL;
    if (len && len->type != CE_JSON_NULL &&
        (!ce_json_get_int(cfg, "max_seq_length", &p->max_seq_length) || p->max_seq_length <= 0))
        st = ce_error(CE_ERR_FORMAT, "%s: \"max_seq_length\" is not a positive integer", file);
    bool lower = false;
    if (st == CE_OK && ce_json_get(cfg, "do_lower_case") &&
        !ce_json_get_bool(cfg, "do_lower_case", &lower))
        st = ce_error(CE_ERR_FORMAT, "%s: \"do_lower_case\" is not a boolean", file);
    p->lowercase = lower;
    ce_json_free(cfg);
    free(file);
    return st;
}

/* One entry of modules.json, in order: Transformer, then Pooling, then Normalize. */
static ce_status read_module(const char *dir, const char *file, const ce_json *m, int *stage,
                             ce_sentence_modules *out)
{
    const char *type = ce_json_get_string(m, "type");
    const char *path = ce_json_get_string(m, "path");
    if (!type || !path || !safe_path(path))
        return ce_error(CE_ERR_FORMAT, "%s: a module without a \"type\" and a relative \"path\"",
                        file);
    module_kind k = kind_of(type);
    if (k == MOD_OTHER)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: module %s (\"%s\") is not implemented by this library (it implements "
                        "Transformer, Pooling and Normalize); open the directory with "
                        "CE_OPT_SENTENCE_MODULES 0 (CLI: an explicit --pool) to use the "
                        "Transformer alone",
                        file, type, path);
    if ((int)k < *stage || (k == MOD_TRANSFORMER && out->transformer_dir) ||
        (k != MOD_TRANSFORMER && !out->transformer_dir))
        return ce_error(CE_ERR_UNSUPPORTED, "%s: modules in an order this library does not "
                        "implement (expected Transformer, Pooling, then Normalize)", file);
    *stage = (int)k + 1;
    if (k == MOD_POOLING)
        return read_pooling(dir, path, out);
    if (k == MOD_NORMALIZE) {
        out->pooling.normalize = 1;
        return CE_OK;
    }
    out->transformer_dir = path[0] ? ce_path_join(dir, path) : strdup(dir);
    if (!out->transformer_dir)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    return read_st_config(out->transformer_dir, &out->pooling);
}

ce_status ce_sentence_modules_read(const char *dir, const char *modules_json,
                                   ce_sentence_modules *out)
{
    ce_json *list = NULL;
    ce_status st = ce_json_parse_file(modules_json, &list);
    if (st == CE_OK && list->type != CE_JSON_ARRAY)
        st = ce_error(CE_ERR_FORMAT, "%s: not a list of modules", modules_json);
    ce_sentence_modules m = {0};
    int stage = 0;
    for (size_t i = 0; st == CE_OK && i < list->n; i++)
        st = read_module(dir, modules_json, list->items[i], &stage, &m);
    if (st == CE_OK && !m.pooling.modes)
        st = ce_error(CE_ERR_UNSUPPORTED, "%s: no Pooling module after the Transformer",
                      modules_json);
    ce_json_free(list);
    if (st != CE_OK) {
        ce_sentence_modules_free(&m);
        return st;
    }
    *out = m;
    return CE_OK;
}

void ce_sentence_modules_free(ce_sentence_modules *m)
{
    free(m->transformer_dir);
    memset(m, 0, sizeof *m);
}
