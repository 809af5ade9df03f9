/* The onednn backend's prepared linear layers.
 *
 * Prepare: a matmul for 128 rows with weights in format "any" tells which
 * layout oneDNN's fastest kernel wants; the weight is reordered into it once.
 * That layout must also serve a single row (decoding), else the plain layout
 * is kept. Run: each session caches one primitive per (weight, rows, strides,
 * accumulate, threads), with bias, the sum of beta = 1 and the activation as
 * post-ops, and its own scratchpad, so sessions never share mutable state.
 * One row of a weight in oneDNN's BA16a64b layout (decoding; bf16: in pairs)
 * runs the library's own loop over it (onednn_gemv.c) on AVX-512 CPUs.
 * Should a primitive be impossible at run time (out of memory), the product
 * is computed from the raw weight, which stays valid for the model's life
 * (f32 only: see fallback).
 *
 * bf16: the weight is converted (to nearest even) as it is reordered, and
 * each call rounds its rows of x to bf16 the same way into the session's
 * buffer; oneDNN multiplies in bf16 (AVX512-BF16 or AMX) and accumulates,
 * adds the bias and applies the post-ops in float32, into float32 rows.
 * Rows of a bf16 weight run on the library's AMX kernel (onednn_amx.c)
 * where the CPU has AMX, and on its float32 FMA kernel over the weight
 * widened a chunk at a time (onednn_rows_f32.c) where FMAs outrun
 * VDPBF16PS (Intel's cores without AMX, as VMs that hide it). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend_internal.h"
#include "backends/onednn/onednn_amx.h"
#include "backends/onednn/onednn_backend.h"
#include "backends/onednn/onednn_gemv.h"
#include "backends/onednn/onednn_rows_f32.h"
#include "backends/ref/ref.h"
#include "core/error.h"

#define PREPARE_ROWS 128
#define CACHE_MAX 4096 /* primitives per session before the cache starts over */

struct ce_dnnl_weight {
    uint64_t serial; /* unique for the process's life: a freed weight's address may be reused,
                        and a session's cached primitive must never match another weight */
    size_t in, out;
    dnnl_data_type_t dt; /* of x and the prepared weight: f32 or bf16 */
    ce_backend_activation act; /* what the product must end with */
    ce_backend_activation fused; /* act when a post-op does it, else NONE (applied after) */
    dnnl_memory_desc_t wmd; /* the prepared layout */
    dnnl_memory_t wmem;     /* owns the prepared data */
    dnnl_memory_t bmem;     /* over bias, or NULL */
    float *bias;
    const float *raw; /* the fallback */
    size_t ld;
    ce_transpose layout;
    const void *gemv; /* the prepared data, when ce_dnnl_gemv runs one row of it */
    const uint16_t *amx; /* the same, when ce_dnnl_amx_linear runs rows of it */
    const void *rows_f32; /* the same, when ce_dnnl_rows_f32 runs rows of it */
};

static dnnl_alg_kind_t eltwise_alg(ce_backend_activation act)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF: return dnnl_eltwise_gelu_erf;
    case CE_BACKEND_ACT_GELU_TANH: return dnnl_eltwise_gelu_tanh;
    case CE_BACKEND_ACT_RELU: return dnnl_eltwise_relu;
    case CE_BACKEND_ACT_SIGMOID: return dnnl_eltwise_logistic;
    case CE_BACKEND_ACT_TANH: return dnnl_eltwise_tanh;
    case CE_BACKEND_ACT_NONE: break;
    }
    return dnnl_alg_kind_undef;
}

dnnl_primitive_attr_t ce_dnnl_attr(int accumulate, ce_backend_activation act)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success)
        return NULL;
    int ok = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) ==
                 dnnl_success &&
             dnnl_post_ops_create(&po) == dnnl_success;
    if (ok && accumulate)
        ok = dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success;
    if (ok && act != CE_BACKEND_ACT_NONE)
        ok = dnnl_post_ops_append_eltwise(po, 1.0f, eltwise_alg(act), 0.0f, 0.0f) == dnnl_success;
    if (ok)
        ok = dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    if (po)
        dnnl_post_ops_destroy(po);
    if (!ok) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

