/* BERT config.json: read and check every value before anything is sized from it. */
#include <string.h>

#include "architectures/bert.h"
#include "architectures/config_util.h"
#include "core/error.h"

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
    const ce_int_field fields[] = {
        {"vocab_size", &c.vocab_size, 1, 100000000, 1, 0},
        {"hidden_size", &c.hidden_size, 1, 65536, 1, 0},
        {"num_hidden_layers", &c.num_layers, 1, 1024, 1, 0},
        {"num_attention_heads", &c.num_heads, 1, 4096, 1, 0},
        {"intermediate_size", &c.intermediate_size, 1, 1048576, 1, 0},
        {"max_position_embeddings", &c.max_positions, 1, 1048576, 1, 0},
        {"type_vocab_size", &c.type_vocab_size, 1, 1048576, 0, 2},
    };
    int act = CE_ACT_GELU_ERF;
    ce_status st = ce_config_read_ints(config, source, fields, sizeof fields / sizeof *fields);
    if (st == CE_OK)
        st = ce_config_read_activation(config, source, "hidden_act", CE_ACT_GELU_ERF, &act);
    c.activation = (ce_activation)act;
    if (st == CE_OK)
        st = ce_config_read_eps(config, source, "layer_norm_eps", 1e-12, &c.layer_norm_eps);
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
