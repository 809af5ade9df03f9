/* ce_model: config + weights + tokenizer of a checkpoint directory, immutable once open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"
#include "io/model_dir.h"
#include "api/sentence_modules.h"
#include "tokenizers/input_case.h"

static ce_status read_config(const ce_model_dir *d, ce_json **config)
{
    if (!d->config_json) {
        if (d->options_json) /* AllenNLP ELMo: options.json is the config */
            return ce_json_parse_file(d->options_json, config);
        return ce_error(CE_ERR_NOT_FOUND, "%s: no config.json in the model directory", d->dir);
    }
    return ce_json_parse_file(d->config_json, config);
}

/* The family of an "architectures" entry ("RobertaForMaskedLM"), for configs
 * without model_type. */
static const ce_arch_ops *arch_from_classes(const ce_json *config, const char **type)
{
    const ce_json *list = ce_json_get(config, "architectures");
    for (size_t i = 0; list && list->type == CE_JSON_ARRAY && i < list->n; i++) {
        const ce_json *c = list->items[i];
        const ce_arch_ops *a = c->type == CE_JSON_STRING ? ce_arch_find_class(c->str) : NULL;
        if (c->type == CE_JSON_STRING)
            *type = c->str;
        if (a)
            return a;
    }
    return NULL;
}

/* config.json's model_type (else its architectures), unless contextembed.yaml
 * names the architecture. */
static ce_status pick_arch(const char *yaml_path, const ce_json *config, const char *source,
                           const char *fallback, const ce_arch_ops **arch)
{
    ce_json *over = NULL;
    if (yaml_path) {
        ce_status st = ce_json_parse_file(yaml_path, &over);
        if (st != CE_OK)
            return st;
    }
    const char *type = ce_json_get_string(over, "architecture");
    if (!type)
        type = ce_json_get_string(config, "model_type");
    *arch = type ? ce_arch_find(type) : arch_from_classes(config, &type);
    if (!type && fallback)
        *arch = ce_arch_find(type = fallback);
    char known[256];
    ce_arch_list(known, sizeof known);
    ce_status st = CE_OK;
    if (!type)
        st = ce_error(CE_ERR_FORMAT, "%s: no \"model_type\" string (supported: %s)", source, known);
    else if (!*arch)
        st = ce_error(CE_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported (supported: %s)",
                      source, type, known);
    ce_json_free(over);
    return st;
}

static ce_status open_tokenizer(const ce_model_dir *d, ce_tokenizer **tok)
{
    if (d->tokenizer_json || d->vocab_txt || d->vocab_json || d->options_json) /* ELMo: words */
        return ce_tokenizer_open(d->dir, tok);
    *tok = NULL; /* ids-only use stays possible */
    ce_log(CE_LOG_WARNING, "%s: no tokenizer files; the model accepts token ids only", d->dir);
    return CE_OK;
}

static void model_destroy(ce_model *m)
{
    if (!m)
        return;
    if (m->arch_data && m->backend)
        ce_lins_release(m->arch->linears(m->arch_data), m->backend);
    ce_backend_model_close(m->backend);
    if (m->arch_data)
        m->arch->free(m->arch_data);
    ce_weights_close(m->weights);
    ce_tokenizer_free(m->tokenizer);
    ce_model_labels_free(m);
    free(m);
}

/* A tokenizer with more ids than the model has embedding rows would index
 * past them at run time: refuse such a pair at open. */
static ce_status check_vocab(const ce_model *m, const char *source)
{
    size_t n = m->tokenizer ? ce_tokenizer_vocab_size(m->tokenizer) : 0;
    if (!(ce_arch_caps(m->arch, &m->dims) & CE_CAP_TOKEN_IDS) || n <= (size_t)m->dims.vocab_size)
        return CE_OK;
    return ce_error(CE_ERR_FORMAT,
                    "%s: vocab_size %lld is smaller than the tokenizer's vocabulary of %zu tokens",
                    source, (long long)m->dims.vocab_size, n);
}

static ce_status open_checkpoint(const char *path, ce_model *m)
{
    ce_model_dir d;
    ce_status st = ce_model_dir_probe(path, &d);
    if (st != CE_OK)
        return st;
    ce_json *config = NULL;
    const char *source = d.config_json ? d.config_json : d.options_json;
    st = read_config(&d, &config);
    if (st == CE_OK)
        st = pick_arch(d.contextembed_yaml, config, source, d.config_json ? NULL : "elmo",
                       &m->arch);
    if (st == CE_OK)
        st = ce_weights_open_dir(path, &m->weights);
    /* below float32, each linear weight is converted from the file only to be prepared */
    ce_weights_defer_conversions(m->weights, m->settings.precision != CE_PRECISION_F32);
    if (st == CE_OK)
        st = m->arch->load(config, source, m->weights, 0, &m->arch_data, &m->dims);
    if (st == CE_OK)
        st = open_tokenizer(&d, &m->tokenizer);
    if (st == CE_OK)
        st = check_vocab(m, source);
    if (st == CE_OK)
        st = ce_model_read_labels(m, config, source);
    ce_json_free(config);
    ce_model_dir_free(&d);
    return st;
}