static int md_typed(dnnl_memory_desc_t *md, dnnl_data_type_t dt, size_t d0, size_t d1, size_t s0,
                    size_t s1)
{
    dnnl_dims_t dims = {(dnnl_dim_t)d0, (dnnl_dim_t)d1}, strides = {(dnnl_dim_t)s0, (dnnl_dim_t)s1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides) == dnnl_success;
}

static int md_strided(dnnl_memory_desc_t *md, size_t d0, size_t d1, size_t s0, size_t s1)
{
    return md_typed(md, dnnl_f32, d0, d1, s0, s1);
}

/* A matmul of rows x in by the weight (layout @p wmd) into rows x out. */
static dnnl_status_t make_pd(dnnl_engine_t engine, size_t in, size_t out, int has_bias,
                             ce_backend_activation act, const dnnl_memory_desc_t *wmd,
                             size_t rows, size_t ldx, size_t ldy, int accumulate,
                             dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst, bmd;
    if (!md_typed(&src, wmd->data_type, rows, in, ldx, 1) || !md_strided(&dst, rows, out, ldy, 1) ||
        !md_strided(&bmd, 1, out, out, 1))
        return dnnl_invalid_arguments;
    dnnl_matmul_desc_t desc;
    dnnl_status_t st = dnnl_matmul_desc_init(&desc, &src, wmd, has_bias ? &bmd : NULL, &dst);
    if (st != dnnl_success)
        return st;
    dnnl_primitive_attr_t attr = ce_dnnl_attr(accumulate, act);
    if (!attr)
        return dnnl_out_of_memory;
    st = dnnl_primitive_desc_create(pd, &desc, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* The layout oneDNN picks for this weight, if one row can use it too; and
 * whether the activation is fused. Its GEMM-based matmul (CPUs without
 * AVX-512) applies an eltwise post-op in a slow separate pass: measured on
 * BERT-base's FFN (128 x 768 x 3072, AVX2, 2 threads) the fused GELU took as
 * long as a second product, so there the shared kernel applies it after. */
static int pick_layout(dnnl_engine_t engine, const ce_linear_desc *d, dnnl_data_type_t dt,
                       dnnl_memory_desc_t *wmd, ce_backend_activation *fused)
{
    dnnl_memory_desc_t any;
    dnnl_dims_t dims = {(dnnl_dim_t)d->in, (dnnl_dim_t)d->out};
    if (dnnl_memory_desc_init_by_tag(&any, 2, dims, dt, dnnl_format_tag_any) != dnnl_success)
        return 0;
    dnnl_primitive_desc_t pd;
    if (make_pd(engine, d->in, d->out, d->bias != NULL, d->act, &any, PREPARE_ROWS, d->in, d->out,
                0, &pd) != dnnl_success)
        return 0;
    *wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    *fused = impl && !strncmp(impl, "gemm", 4) ? CE_BACKEND_ACT_NONE : d->act;
    dnnl_primitive_desc_destroy(pd);
    if (make_pd(engine, d->in, d->out, d->bias != NULL, *fused, wmd, 1, d->in, d->out, 0, &pd) !=
        dnnl_success)
        return 0;
    dnnl_primitive_desc_destroy(pd);
    return 1;
}

static ce_status reorder_in(const ce_dnnl_model *m, const ce_linear_desc *d, ce_dnnl_weight *w)
{
    dnnl_memory_desc_t raw_md;
    int ok = d->layout == CE_TRANS ? md_strided(&raw_md, d->in, d->out, 1, d->ld)
                                   : md_strided(&raw_md, d->in, d->out, d->ld, 1);
    if (!ok)
        return ce_error(CE_ERR_BACKEND, "oneDNN refused the weight's strides");
    dnnl_memory_t raw = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_stream_t stream = NULL;
    /* the thread count from before the primitive is made: oneDNN fixes how
     * many threads a primitive runs on when it creates it */
    int saved = ce_dnnl_threads_enter(m->n_threads);
    dnnl_status_t st = dnnl_memory_create(&w->wmem, &w->wmd, m->engine, DNNL_MEMORY_ALLOCATE);
    if (st == dnnl_success)
        st = dnnl_memory_create(&raw, &raw_md, m->engine, (void *)d->weight);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&rpd, &raw_md, m->engine, &w->wmd, m->engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, rpd);
    if (st == dnnl_success)
        st = dnnl_stream_create(&stream, m->engine, dnnl_stream_default_flags);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, raw}, {DNNL_ARG_TO, w->wmem}};
        st = dnnl_primitive_execute(r, stream, 2, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(stream);
    }
    ce_dnnl_threads_leave(saved);
    if (stream)
        dnnl_stream_destroy(stream);
    if (r)
        dnnl_primitive_destroy(r);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    if (raw)
        dnnl_memory_destroy(raw);
    if (st == dnnl_out_of_memory)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "oneDNN: out of memory reordering the weight");
    if (st != dnnl_success)
        return ce_error(CE_ERR_BACKEND, "oneDNN could not reorder the weight (status %d)", (int)st);
    return CE_OK;
}

