/* The timing layer of ce_backend_profile_start. */
#include "backends/profile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

typedef struct prof_ctx {
    ce_backend_ops inner; /* the backend's own table */
    ce_backend_ext inner_ext;
    void *ctx;            /* the backend's own context */
    ce_profile_entry entries[CE_PROFILE_MAX];
    ce_profile_entry snapshot[CE_PROFILE_MAX];
    size_t n;
} prof_ctx;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The entry of (slot, key, n, k); the last one absorbs overflow. */
static ce_profile_entry *entry(prof_ctx *p, const char *slot, const void *key, size_t n, size_t k)
{
    for (size_t i = 0; i < p->n; i++) {
        ce_profile_entry *e = &p->entries[i];
        if (e->slot == slot && e->key == key && e->n == n && e->k == k)
            return e;
    }
    if (p->n == CE_PROFILE_MAX)
        return &p->entries[CE_PROFILE_MAX - 1];
    ce_profile_entry *e = &p->entries[p->n++];
    *e = (ce_profile_entry){slot, key, n, k, 0.0, 0};
    return e;
}

static void add_time(prof_ctx *p, const char *slot, const void *key, size_t n, size_t k, double t0)
{
    ce_profile_entry *e = entry(p, slot, key, n, k);
    e->seconds += now() - t0;
    e->calls++;
}

#define TIMED(slot, key, n, k, call)           \
    do {                                        \
        prof_ctx *p_ = ctx;                     \
        double t0_ = now();                     \
        call;                                   \
        add_time(p_, slot, key, n, k, t0_);     \
    } while (0)
#define IN(p) ((prof_ctx *)(p))->ctx
#define OPS(p) ((prof_ctx *)(p))->inner

static void w_gemm(void *ctx, ce_transpose ta, ce_transpose tb, size_t m, size_t n, size_t k,
                   float alpha, const float *a, size_t lda, const float *b, size_t ldb, float beta,
                   float *c, size_t ldc, const float *bias)
{
    TIMED("gemm", NULL, n, k,
          OPS(ctx).gemm(IN(ctx), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias));
}

static void w_layer_norm(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                         const float *g, const float *b, float eps, float *y, size_t ldy)
{
    TIMED("layer_norm", NULL, 0, 0,
          OPS(ctx).layer_norm(IN(ctx), rows, dim, x, ldx, g, b, eps, y, ldy));
}

static void w_softmax(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                      size_t n_valid, int causal, size_t q_offset)
{
    TIMED("softmax", NULL, 0, 0,
          OPS(ctx).softmax(IN(ctx), rows, cols, x, ldx, scale, n_valid, causal, q_offset));
}

#define W_UNARY(name)                                                          \
    static void w_##name(void *ctx, size_t n, float *x)                        \
    {                                                                          \
        TIMED(#name, NULL, 0, 0, OPS(ctx).name(IN(ctx), n, x));                \
    }
W_UNARY(gelu_erf)
W_UNARY(gelu_tanh)
W_UNARY(relu)
W_UNARY(sigmoid)
W_UNARY(tanh)

static void w_add(void *ctx, size_t n, const float *a, const float *b, float *y)
{
    TIMED("add", NULL, 0, 0, OPS(ctx).add(IN(ctx), n, a, b, y));
}

static void w_scale(void *ctx, size_t n, float alpha, float *x)
{
    TIMED("scale", NULL, 0, 0, OPS(ctx).scale(IN(ctx), n, alpha, x));
}

static void w_lstm_cell(void *ctx, size_t batch, size_t cell, const float *gates, size_t ldg,
                        float fb, float clip, float *c, size_t ldc, float *h, size_t ldh)
{
    TIMED("lstm_cell", NULL, 0, 0,
          OPS(ctx).lstm_cell(IN(ctx), batch, cell, gates, ldg, fb, clip, c, ldc, h, ldh));
}

static void w_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                     float beta, float *y, size_t ldy)
{
    TIMED("linear", prepared, 0, 0,
          OPS(ctx).linear(IN(ctx), prepared, rows, x, ldx, beta, y, ldy));
}

/* Timed under the first weight's name; a call the backend declines costs
 * nothing here (the products that follow are timed as such). */
static int w_linear_same_x(void *ctx, size_t n, const void *const *w, size_t rows,
                           const float *x, size_t ldx, float *const *y, const size_t *ldy)
{
    prof_ctx *p = ctx;
    double t0 = now();
    int done = p->inner_ext.linear_same_x(p->ctx, n, w, rows, x, ldx, y, ldy);
    if (done)
        add_time(p, "linear_same_x", w[0], n, 0, t0);
    return done;
}

static void w_attention(void *ctx, size_t heads, size_t hd, size_t tq, size_t tk, const float *q,
                        size_t ldq, const float *k, size_t ldk, const float *v, size_t ldv,
                        float scale, int causal, size_t q_offset, float *out, size_t ldo)
{
    TIMED("attention", NULL, 0, 0,
          OPS(ctx).attention(IN(ctx), heads, hd, tq, tk, q, ldq, k, ldk, v, ldv, scale, causal,
                             q_offset, out, ldo));
}

static void w_max_rows(void *ctx, size_t groups, size_t rows, size_t cols, const float *x,
                       float *y, size_t ldy)
{
    TIMED("max_rows", NULL, 0, 0, OPS(ctx).max_rows(IN(ctx), groups, rows, cols, x, y, ldy));
}

static void w_gate_mix(void *ctx, size_t n, const float *g, const float *t, float *x)
{
    TIMED("gate_mix", NULL, 0, 0, OPS(ctx).gate_mix(IN(ctx), n, g, t, x));
}

static void w_clip(void *ctx, size_t n, float limit, float *x)
{
    TIMED("clip", NULL, 0, 0, OPS(ctx).clip(IN(ctx), n, limit, x));
}

static void w_set_threads(void *ctx, int n)
{
    if (OPS(ctx).set_threads)
        OPS(ctx).set_threads(IN(ctx), n);
}

static void w_destroy(void *ctx)
{
    OPS(ctx).destroy(IN(ctx));
    free(ctx);
}

ce_status ce_backend_profile_start(ce_backend *b)
{
    prof_ctx *p = calloc(1, sizeof *p);
    if (!p)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "profile: out of memory");
    p->inner = b->ops;
    p->ctx = b->ctx;
    ce_backend_ops *o = &b->ops;
    o->destroy = w_destroy;
    o->gemm = w_gemm;
    o->layer_norm = w_layer_norm;
    o->softmax = w_softmax;
    o->gelu_erf = w_gelu_erf;
    o->gelu_tanh = w_gelu_tanh;
    o->add = w_add;
    o->scale = w_scale;
    o->relu = w_relu;
    o->sigmoid = w_sigmoid;
    o->tanh = w_tanh;
    o->lstm_cell = w_lstm_cell;
    if (o->linear)
        o->linear = w_linear;
    o->attention = w_attention;
    o->set_threads = w_set_threads;
    o->max_rows = w_max_rows;
    o->gate_mix = w_gate_mix;
    o->clip = w_clip;
    p->inner_ext = b->ext;
    if (b->ext.linear_same_x)
        b->ext.linear_same_x = w_linear_same_x;
    b->ctx = p;
    return CE_OK;
}

const ce_profile_entry *ce_backend_profile_take(ce_backend *b, size_t *count)
{
    if (b->ops.destroy != w_destroy)
        return NULL;
    prof_ctx *p = b->ctx;
    memcpy(p->snapshot, p->entries, p->n * sizeof *p->entries);
    *count = p->n;
    p->n = 0;
    return p->snapshot;
}
