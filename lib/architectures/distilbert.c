/* The DistilBERT family (DistilBertModel and the "distilbert." encoder of
 * DistilBertFor* task models): BERT's post-LayerNorm encoder under other names,
 * no token types, LayerNorm epsilon 1e-12, and sinusoidal positions when the
 * config asks for them (computed when the file does not store the table). */
#include <string.h>

#include "architectures/config_util.h"
#include "architectures/encoder.h"
#include "core/error.h"

static ce_status parse_config(const ce_json *config, const char *source, ce_encoder_config *cfg)
{
    if (!config || config->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: not a JSON object", source);
    ce_encoder_config c = {0};
    c.position_pad_id = -1;
    const ce_int_field fields[] = {
        {"vocab_size", &c.vocab_size, 1, 100000000, 1, 0},
        {"dim", &c.hidden_size, 1, 65536, 1, 0},
        {"n_layers", &c.num_layers, 1, 1024, 1, 0},
        {"n_heads", &c.num_heads, 1, 4096, 1, 0},
        {"hidden_dim", &c.intermediate_size, 1, 1048576, 1, 0},
        {"max_position_embeddings", &c.position_rows, 1, 1048576, 1, 0},
    };
    int act = CE_ACT_GELU_ERF;
    bool sinusoidal = false;
    ce_status st = ce_config_read_ints(config, source, fields, sizeof fields / sizeof *fields);
    if (st == CE_OK)
        st = ce_config_read_activation(config, source, "activation", CE_ACT_GELU_ERF, &act);
    if (st == CE_OK && ce_json_get(config, "sinusoidal_pos_embds") &&
        !ce_json_get_bool(config, "sinusoidal_pos_embds", &sinusoidal))
        st = ce_error(CE_ERR_FORMAT, "%s: \"sinusoidal_pos_embds\" is not a boolean", source);
    c.activation = (ce_activation)act;
    c.sinusoidal = sinusoidal;
    c.layer_norm_eps = 1e-12f; /* fixed in Hugging Face's DistilBERT */
    if (st == CE_OK)
        st = ce_encoder_check_config(&c, source);
    if (st == CE_OK)
        *cfg = c;
    return st;
}

static const char *const distilbert_prefixes[] = {"distilbert.", NULL};

static const ce_encoder_names distilbert_names = {
    .word = "embeddings.word_embeddings.weight",
    .position = "embeddings.position_embeddings.weight",
    .emb_norm = "embeddings.LayerNorm",
    .layer = "transformer.layer.%lld.",
    .q = "attention.q_lin",
    .k = "attention.k_lin",
    .v = "attention.v_lin",
    .attn_out = "attention.out_lin",
    .attn_norm = "sa_layer_norm",
    .inter = "ffn.lin1",
    .out = "ffn.lin2",
    .out_norm = "output_layer_norm",
    .prefixes = distilbert_prefixes,
    .heads =
        {
            .mlm_transform = "vocab_transform",
            .mlm_norm = "vocab_layer_norm",
            .mlm_decoder = "vocab_projector",
            .mlm_bias = "vocab_projector.bias",
            .mlm_act = -1,
            .mlm_eps = 1e-12f,
            .seq_pre = "pre_classifier",
            .seq_pre_act = CE_ACT_RELU,
            .seq_out = "classifier",
            .tok_out = "classifier",
            .qa = "qa_outputs",
        },
};

static ce_status distilbert_load(const ce_json *config, const char *source, ce_weights *w,
                                 uint64_t seed, void **model_data, ce_model_dims *dims)
{
    ce_encoder_config c;
    ce_status st = parse_config(config, source, &c);
    return st == CE_OK ? ce_encoder_load(&c, &distilbert_names, w, seed, model_data, dims) : st;
}

const ce_arch_ops ce_arch_distilbert = {
    .name = "distilbert",
    .class_prefix = "DistilBert",
    .load = distilbert_load,
    CE_ENCODER_OPS,
};