void ce_dnnl_linear_release(void *model_state, void *prepared)
{
    (void)model_state;
    ce_dnnl_weight *w = prepared;
    if (!w)
        return;
    if (w->wmem)
        dnnl_memory_destroy(w->wmem);
    if (w->bmem)
        dnnl_memory_destroy(w->bmem);
    free(w->bias);
    free(w);
}

ce_status ce_dnnl_linear_prepare(void *model_state, const ce_linear_desc *d, void **prepared)
{
    const ce_dnnl_model *m = model_state;
    /* oneDNN 2.x has no weight-only int8 matmul (its int8 matmul quantises the
     * activations too): f32 and bf16 only, which the table's precisions says,
     * so the library refuses int8 before. */
    ce_precision p = ce_linear_desc_precision(d);
    if (p != CE_PRECISION_F32 && p != CE_PRECISION_BF16)
        return ce_error(CE_ERR_UNSUPPORTED, "the onednn backend prepares f32 and bf16 weights");
    dnnl_data_type_t dt = p == CE_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
    ce_dnnl_weight *w = calloc(1, sizeof *w);
    if (!w)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    static _Atomic uint64_t serials;
    *w = (ce_dnnl_weight){.serial = atomic_fetch_add(&serials, 1) + 1,
                          .in = d->in,
                          .out = d->out,
                          .dt = dt,
                          .act = d->act,
                          .raw = dt == dnnl_f32 ? d->weight : NULL,
                          .ld = d->ld,
                          .layout = d->layout};
    ce_status st = CE_OK;
    /* plain, dense in the raw layout's order, when oneDNN has nothing better */
    if (!pick_layout(m->engine, d, dt, &w->wmd, &w->fused) &&
        !(d->layout == CE_TRANS ? md_typed(&w->wmd, dt, d->in, d->out, 1, d->in)
                                : md_typed(&w->wmd, dt, d->in, d->out, d->out, 1)))
        st = ce_error(CE_ERR_UNSUPPORTED, "oneDNN has no matmul for this shape");
    if (st == CE_OK)
        st = reorder_in(m, d, w);
    void *data = NULL;
    if (st == CE_OK && ce_dnnl_gemv_fits(&w->wmd) &&
        dnnl_memory_get_data_handle(w->wmem, &data) == dnnl_success)
        w->gemv = data;
    if (w->gemv && ce_dnnl_amx_fits(&w->wmd) && !getenv("CE_NO_AMX"))
        w->amx = w->gemv;
    if (w->gemv && !w->amx && ce_dnnl_rows_f32_fits(&w->wmd) && !getenv("CE_DNNL_F32_MATMUL"))
        w->rows_f32 = w->gemv;
    if (st == CE_OK && d->bias) {
        dnnl_memory_desc_t bmd;
        w->bias = malloc(d->out * sizeof *w->bias);
        if (!w->bias || !md_strided(&bmd, 1, d->out, d->out, 1) ||
            dnnl_memory_create(&w->bmem, &bmd, m->engine, w->bias) != dnnl_success)
            st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
        else
            memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
    }
    if (st != CE_OK) {
        ce_dnnl_linear_release(NULL, w);
        return st;
    }
    *prepared = w;
    return CE_OK;
}

/* ---- the session's primitive cache ---- */

static size_t slot_of(const ce_dnnl_ctx *c, const ce_dnnl_prim *key)
{
    uint64_t h = key->serial * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)key->rows * 0xC2B2AE3D27D4EB4Full + (uint64_t)key->ldx * 31 + key->ldy;
    h ^= (uint64_t)(key->accumulate * 2 + key->threads * 4);
    size_t mask = c->n_slots - 1, i = (size_t)(h ^ (h >> 29)) & mask;
    for (;; i = (i + 1) & mask) {
        const ce_dnnl_prim *p = &c->prims[i];
        if (!p->prim || (p->serial == key->serial && p->rows == key->rows && p->ldx == key->ldx &&
                         p->ldy == key->ldy && p->accumulate == key->accumulate &&
                         p->threads == key->threads))
            return i;
    }
}

