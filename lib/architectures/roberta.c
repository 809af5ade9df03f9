/* The RoBERTa family (RobertaModel and the "roberta." encoder of RobertaFor*
 * task models): BERT's encoder and config keys, with position ids that start
 * after the padding index as Hugging Face computes them (padding_idx + 1 for a
 * sequence's first token) and, usually, a single token type. */
#include "architectures/config_util.h"
#include "architectures/encoder.h"
#include "core/error.h"

static const char *const roberta_prefixes[] = {"roberta.", NULL};

/* RobertaLMHead uses erf GELU whatever hidden_act says; the sequence
 * classifier is a dense + tanh on <s>, then out_proj (no pooler). */
static const ce_head_names roberta_heads = {
    .mlm_transform = "lm_head.dense",
    .mlm_norm = "lm_head.layer_norm",
    .mlm_decoder = "lm_head.decoder",
    .mlm_bias = "lm_head.bias",
    .mlm_act = CE_ACT_GELU_ERF,
    .seq_pre = "classifier.dense",
    .seq_pre_act = CE_ACT_TANH,
    .seq_out = "classifier.out_proj",
    .tok_out = "classifier",
    .qa = "qa_outputs",
};

static ce_status roberta_load(const ce_json *config, const char *source, ce_weights *w,
                              uint64_t seed, void **model_data, ce_model_dims *dims)
{
    ce_encoder_config c;
    ce_status st = ce_bert_parse_config(config, source, 2, &c); /* RobertaConfig defaults */
    int64_t pad = 1;
    const ce_int_field pad_field = {"pad_token_id", &pad, 0, 1048576, 0, 1};
    if (st == CE_OK)
        st = ce_config_read_ints(config, source, &pad_field, 1);
    if (st != CE_OK)
        return st;
    /* positions pad + 1 .. pad + T must fit the table of max_position_embeddings rows */
    if (pad + 1 >= c.position_rows)
        return ce_error(CE_ERR_FORMAT,
                        "%s: pad_token_id %lld leaves no positions in max_position_embeddings %lld "
                        "(RoBERTa's positions start at pad_token_id + 1)",
                        source, (long long)pad, (long long)c.position_rows);
    c.position_offset = pad + 1;
    c.position_pad_id = pad;
    ce_encoder_names names = *ce_bert_names();
    names.prefixes = roberta_prefixes;
    names.heads = roberta_heads;
    return ce_encoder_load(&c, &names, w, seed, model_data, dims);
}

const ce_arch_ops ce_arch_roberta = {
    .name = "roberta",
    .class_prefix = "Roberta",
    .load = roberta_load,
    CE_ENCODER_OPS,
};
