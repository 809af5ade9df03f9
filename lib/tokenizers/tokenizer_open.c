/* Opening a tokenizer: which file of a path or model directory to read, and
 * which loader reads it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/model_dir.h"
#include "io/read_file.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/whitespace.h"

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* tokenizer.json model types: one line each (the loader reads "model"; roles
 * from tokenizer_config.json beside the file when the kind needs them). */
static const struct {
    const char *type;
    ce_status (*load)(ce_tokenizer *tok, const ce_json *root, const char *path);
    bool roles_from_dir;
} kinds[] = {
    {"WordPiece", ce_wordpiece_from_json, false},
    {"BPE", ce_bpe_from_json, true},
};

static ce_status load_json(const char *path, ce_tokenizer **out)
{
    ce_json *root;
    ce_status st = ce_json_parse_file_max(path, CE_MAX_TOKENIZER_FILE, &root);
    if (st != CE_OK)
        return st;
    const ce_json *model = ce_json_get(root, "model");
    const char *type = ce_json_get_string(model, "type");
    if (!model || model->type != CE_JSON_OBJECT) {
        ce_json_free(root);
        return ce_error(CE_ERR_FORMAT, "%s: no \"model\" object: not a tokenizer.json", path);
    }
    if (!type) /* old files leave the type out; HF then tells models by their fields */
        type = ce_json_get(model, "merges")                     ? "BPE"
               : ce_json_get(model, "max_input_chars_per_word") ? "WordPiece"
                                                                : "unknown";
    size_t k = 0;
    while (k < sizeof kinds / sizeof *kinds && strcmp(type, kinds[k].type))
        k++;
    ce_tokenizer *tok = NULL;
    if (k == sizeof kinds / sizeof *kinds) {
        st = ce_error(CE_ERR_UNSUPPORTED, "%s: %s tokenizer models are not supported (supported: "
                      "WordPiece, BPE)", path, type);
    } else {
        tok = ce_tokenizer_new();
        st = tok ? kinds[k].load(tok, root, path)
                 : ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (st == CE_OK)
        st = ce_tokenizer_added_from_json(tok, ce_json_get(root, "added_tokens"), path);
    if (st == CE_OK)
        st = ce_template_from_json(tok, ce_json_get(root, "post_processor"), path);
    if (st == CE_OK && kinds[k].roles_from_dir)
        st = ce_bpe_roles_from_dir(tok, path);
    if (st == CE_OK)
        st = ce_tokenizer_finish(tok, path);
    ce_json_free(root);
    if (st != CE_OK) {
        ce_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return CE_OK;
}

/* A file is a tokenizer.json when its name says so or it starts like JSON. */
static bool looks_like_json(const char *path)
{
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".json"))
        return true;
    if (n >= 4 && !strcmp(path + n - 4, ".txt"))
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
        ;
    fclose(f);
    return c == '{';
}

/* Loaders of a model directory's tokenizer files, by the file that picks them. */
static ce_status dir_tokenizer_json(const char *dir, const char *path, ce_tokenizer **out)
{
    (void)dir;
    return load_json(path, out);
}

static ce_status dir_vocab_txt(const char *dir, const char *path, ce_tokenizer **out)
{
    char *cfg = ce_path_join(dir, "tokenizer_config.json");
    ce_status st = cfg ? ce_wordpiece_from_vocab_txt(path, is_file(cfg) ? cfg : NULL, out)
                       : ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    free(cfg);
    return st;
}

static ce_status dir_vocab_json(const char *dir, const char *path, ce_tokenizer **out)
{
    char *merges = ce_path_join(dir, "merges.txt");
    ce_status st;
    if (!merges)
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    else if (!is_file(merges))
        st = ce_error(CE_ERR_IO, "%s: vocab.json without merges.txt (a byte-level BPE "
                      "tokenizer needs both)", dir);
    else
        st = ce_bpe_from_files(path, merges, dir, out);
    free(merges);
    return st;
}

/* An ELMo model directory (options.json) reads words split on white space. */
static ce_status dir_words(const char *dir, const char *path, ce_tokenizer **out)
{
    (void)dir;
    (void)path;
    return ce_whitespace_tokenizer_create(out);
}

/* The first of these files a directory holds decides its tokenizer: one line per kind. */
static const struct {
    const char *file;
    ce_status (*load)(const char *dir, const char *path, ce_tokenizer **out);
} dir_kinds[] = {
    {"tokenizer.json", dir_tokenizer_json},
    {"vocab.txt", dir_vocab_txt},
    {"vocab.json", dir_vocab_json},
    {"options.json", dir_words},
};

static ce_status load_dir(const char *dir, ce_tokenizer **out)
{
    for (size_t i = 0; i < sizeof dir_kinds / sizeof *dir_kinds; i++) {
        char *path = ce_path_join(dir, dir_kinds[i].file);
        if (!path)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
        bool present = is_file(path);
        ce_status st = present ? dir_kinds[i].load(dir, path, out) : CE_OK;
        free(path);
        if (present)
            return st;
    }
    return ce_error(CE_ERR_NOT_FOUND,
                    "%s: no tokenizer.json, vocab.txt or vocab.json in the directory", dir);
}

/* vocab.txt given alone: its directory's tokenizer_config.json (do_lower_case,
 * special token names) still applies when present, as for a directory. */
static ce_status load_vocab_file(const char *path, ce_tokenizer **out)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    char *cfg = malloc(dlen + sizeof "tokenizer_config.json");
    if (!cfg)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(cfg, path, dlen);
    memcpy(cfg + dlen, "tokenizer_config.json", sizeof "tokenizer_config.json");
    ce_status st = ce_wordpiece_from_vocab_txt(path, is_file(cfg) ? cfg : NULL, out);
    free(cfg);
    return st;
}

/* vocab.json (or OpenAI's encoder.json) given alone: BPE with the merges
 * file beside it (merges.txt, or OpenAI's vocab.bpe). */
static bool bpe_vocab_name(const char *path, const char **merges_name)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!strcmp(base, "vocab.json"))
        *merges_name = "merges.txt";
    else if (!strcmp(base, "encoder.json"))
        *merges_name = "vocab.bpe";
    else
        return false;
    return true;
}

static ce_status load_bpe_vocab(const char *path, const char *merges_name, ce_tokenizer **out)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    char *dir = malloc(dlen + 2), *merges = malloc(dlen + strlen(merges_name) + 1);
    ce_status st = CE_OK;
    if (!dir || !merges) {
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    } else {
        memcpy(dir, path, dlen);
        strcpy(dir + dlen, dlen ? "" : ".");
        memcpy(merges, path, dlen);
        strcpy(merges + dlen, merges_name);
        st = ce_bpe_from_files(path, merges, dir, out);
    }
    free(dir);
    free(merges);
    return st;
}

ce_status ce_tokenizer_load(const char *path, ce_tokenizer **out)
{
    const char *merges_name;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ce_error(CE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return load_dir(path, out);
    if (bpe_vocab_name(path, &merges_name))
        return load_bpe_vocab(path, merges_name, out);
    if (looks_like_json(path))
        return load_json(path, out);
    return load_vocab_file(path, out);
}