static void prim_free(ce_dnnl_prim *p)
{
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    if (p->src)
        dnnl_memory_destroy(p->src);
    if (p->dst)
        dnnl_memory_destroy(p->dst);
    if (p->scratch)
        dnnl_memory_destroy(p->scratch);
    memset(p, 0, sizeof *p);
}

void ce_dnnl_cache_clear(ce_dnnl_ctx *c)
{
    for (size_t i = 0; i < c->n_slots; i++)
        prim_free(&c->prims[i]);
    c->n_used = 0;
}

/* Room for one more entry: the table doubles up to CACHE_MAX, then starts over. */
static int cache_room(ce_dnnl_ctx *c)
{
    if (c->n_slots && 2 * (c->n_used + 1) <= c->n_slots)
        return 1;
    if (c->n_slots >= 2 * CACHE_MAX) {
        ce_dnnl_cache_clear(c);
        return 1;
    }
    size_t n = c->n_slots ? 2 * c->n_slots : 64;
    ce_dnnl_prim *old = c->prims, *fresh = calloc(n, sizeof *fresh);
    if (!fresh)
        return 0;
    size_t old_n = c->n_slots;
    c->prims = fresh;
    c->n_slots = n;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].prim)
            c->prims[slot_of(c, &old[i])] = old[i];
    free(old);
    return 1;
}

int ce_dnnl_scratch_reserve(ce_dnnl_ctx *c, size_t bytes)
{
    if (bytes <= c->scratch_bytes)
        return 1;
    void *s = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (!s)
        return 0;
    free(c->scratch);
    c->scratch = s;
    c->scratch_bytes = bytes;
    return 1;
}

static int make_prim(ce_dnnl_ctx *c, ce_dnnl_prim *p)
{
    const ce_dnnl_weight *w = p->w;
    dnnl_primitive_desc_t pd;
    if (make_pd(c->engine, w->in, w->out, w->bias != NULL, w->fused, &w->wmd, p->rows, p->ldx,
                p->ldy, p->accumulate, &pd) != dnnl_success)
        return 0;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scratch_bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    int ok = ce_dnnl_scratch_reserve(c, scratch_bytes);
    if (ok && scratch_bytes) /* its handle is the session's buffer, set at each run */
        ok = dnnl_memory_create(&p->scratch, smd, c->engine, DNNL_MEMORY_NONE) == dnnl_success;
    ok = ok && dnnl_primitive_create(&p->prim, pd) == dnnl_success &&
         dnnl_memory_create(&p->src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                            c->engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&p->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                            c->engine, DNNL_MEMORY_NONE) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    if (!ok)
        prim_free(p);
    return ok;
}

static const ce_dnnl_prim *find_prim(ce_dnnl_ctx *c, const ce_dnnl_prim *key)
{
    if (c->n_slots) {
        const ce_dnnl_prim *p = &c->prims[slot_of(c, key)];
        if (p->prim)
            return p;
    }
    if (!cache_room(c))
        return NULL;
    ce_dnnl_prim fresh = *key;
    if (!make_prim(c, &fresh))
        return NULL;
    c->prims[slot_of(c, key)] = fresh;
    c->n_used++;
    return &c->prims[slot_of(c, key)];
}

static int run_prim(ce_dnnl_ctx *c, const ce_dnnl_prim *p, const void *x, float *y)
{
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, p->src},
                               {DNNL_ARG_WEIGHTS, p->w->wmem},
                               {DNNL_ARG_DST, p->dst}};
    int n = 3;
    if (p->w->bmem)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, p->w->bmem};
    if (p->scratch) {
        if (dnnl_memory_set_data_handle(p->scratch, c->scratch) != dnnl_success)
            return 0;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    }
    return dnnl_memory_set_data_handle(p->src, (void *)x) == dnnl_success &&
           dnnl_memory_set_data_handle(p->dst, y) == dnnl_success &&
           dnnl_primitive_execute(p->prim, c->stream, n, args) == dnnl_success &&
           dnnl_stream_wait(c->stream) == dnnl_success;
}

