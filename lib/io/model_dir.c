/* Model directory probe: stat the well-known names, scan for foreign weights. */
#include "io/model_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

char *ce_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + slash + b + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (slash)
        p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

static bool is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode); /* stat follows HF cache symlinks */
}

/* Set *slot to dir/name when that is a regular file. false only on OOM. */
static bool find(const char *dir, const char *name, char **slot)
{
    char *p = ce_path_join(dir, name);
    if (!p)
        return false;
    if (is_regular(p))
        *slot = p;
    else
        free(p);
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Trainer checkpoints hold these pickles next to the weights; they are not weights. */
static bool is_training_state(const char *n)
{
    return !strcmp(n, "training_args.bin") || !strcmp(n, "optimizer.pt") ||
           !strcmp(n, "scheduler.pt") || !strcmp(n, "scaler.pt") || !strncmp(n, "rng_state", 9);
}

static bool is_pickle_name(const char *n)
{
    if (is_training_state(n))
        return false;
    return ends_with(n, ".bin") || ends_with(n, ".pt") || ends_with(n, ".pth") ||
           ends_with(n, ".ckpt");
}

static bool is_hdf5_name(const char *n)
{
    return ends_with(n, ".h5") || ends_with(n, ".hdf5");
}

/* Keep the alphabetically first candidate, so the answer does not depend on
 * readdir order. false only on OOM. */
static bool keep_first(const char *dir, const char *name, char **slot, char **slot_name)
{
    if (*slot_name && strcmp(name, *slot_name) >= 0)
        return true;
    char *p = ce_path_join(dir, name);
    char *n = strdup(name);
    if (!p || !n || !is_regular(p)) {
        bool ok = p && n;
        free(p);
        free(n);
        return ok;
    }
    free(*slot);
    free(*slot_name);
    *slot = p;
    *slot_name = n;
    return true;
}

static ce_status scan_foreign_weights(const char *dir, ce_model_dir *d)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return ce_error(CE_ERR_IO, "%s: cannot list the directory: %s", dir, strerror(errno));
    char *pickle_name = NULL, *hdf5_name = NULL;
    bool ok = true, have_pytorch_bin = d->pickle_weights != NULL;
    for (struct dirent *e; ok && (e = readdir(dp));) {
        if (is_pickle_name(e->d_name) && !have_pytorch_bin)
            ok = keep_first(dir, e->d_name, &d->pickle_weights, &pickle_name);
        else if (is_hdf5_name(e->d_name))
            ok = keep_first(dir, e->d_name, &d->hdf5_weights, &hdf5_name);
    }
    closedir(dp);
    free(pickle_name);
    free(hdf5_name);
    if (!ok)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    return CE_OK;
}

static ce_status fill(const char *path, ce_model_dir *d)
{
    d->dir = strdup(path);
    bool ok = d->dir && find(path, "config.json", &d->config_json) &&
              find(path, "options.json", &d->options_json) &&
              find(path, "contextembed.yaml", &d->contextembed_yaml) &&
              find(path, "modules.json", &d->modules_json) &&
              find(path, "tokenizer.json", &d->tokenizer_json) &&
              find(path, "tokenizer_config.json", &d->tokenizer_config_json) &&
              find(path, "special_tokens_map.json", &d->special_tokens_map_json) &&
              find(path, "vocab.txt", &d->vocab_txt) && find(path, "vocab.json", &d->vocab_json) &&
              find(path, "merges.txt", &d->merges_txt) &&
              find(path, "model.safetensors", &d->safetensors) &&
              find(path, "model.safetensors.index.json", &d->safetensors_index) &&
              find(path, "pytorch_model.bin", &d->pickle_weights);
    if (!ok)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    return scan_foreign_weights(path, d);
}

ce_status ce_model_dir_probe(const char *path, ce_model_dir *out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_model_dir_probe: NULL argument");
    struct stat st;
    if (stat(path, &st) != 0) {
        int err = errno;
        return ce_error(err == ENOENT ? CE_ERR_NOT_FOUND : CE_ERR_IO,
                        "%s: cannot open the model directory: %s", path, strerror(err));
    }
    if (!S_ISDIR(st.st_mode))
        return ce_error(CE_ERR_IO,
                        "%s: not a directory (expected a model directory holding "
                        "config.json and model.safetensors)",
                        path);
    ce_model_dir d = {0};
    ce_status s = fill(path, &d);
    if (s != CE_OK) {
        ce_model_dir_free(&d);
        return s;
    }
    *out = d;
    return CE_OK;
}

void ce_model_dir_free(ce_model_dir *d)
{
    if (!d)
        return;
    char **fields[] = {&d->dir,
                       &d->config_json,
                       &d->options_json,
                       &d->contextembed_yaml,
                       &d->modules_json,
                       &d->tokenizer_json,
                       &d->tokenizer_config_json,
                       &d->special_tokens_map_json,
                       &d->vocab_txt,
                       &d->vocab_json,
                       &d->merges_txt,
                       &d->safetensors,
                       &d->safetensors_index,
                       &d->pickle_weights,
                       &d->hdf5_weights};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}
