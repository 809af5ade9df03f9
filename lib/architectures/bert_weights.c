/* BERT tensors: the names Hugging Face writes, with or without the "bert." prefix
 * (BertModel vs BertForMaskedLM and friends); heads the encoder does not use are ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "architectures/bert.h"
#include "core/error.h"
#include "core/rng.h"

enum init { INIT_NORMAL, INIT_ZERO, INIT_ONE };

typedef struct tensor_spec {
    const float **dst;
    char name[128];
    int ndim;
    int64_t shape[2];
    enum init init;
} tensor_spec;

typedef struct spec_list {
    tensor_spec *items;
    size_t n;
} spec_list;

static void add(spec_list *l, const float **dst, const char *name, int64_t d0, int64_t d1,
                enum init init)
{
    tensor_spec *t = &l->items[l->n++];
    t->dst = dst;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->init = init;
}

static void add_linear(spec_list *l, const float **w, const float **b, const char *name, int64_t out,
                       int64_t in)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s.weight", name);
    add(l, w, buf, out, in, INIT_NORMAL);
    snprintf(buf, sizeof buf, "%s.bias", name);
    add(l, b, buf, out, 0, INIT_ZERO);
}

static void add_norm(spec_list *l, const float **g, const float **b, const char *name, int64_t dim)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s.weight", name);
    add(l, g, buf, dim, 0, INIT_ONE);
    snprintf(buf, sizeof buf, "%s.bias", name);
    add(l, b, buf, dim, 0, INIT_ZERO);
}

static void add_layer(spec_list *l, bert_layer *ly, int64_t i, int64_t d, int64_t f)
{
    char p[96], n[128];
    snprintf(p, sizeof p, "encoder.layer.%lld.", (long long)i);
#define NAME(s) (snprintf(n, sizeof n, "%s%s", p, s), n)
    add_linear(l, &ly->q_w, &ly->q_b, NAME("attention.self.query"), d, d);
    add_linear(l, &ly->k_w, &ly->k_b, NAME("attention.self.key"), d, d);
    add_linear(l, &ly->v_w, &ly->v_b, NAME("attention.self.value"), d, d);
    add_linear(l, &ly->attn_out_w, &ly->attn_out_b, NAME("attention.output.dense"), d, d);
    add_norm(l, &ly->attn_ln_g, &ly->attn_ln_b, NAME("attention.output.LayerNorm"), d);
    add_linear(l, &ly->inter_w, &ly->inter_b, NAME("intermediate.dense"), f, d);
    add_linear(l, &ly->out_w, &ly->out_b, NAME("output.dense"), d, f);
    add_norm(l, &ly->out_ln_g, &ly->out_ln_b, NAME("output.LayerNorm"), d);
#undef NAME
}

static void build_specs(bert_model *m, spec_list *l)
{
    const bert_config *c = &m->cfg;
    add(l, &m->word_emb, "embeddings.word_embeddings.weight", c->vocab_size, c->hidden_size,
        INIT_NORMAL);
    add(l, &m->pos_emb, "embeddings.position_embeddings.weight", c->max_positions, c->hidden_size,
        INIT_NORMAL);
    add(l, &m->type_emb, "embeddings.token_type_embeddings.weight", c->type_vocab_size,
        c->hidden_size, INIT_NORMAL);
    add_norm(l, &m->emb_ln_g, &m->emb_ln_b, "embeddings.LayerNorm", c->hidden_size);
    for (int64_t i = 0; i < c->num_layers; i++)
        add_layer(l, &m->layers[i], i, c->hidden_size, c->intermediate_size);
}

static size_t spec_count(const tensor_spec *t)
{
    return (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
}

static ce_status draw_random(bert_model *m, spec_list *l, uint64_t seed)
{
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += spec_count(&l->items[i]);
    m->owned = malloc(total * sizeof(float));
    if (!m->owned)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "random BERT: cannot allocate %zu weights", total);
    ce_rng rng;
    ce_rng_seed(&rng, seed);
    float *p = m->owned;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = spec_count(&l->items[i]);
        if (l->items[i].init == INIT_NORMAL)
            ce_rng_normal(&rng, p, n, 0.0f, 0.02f);
        else
            for (size_t j = 0; j < n; j++)
                p[j] = l->items[i].init == INIT_ONE ? 1.0f : 0.0f;
        *l->items[i].dst = p;
        p += n;
    }
    return CE_OK;
}

/* BertModel checkpoints name tensors "embeddings...."; task models nest the
 * encoder under "bert.". */
static const char *detect_prefix(const ce_weights *w)
{
    if (ce_weights_find(w, "embeddings.word_embeddings.weight"))
        return "";
    if (ce_weights_find(w, "bert.embeddings.word_embeddings.weight"))
        return "bert.";
    return "";
}

static ce_status bind_file(spec_list *l, ce_weights *w)
{
    const char *prefix = detect_prefix(w);
    for (size_t i = 0; i < l->n; i++) {
        tensor_spec *t = &l->items[i];
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        ce_status st = ce_weights_get_f32(w, name, t->ndim, t->shape, t->dst);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

ce_status ce_bert_bind_weights(bert_model *m, ce_weights *w, uint64_t seed)
{
    size_t cap = 5 + 16 * (size_t)m->cfg.num_layers;
    spec_list l = {calloc(cap, sizeof(tensor_spec)), 0};
    if (!l.items)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "BERT: out of memory");
    build_specs(m, &l);
    ce_status st = w ? bind_file(&l, w) : draw_random(m, &l, seed);
    free(l.items);
    return st;
}