/* The sentence-transformers modules around the checkpoint, checked against it. */
static ce_status apply_modules(ce_model *m, const ce_sentence_modules *st_mods, const char *file)
{
    const ce_model_dims *d = &m->dims;
    if (!(ce_arch_caps(m->arch, d) & CE_CAP_TOKEN_IDS))
        return ce_error(CE_ERR_UNSUPPORTED, "%s: sentence pooling over a %s model is not supported",
                        file, m->arch->name);
    if (st_mods->embedding_dim && st_mods->embedding_dim != d->hidden_size)
        return ce_error(CE_ERR_FORMAT,
                        "%s: Pooling's word_embedding_dimension %lld is not the model's hidden "
                        "size %lld", file, (long long)st_mods->embedding_dim,
                        (long long)d->hidden_size);
    m->pooling = st_mods->pooling;
    if (m->pooling.lowercase && m->tokenizer)
        ce_tokenizer_lowercase_input(m->tokenizer);
    return CE_OK;
}

static ce_status open_dir(const char *path, ce_model *m)
{
    ce_model_dir d = {0};
    ce_status st = ce_model_dir_probe(path, &d);
    if (st != CE_OK || !d.modules_json || !m->settings.sentence_modules) {
        ce_model_dir_free(&d);
        return st == CE_OK ? open_checkpoint(path, m) : st;
    }
    ce_sentence_modules st_mods;
    st = ce_sentence_modules_read(path, d.modules_json, &st_mods);
    if (st == CE_OK) {
        st = open_checkpoint(st_mods.transformer_dir, m);
        if (st == CE_OK)
            st = apply_modules(m, &st_mods, d.modules_json);
        ce_sentence_modules_free(&st_mods);
    }
    ce_model_dir_free(&d);
    return st;
}

/* Open backend @p name for the model and prepare its weights with it. */
static ce_status try_backend(ce_model *m, const char *name)
{
    ce_backend_model *bm;
    ce_status st = ce_backend_model_open_at(name, m->settings.threads,
                                            (ce_precision)m->settings.precision, &bm);
    if (st != CE_OK)
        return st;
    st = ce_lins_prepare(m->arch->linears(m->arch_data), bm, m->weights);
    if (st != CE_OK) {
        ce_backend_model_close(bm);
        return st;
    }
    m->backend = bm;
    snprintf(m->settings.backend, sizeof m->settings.backend, "%s", bm->ops.name);
    return CE_OK;
}

/* The backend the options name, or with "auto" the best that prepares this
 * model: one that fails is skipped (its failure logged), the next tried. */
static ce_status bind_backend(ce_model *m)
{
    if (strcmp(m->settings.backend, "auto") != 0)
        return try_backend(m, m->settings.backend);
    const char *names[CE_BACKEND_REGISTRY_CAPACITY];
    size_t n = ce_backend_ranked(names, CE_BACKEND_REGISTRY_CAPACITY);
    ce_status st = CE_ERR_BACKEND;
    int all_unsupported = 1, tried = 0;
    for (size_t i = 0; i < n; i++) {
        /* the reference's bf16 is a reference, never a choice made for the user */
        if (m->settings.precision == CE_PRECISION_BF16 && strcmp(names[i], "ref") == 0)
            continue;
        tried++;
        st = try_backend(m, names[i]);
        if (st == CE_OK)
            return CE_OK;
        all_unsupported &= st == CE_ERR_UNSUPPORTED;
        ce_log(CE_LOG_WARNING, "%s; trying the next backend", ce_last_error());
    }
    if (!tried)
        return ce_error(CE_ERR_UNSUPPORTED, "no registered backend but the reference runs "
                                            "precision \"%s\": name it (backend \"ref\") to "
                                            "run it there, slowly",
                        ce_precision_name((ce_precision)m->settings.precision));
    if (all_unsupported)
        return ce_error_prefix(CE_ERR_UNSUPPORTED,
                               "no registered backend can run precision \"%s\"; the last tried: ",
                               ce_precision_name((ce_precision)m->settings.precision));
    return st;
}

/* bf16 is only worth having where the CPU multiplies in it: emulated, it
 * would be slower than f32, so it is refused rather than run at a crawl. The
 * reference backend, named on purpose, is the exception: it is the ground
 * truth of the bf16 kernels and of the accuracy contract on any CPU. */
