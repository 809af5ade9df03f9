/* GPT-2 config.json: read and check every value before anything is sized from it. */
#include "architectures/config_util.h"
#include "architectures/gpt2.h"
#include "core/error.h"

static ce_status read_flags(const ce_json *config, const char *source, gpt2_config *c)
{
    bool v;
    c->scale_attn_weights = 1;
    if (ce_json_get(config, "scale_attn_weights") &&
        !ce_json_get_bool(config, "scale_attn_weights", &v))
        return ce_error(CE_ERR_FORMAT, "%s: \"scale_attn_weights\" must be true or false", source);
    if (ce_json_get_bool(config, "scale_attn_weights", &v))
        c->scale_attn_weights = v;
    c->scale_by_inverse_layer_idx = 0;
    if (ce_json_get_bool(config, "scale_attn_by_inverse_layer_idx", &v))
        c->scale_by_inverse_layer_idx = v;
    c->tie_word_embeddings = 1;
    if (ce_json_get_bool(config, "tie_word_embeddings", &v))
        c->tie_word_embeddings = v;
    if (ce_json_get_bool(config, "add_cross_attention", &v) && v)
        return ce_error(CE_ERR_UNSUPPORTED, "%s: GPT-2 with cross-attention is not supported",
                        source);
    return CE_OK;
}

ce_status ce_gpt2_parse_config(const ce_json *config, const char *source, gpt2_config *cfg)
{
    if (!config || config->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: not a JSON object", source);
    gpt2_config c = {0};
    const ce_int_field fields[] = {
        {"vocab_size", &c.vocab_size, 1, 100000000, 1, 0},
        {"n_embd", &c.n_embd, 1, 65536, 1, 0},
        {"n_layer", &c.n_layer, 1, 1024, 1, 0},
        {"n_head", &c.n_head, 1, 4096, 1, 0},
        {"n_positions", &c.n_positions, 1, 1048576, 1, 0},
        {"n_inner", &c.n_inner, 1, 1048576, 0, 0},
    };
    int act = CE_ACT_GELU_TANH;
    ce_status st = ce_config_read_ints(config, source, fields, sizeof fields / sizeof *fields);
    if (st == CE_OK)
        st = ce_config_read_activation(config, source, "activation_function", CE_ACT_GELU_TANH,
                                       &act);
    c.activation = (ce_activation)act;
    if (st == CE_OK)
        st = ce_config_read_eps(config, source, "layer_norm_epsilon", 1e-5, &c.layer_norm_eps);
    if (st == CE_OK)
        st = read_flags(config, source, &c);
    if (st != CE_OK)
        return st;
    if (c.n_inner == 0) /* "n_inner": null means 4 x n_embd */
        c.n_inner = 4 * c.n_embd;
    if (c.n_embd % c.n_head != 0)
        return ce_error(CE_ERR_FORMAT, "%s: n_embd %lld is not a multiple of n_head %lld", source,
                        (long long)c.n_embd, (long long)c.n_head);
    if ((double)c.vocab_size * (double)c.n_embd > 4e10)
        return ce_error(CE_ERR_FORMAT, "%s: vocab_size x n_embd is absurdly large", source);
    *cfg = c;
    return CE_OK;
}
