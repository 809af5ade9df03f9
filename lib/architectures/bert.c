/* The BERT family (Hugging Face BertModel and the "bert." encoder of
 * BertFor* task models): config.json read and checked, then the shared encoder. */
#include <string.h>

#include "architectures/config_util.h"
#include "architectures/encoder.h"
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
        return ce_error(CE_ERR_UNSUPPORTED, "%s: an encoder used as a decoder (is_decoder) is not "
                        "supported", source);
    return CE_OK;
}

ce_status ce_bert_parse_config(const ce_json *config, const char *source, int64_t type_default,
                               ce_encoder_config *cfg)
{
    if (!config || config->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: not a JSON object", source);
    ce_encoder_config c = {0};
    c.position_pad_id = -1;
    const ce_int_field fields[] = {
        {"vocab_size", &c.vocab_size, 1, 100000000, 1, 0},
        {"hidden_size", &c.hidden_size, 1, 65536, 1, 0},
        {"num_hidden_layers", &c.num_layers, 1, 1024, 1, 0},
        {"num_attention_heads", &c.num_heads, 1, 4096, 1, 0},
        {"intermediate_size", &c.intermediate_size, 1, 1048576, 1, 0},
        {"max_position_embeddings", &c.position_rows, 1, 1048576, 1, 0},
        {"type_vocab_size", &c.type_vocab_size, 1, 1048576, 0, type_default},
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
    if (st == CE_OK)
        st = ce_encoder_check_config(&c, source);
    if (st == CE_OK)
        *cfg = c;
    return st;
}

static const char *const bert_prefixes[] = {"bert.", NULL};

static const ce_encoder_names bert_names = {
    .word = "embeddings.word_embeddings.weight",
    .position = "embeddings.position_embeddings.weight",
    .token_type = "embeddings.token_type_embeddings.weight",
    .emb_norm = "embeddings.LayerNorm",
    .layer = "encoder.layer.%lld.",
    .q = "attention.self.query",
    .k = "attention.self.key",
    .v = "attention.self.value",
    .attn_out = "attention.output.dense",
    .attn_norm = "attention.output.LayerNorm",
    .inter = "intermediate.dense",
    .out = "output.dense",
    .out_norm = "output.LayerNorm",
    .prefixes = bert_prefixes,
    .heads =
        {
            .mlm_transform = "cls.predictions.transform.dense",
            .mlm_norm = "cls.predictions.transform.LayerNorm",
            .mlm_decoder = "cls.predictions.decoder",
            .mlm_bias = "cls.predictions.bias",
            .mlm_act = -1,
            .pooler = "pooler.dense",
            .nsp = "cls.seq_relationship",
            .seq_out = "classifier",
            .tok_out = "classifier",
            .qa = "qa_outputs",
        },
};

const ce_encoder_names *ce_bert_names(void)
{
    return &bert_names;
}

static ce_status bert_load(const ce_json *config, const char *source, ce_weights *w, uint64_t seed,
                           void **model_data, ce_model_dims *dims)
{
    ce_encoder_config c;
    ce_status st = ce_bert_parse_config(config, source, 2, &c);
    return st == CE_OK ? ce_encoder_load(&c, &bert_names, w, seed, model_data, dims) : st;
}

const ce_arch_ops ce_arch_bert = {
    .name = "bert",
    .class_prefix = "Bert",
    .load = bert_load,
    CE_ENCODER_OPS,
};