static ce_status check_cpu_precision(const ce_settings *s)
{
    uint32_t f = ce_cpu_features();
    if (s->precision == CE_PRECISION_BF16 && strcmp(s->backend, "ref") != 0 &&
        !(f & (CE_CPU_AVX512_BF16 | CE_CPU_AMX_BF16)))
        return ce_error(CE_ERR_UNSUPPORTED,
                        "precision \"bf16\" needs a CPU with AVX512-BF16 or AMX-BF16 "
                        "instructions; this one has neither (use \"f32\", or \"int8\" for "
                        "decoding; the \"ref\" backend runs bf16 anywhere, slowly, as a "
                        "reference)");
    return CE_OK;
}

ce_status ce_model_open(const char *path, const ce_options *opts, ce_model **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_model_open: path or out is NULL");
    ce_model *m = calloc(1, sizeof *m);
    if (!m)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_model_open: out of memory");
    ce_settings_resolve(NULL, opts, &m->settings);
    ce_status st = check_cpu_precision(&m->settings);
    if (st == CE_OK)
        st = open_dir(path, m);
    if (st == CE_OK)
        st = bind_backend(m);
    if (st != CE_OK) {
        model_destroy(m);
        return st;
    }
    *out = m;
    return CE_OK;
}

ce_status ce_model_open_random(const char *config_json, size_t config_len, uint64_t seed,
                               const ce_options *opts, ce_model **out)
{
    if (!config_json || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_model_open_random: config or out is NULL");
    ce_json *config;
    ce_status st = ce_json_parse(config_json, config_len, "config", &config);
    if (st != CE_OK)
        return st;
    ce_model *m = calloc(1, sizeof *m);
    if (!m) {
        ce_json_free(config);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_model_open_random: out of memory");
    }
    ce_settings_resolve(NULL, opts, &m->settings);
    st = check_cpu_precision(&m->settings);
    if (st == CE_OK)
        st = pick_arch(NULL, config, "config", NULL, &m->arch);
    if (st == CE_OK)
        st = m->arch->load(config, "config", NULL, seed, &m->arch_data, &m->dims);
    ce_json_free(config);
    if (st == CE_OK)
        st = bind_backend(m);
    if (st != CE_OK) {
        model_destroy(m);
        return st;
    }
    *out = m;
    return CE_OK;
}

void ce_model_free(ce_model *model)
{
    model_destroy(model);
}

ce_status ce_model_get_info(const ce_model *m, ce_model_info key, int64_t *value)
{
    if (!m || !value)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_model_get_info: model or value is NULL");
    const ce_model_dims *d = &m->dims;
    int64_t v;
    switch (key) {
    case CE_INFO_NUM_LAYERS: v = d->num_layers; break;
    case CE_INFO_HIDDEN_SIZE: v = d->hidden_size; break;
    case CE_INFO_NUM_HEADS: v = d->num_heads; break;
    case CE_INFO_VOCAB_SIZE: v = d->vocab_size; break;
    case CE_INFO_MAX_POSITIONS: v = d->max_positions; break;
    case CE_INFO_NUM_OUTPUT_LAYERS: v = d->num_output_layers; break;
    case CE_INFO_INTERMEDIATE_SIZE: v = d->intermediate_size; break;
    case CE_INFO_TYPE_VOCAB_SIZE: v = d->type_vocab_size; break;
    case CE_INFO_PARAMETERS: v = d->parameters; break;
    case CE_INFO_WEIGHT_BYTES: v = d->weight_bytes; break;
    case CE_INFO_CAPABILITIES:
        v = ce_arch_caps(m->arch, d) | (m->pooling.modes ? CE_CAP_SENTENCE_POOLING : 0);
        break;
    case CE_INFO_POOLING: v = m->pooling.modes; break;
    case CE_INFO_NORMALIZE: v = m->pooling.normalize; break;
    case CE_INFO_HEADS: v = ce_model_heads(m); break;
    case CE_INFO_MULTI_LABEL: v = m->multi_label; break;
    case CE_INFO_PRECISION: v = m->settings.precision; break;
    case CE_INFO_MAX_SEQ_LENGTH:
        v = m->pooling.max_seq_length && m->pooling.max_seq_length < d->max_positions
                ? m->pooling.max_seq_length
                : d->max_positions;
        break;
    default:
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_model_get_info: unknown key %d", (int)key);
    }
    *value = v;
    return CE_OK;
}

const char *ce_model_architecture(const ce_model *m)
{
    return m ? m->arch->name : NULL;
}

const char *ce_architecture_name(size_t index)
{
    const ce_arch_ops *a = ce_arch_at(index);
    return a ? a->name : NULL;
}

const ce_tokenizer *ce_model_tokenizer(const ce_model *m)
{
    return m ? m->tokenizer : NULL;
}