/* From the raw weight: GEMM, bias, activation (rare: no primitive could be
 * had, out of memory). A bf16 weight has no raw one (the library frees a
 * float32 copy converted from an F16 file once the weight is prepared, and
 * float32 would be another precision): its rows are NaN. */
static void fallback(ce_dnnl_ctx *c, const ce_dnnl_weight *w, size_t rows, const float *x,
                     size_t ldx, float beta, float *y, size_t ldy)
{
    if (!w->raw) {
        ce_cpu_nan_rows(rows, w->out, y, ldy);
        return;
    }
    const ce_backend_ops *ops = ce_backend_onednn_ops();
    ops->gemm(c, CE_NO_TRANS, w->layout, rows, w->out, w->in, 1.0f, x, ldx, w->raw, w->ld, beta,
              y, ldy, w->bias);
    ce_cpu_activate_rows(c, w->act, rows, w->out, y, ldy);
}

void ce_dnnl_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                    float beta, float *y, size_t ldy)
{
    ce_dnnl_ctx *c = ctx;
    const ce_dnnl_weight *w = prepared;
    if (rows == 0)
        return;
    if (rows > 1 && w->amx &&
        ce_dnnl_amx_linear(c, &w->wmd, w->amx, w->bias, w->act, rows, x, ldx, beta != 0.0f, y,
                           ldy))
        return;
    if (rows > 1 && w->rows_f32 &&
        ce_dnnl_rows_f32(c, &w->wmd, w->rows_f32, w->bias, w->act, rows, x, ldx, beta != 0.0f, y,
                         ldy))
        return;
    const void *src = x;
    size_t lds = ldx; /* of src; x keeps ldx for the fallback */
    if (w->dt == dnnl_bf16) { /* x's rows rounded, dense, into the session's buffer */
        src = ce_cpu_bf16_x(c, rows, w->in, x, ldx, w->in);
        lds = w->in;
    }
    if (rows == 1 && w->gemv && src) {
        ce_dnnl_gemv(c, &w->wmd, w->gemv, w->bias, src, beta != 0.0f, y);
        ce_cpu_activate_rows(c, w->act, 1, w->out, y, ldy);
        return;
    }
    ce_dnnl_prim key = {.w = w, .serial = w->serial, .rows = rows, .ldx = rows > 1 ? lds : w->in,
                        .ldy = rows > 1 ? ldy : w->out, .accumulate = beta != 0.0f,
                        .threads = c->cpu.n_threads};
    int saved = ce_dnnl_threads_enter(c->cpu.n_threads);
    const ce_dnnl_prim *p = src ? find_prim(c, &key) : NULL;
    int ok = p && run_prim(c, p, src, y);
    ce_dnnl_threads_leave(saved);
    if (!ok)
        fallback(c, w, rows, x, ldx, beta, y, ldy);
    else if (w->fused != w->act)
        ce_cpu_activate_rows(c, w->act, rows, w->out, y, ldy);
}

/* Several products of one x in one parallel region, the threads splitting
 * their outputs as one product's, when all run on one kernel: bf16 on AMX (x
 * rounded once), float32 on AVX-512 (BERT's query, key and value products). */
int ce_dnnl_linear_same_x(void *ctx, size_t n, const void *const *w, size_t rows, const float *x,
                          size_t ldx, float *const *y, const size_t *ldy)
{
    ce_dnnl_product p[CE_DNNL_SAME_X_MAX];
    int amx = 1, f32 = 1;
    if (n == 0 || n > CE_DNNL_SAME_X_MAX)
        return 0;
    const ce_dnnl_weight *w0 = w[0];
    for (size_t i = 0; i < n; i++) {
        const ce_dnnl_weight *wi = w[i];
        if (wi->in != w0->in || wi->wmd.padded_dims[0] != w0->wmd.padded_dims[0])
            return 0; /* not one x after all */
        amx &= wi->amx != NULL;
        f32 &= wi->rows_f32 != NULL;
        const void *data = wi->amx ? (const void *)wi->amx : (const void *)wi->rows_f32;
        p[i] = (ce_dnnl_product){&wi->wmd, data, wi->bias, wi->act, y[i], ldy[i]};
    }
    if (amx)
        return ce_dnnl_amx_same_x(ctx, n, p, rows, x, ldx);
    return f32 ? ce_dnnl_rows_f32_same_x(ctx, n, p, rows, x, ldx) : 0;
}
