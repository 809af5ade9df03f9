/* A compute backend of the host's own, registered at run time (docs/backends.md).
 *
 * It prepares every weight matrix of a model once (here: a contiguous copy in
 * [out][in] order, where a real backend would convert or pack for its own
 * library), runs every linear product on that copy, and leaves every other
 * kernel to the library's reference ones. Then it embeds a sentence with it
 * and with the built-in "ref" backend and prints how far apart they are.
 *
 *   custom_backend MODEL_DIR [TEXT]
 */
#include <contextembed/backend.h>
#include <contextembed/contextembed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct my_weight {
    size_t in, out;
    float *w;    /* [out][in] */
    float *bias; /* [out] or NULL */
    ce_backend_activation act;
} my_weight;

typedef struct my_stats {
    long prepared, products; /* the host's counters, reached through user_data */
} my_stats;

static ce_status my_model_create(void *user_data, int n_threads, void **model_state)
{
    (void)n_threads;
    *model_state = user_data; /* nothing else to share between the model's sessions */
    return CE_OK;
}

static ce_status my_session_create(void *user_data, void *model_state, int n_threads, void **ctx)
{
    (void)model_state, (void)n_threads;
    *ctx = user_data;
    return CE_OK;
}

static void my_destroy(void *ctx)
{
    (void)ctx;
}

static ce_status my_prepare(void *model_state, const ce_linear_desc *d, void **prepared)
{
    my_weight *w = calloc(1, sizeof *w);
    if (!w)
        return CE_ERR_OUT_OF_MEMORY;
    w->w = malloc(d->in * d->out * sizeof *w->w);
    w->bias = d->bias ? malloc(d->out * sizeof *w->bias) : NULL;
    if (!w->w || (d->bias && !w->bias)) {
        free(w->w), free(w->bias), free(w);
        return CE_ERR_OUT_OF_MEMORY;
    }
    for (size_t o = 0; o < d->out; o++) /* either layout in, [out][in] out */
        for (size_t i = 0; i < d->in; i++)
            w->w[o * d->in + i] =
                d->layout == CE_TRANS ? d->weight[o * d->ld + i] : d->weight[i * d->ld + o];
    if (d->bias)
        memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
    w->in = d->in, w->out = d->out, w->act = d->act;
    ((my_stats *)model_state)->prepared++;
    *prepared = w; /* d->weight is not read after this */
    return CE_OK;
}

static void my_release(void *model_state, void *prepared)
{
    (void)model_state;
    my_weight *w = prepared;
    free(w->w), free(w->bias), free(w);
}

static float activate(ce_backend_activation act, float x)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678f));
    case CE_BACKEND_ACT_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
    case CE_BACKEND_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case CE_BACKEND_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case CE_BACKEND_ACT_TANH: return tanhf(x);
    case CE_BACKEND_ACT_NONE: break;
    }
    return x;
}

/* y = act(x W^T + bias + beta y) */
static void my_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                      float beta, float *y, size_t ldy)
{
    const my_weight *w = prepared;
    ((my_stats *)ctx)->products++;
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < w->out; o++) {
            double s = w->bias ? w->bias[o] : 0.0;
            for (size_t i = 0; i < w->in; i++)
                s += (double)x[r * ldx + i] * w->w[o * w->in + i];
            if (beta != 0.0f)
                s += y[r * ldy + o];
            y[r * ldy + o] = activate(w->act, (float)s);
        }
}

/* Mean-pooled embedding of @p text with @p backend into @p out (capacity floats). */
static int embed(const char *dir, const char *backend, const char *text, float *out,
                 size_t capacity, size_t *count)
{
    ce_options *opts = NULL;
    ce_model *model = NULL;
    ce_session *session = NULL;
    ce_encoding *enc = NULL;
    ce_select *sel = NULL;
    int ok = ce_options_create(&opts) == CE_OK &&
             ce_options_set_string(opts, CE_OPT_BACKEND, backend) == CE_OK &&
             ce_model_open(dir, opts, &model) == CE_OK && /* weights prepared here */
             ce_model_tokenizer(model) &&
             ce_tokenizer_encode(ce_model_tokenizer(model), text, strlen(text), NULL, 0,
                                 CE_ENCODE_ADD_SPECIAL, 0, &enc) == CE_OK &&
             ce_session_create(model, NULL, &session) == CE_OK;
    size_t n = ok ? ce_encoding_length(enc) : 0;
    ok = ok && ce_session_run(session, 1, &n, ce_encoding_ids(enc), ce_encoding_type_ids(enc)) ==
                   CE_OK &&
         ce_select_create(&sel) == CE_OK && ce_select_pool(sel, CE_POOL_MEAN) == CE_OK &&
         ce_session_output(session, 0, sel, out, capacity, count) == CE_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", backend, ce_last_error());
    ce_select_free(sel);
    ce_encoding_free(enc);
    ce_session_free(session);
    ce_model_free(model); /* my_release for every prepared weight */
    ce_options_free(opts);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL_DIR [TEXT]\n", argv[0]);
        return 2;
    }
    const char *text = argc > 2 ? argv[2] : "The tide went out.";
    static my_stats stats;
    ce_backend_ops ops;
    memset(&ops, 0, sizeof ops); /* every slot left NULL comes from the reference backend */
    ops.abi_version = CE_BACKEND_ABI_VERSION;
    ops.struct_size = sizeof ops;
    ops.name = "host-example";
    ops.priority = -1; /* never chosen by "auto" */
    ops.user_data = &stats;
    ops.model_create = my_model_create;
    ops.session_create = my_session_create;
    ops.destroy = my_destroy;
    ops.linear_prepare = my_prepare;
    ops.linear_release = my_release;
    ops.linear = my_linear;
    if (ce_backend_register(&ops) != CE_OK) {
        fprintf(stderr, "%s\n", ce_last_error());
        return 1;
    }
    static float mine[8192], ref[8192];
    size_t n_mine = 0, n_ref = 0;
    if (!embed(argv[1], "host-example", text, mine, 8192, &n_mine) ||
        !embed(argv[1], "ref", text, ref, 8192, &n_ref) || n_mine != n_ref)
        return 1;
    double worst = 0.0;
    for (size_t i = 0; i < n_mine; i++)
        worst = fmax(worst, fabs((double)mine[i] - ref[i]));
    printf("%zu values; %ld weights prepared, %ld products; largest difference from ref %.1e\n",
           n_mine, stats.prepared, stats.products, worst);
    return worst < 1e-4 ? 0 : 1;
}
