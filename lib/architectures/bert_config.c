/* BERT config.json: read and check every value before anything is sized from it. */
#include <math.h>
#include <string.h>

#include "architectures/bert.h"
#include "core/error.h"

typedef struct int_field {
    const char *key;
    int64_t *dst;
    int64_t min, max;
    int required;
    int64_t fallback;
} int_field;

static ce_status read_int(const ce_json *config, const char *source, const int_field *f)
{
    const ce_json *v = ce_json_get(config, f->key);
    if (!v) {
        if (f->required)
            return ce_error(CE_ERR_FORMAT, "%s: missing \"%s\"", source, f->key);
        *f->dst = f->fallback;
        return CE_OK;
    }
    if (v->type != CE_JSON_NUMBER || !v->is_integer)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s\" must be an integer", source, f->key);
    if (v->integer < f->min || v->integer > f->max)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s\" = %lld is outside [%lld, %lld]", source, f->key,
                        (long long)v->integer, (long long)f->min, (long long)f->max);
    *f->dst = v->integer;
    return CE_OK;
}

static ce_status read_activation(const ce_json *config, const char *source, bert_config *cfg)
{
    const ce_json *v = ce_json_get(config, "hidden_act");
    if (!v) {
        cfg->activation = CE_ACT_GELU_ERF;
        return CE_OK;
    }
    int act = v->type == CE_JSON_STRING ? ce_activation_from_name(v->str) : -1;
    if (act < 0)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: \"hidden_act\" %s%s%s is not supported (gelu, gelu_new, gelu_pytorch_tanh, "
                        "gelu_fast, relu)", source, v->type == CE_JSON_STRING ? "\"" : "",
                        v->type == CE_JSON_STRING ? v->str : "(not a string)",
                        v->type == CE_JSON_STRING ? "\"" : "");
    cfg->activation = (ce_activation)act;
    return CE_OK;
}

static ce_status read_eps(const ce_json *config, const char *source, bert_config *cfg)
{
    const ce_json *v = ce_json_get(config, "layer_norm_eps");
    double eps = 1e-12;
    if (v) {
        if (v->type != CE_JSON_NUMBER)
            return ce_error(CE_ERR_FORMAT, "%s: \"layer_norm_eps\" must be a number", source);
        eps = v->number;
    }
    if (!(eps > 0.0 && eps < 1.0))
        return ce_error(CE_ERR_FORMAT, "%s: \"layer_norm_eps\" = %g is outside (0, 1)", source, eps);
    cfg->layer_norm_eps = (float)eps;
    return CE_OK;
}

static ce_status check_options(const ce_json *config, const char *source)
{
    const char *pos = ce_json_get_string(config, "position_embedding_type");
    if (pos && strcmp(pos, "absolute"))
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")",
                        source, pos);
    bool decoder;
    if (ce_json_get_bool(config, "is_decoder", &decoder) && decoder)
        return ce_error(CE_ERR_UNSUPPORTED, "%s: BERT as a decoder (is_decoder) is not supported",
                        source);
    return CE_OK;
}

ce_status ce_bert_parse_config(const ce_json *config, const char *source, bert_config *cfg)
{
    if (!config || config->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: not a JSON object", source);
    bert_config c = {0};
    const int_field fields[] = {
        {"vocab_size", &c.vocab_size, 1, 100000000, 1, 0},
        {"hidden_size", &c.hidden_size, 1, 65536, 1, 0},
        {"num_hidden_layers", &c.num_layers, 1, 1024, 1, 0},
        {"num_attention_heads", &c.num_heads, 1, 4096, 1, 0},
        {"intermediate_size", &c.intermediate_size, 1, 1048576, 1, 0},
        {"max_position_embeddings", &c.max_positions, 1, 1048576, 1, 0},
        {"type_vocab_size", &c.type_vocab_size, 1, 1048576, 0, 2},
    };
    ce_status st = CE_OK;
    for (size_t i = 0; st == CE_OK && i < sizeof fields / sizeof *fields; i++)
        st = read_int(config, source, &fields[i]);
    if (st == CE_OK)
        st = read_activation(config, source, &c);
    if (st == CE_OK)
        st = read_eps(config, source, &c);
    if (st == CE_OK)
        st = check_options(config, source);
    if (st != CE_OK)
        return st;
    if (c.hidden_size % c.num_heads != 0)
        return ce_error(CE_ERR_FORMAT,
                        "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", source,
                        (long long)c.hidden_size, (long long)c.num_heads);
    if ((double)c.vocab_size * (double)c.hidden_size > 4e10)
        return ce_error(CE_ERR_FORMAT, "%s: vocab_size x hidden_size is absurdly large", source);
    *cfg = c;
    return CE_OK;
}
