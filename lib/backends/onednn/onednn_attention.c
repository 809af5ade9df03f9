/* The onednn backend's attention when the model runs in bf16 on a CPU with
 * AMX: the library's own kernel (onednn_amx_attention.c) where it runs, else
 * (CE_NO_AMX set, the tiles refused by the OS, out of memory) both products
 * of every head as two batched oneDNN matmuls in bf16 with float32
 * accumulation, the softmax between them in float32.
 *
 * For query rows [r0, r0 + R) of all heads at once: Q, K and V are rounded
 * to bf16 once per call, each head's rows dense; S[h][r][j] = Q_h[r] . K_h[j]
 * into float32; each row of S gets the masked softmax of the float32 kernels
 * (scale, ce_softmax_row_valid, exp and sum in float32) and is rounded to
 * bf16 as P; O_h[r] = P[h][r] V_h, copied into the output rows. R is cut so
 * that S holds at most CHUNK_SCORES values whatever the length (smaller
 * chunks, to keep S in L2, made the products slower than they saved).
 * Measured on a Xeon (BERT-base, 2 threads): 512 tokens, the whole forward
 * 110-118 -> 96-99 ms; 128 tokens, about 3 % (there the float32 kernel was
 * already 0.28 ms a layer, against 0.04 + 0.05 ms for the two products and
 * 0.08 for the softmax here). Where bf16 products are only twice float32's
 * (AVX512-BF16 without AMX) it is not used: not measured to pay. *
 * Fewer than MIN_ROWS query rows (decoding, short appends) keep the float32
 * kernel: there reading the cached keys and values is the cost, not the
 * products. So does a call whose buffers or primitives cannot be had (out of
 * memory): it is then computed in float32, which is never less exact. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/onednn/onednn_amx_attention.h"
#include "backends/onednn/onednn_backend.h"

#define MIN_ROWS     16
#define CHUNK_SCORES ((size_t)1 << 22) /* 16 MB of float32 scores, 8 of bf16 */

enum { SCORES, SUMS };

static int md3(dnnl_memory_desc_t *md, dnnl_data_type_t dt, size_t d0, size_t d1, size_t d2,
               size_t s0, size_t s1, size_t s2)
{
    dnnl_dims_t dims = {(dnnl_dim_t)d0, (dnnl_dim_t)d1, (dnnl_dim_t)d2};
    dnnl_dims_t strides = {(dnnl_dim_t)s0, (dnnl_dim_t)s1, (dnnl_dim_t)s2};
    return dnnl_memory_desc_init_by_strides(md, 3, dims, dt, strides) == dnnl_success;
}

/* The matmul of one kind for a chunk of @p rows query rows, every operand
 * dense per head (oneDNN's AMX kernels take those; strided views of the
 * rows ran its generic GEMM at a third of the speed). SCORES: Q
 * [heads][rows][hd] (heads tq rows apart) times K^T [heads][hd][tk] into S
 * [heads][rows][tk]. SUMS: P [heads][rows][tk] times V [heads][tk][hd] into
 * O [heads][rows][hd]. */
static int make_attn_prim(ce_dnnl_ctx *c, ce_dnnl_attn_prim *p)
{
    size_t h = p->heads, hd = p->hd, r = p->rows, tk = p->tk;
    dnnl_memory_desc_t src, wei, dst;
    int ok = p->kind == SCORES ? md3(&src, dnnl_bf16, h, r, hd, p->tq * hd, hd, 1) &&
                                     md3(&wei, dnnl_bf16, h, hd, tk, tk * hd, 1, hd) &&
                                     md3(&dst, dnnl_f32, h, r, tk, r * tk, tk, 1)
                               : md3(&src, dnnl_bf16, h, r, tk, r * tk, tk, 1) &&
                                     md3(&wei, dnnl_bf16, h, tk, hd, tk * hd, hd, 1) &&
                                     md3(&dst, dnnl_f32, h, r, hd, r * hd, hd, 1);
    dnnl_matmul_desc_t desc;
    ok = ok && dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst) == dnnl_success;
    dnnl_primitive_attr_t attr = ok ? ce_dnnl_attr(0, CE_BACKEND_ACT_NONE) : NULL;
    dnnl_primitive_desc_t pd = NULL;
    ok = attr && dnnl_primitive_desc_create(&pd, &desc, attr, c->engine, NULL) == dnnl_success;
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (!ok)
        return 0;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scratch_bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    ok = ce_dnnl_scratch_reserve(c, scratch_bytes) &&
         (!scratch_bytes ||
          dnnl_memory_create(&p->scratch, smd, c->engine, DNNL_MEMORY_NONE) == dnnl_success) &&
         dnnl_primitive_create(&p->prim, pd) == dnnl_success &&
         dnnl_memory_create(&p->src, &src, c->engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&p->wei, &wei, c->engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&p->dst, &dst, c->engine, DNNL_MEMORY_NONE) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    if (!ok)
        ce_dnnl_attn_prim_free(p);
    return ok;
}

void ce_dnnl_attn_prim_free(ce_dnnl_attn_prim *p)
{
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    dnnl_memory_t *mems[] = {&p->src, &p->wei, &p->dst, &p->scratch};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (*mems[i])
            dnnl_memory_destroy(*mems[i]);
    memset(p, 0, sizeof *p);
}

/* The session's primitive for this key, made (replacing the oldest entry)
 * when it has none; NULL when one cannot be made. */
static const ce_dnnl_attn_prim *attn_prim(ce_dnnl_ctx *c, const ce_dnnl_attn_prim *key)
{
    for (size_t i = 0; i < CE_DNNL_ATTN_CACHE; i++) {
        const ce_dnnl_attn_prim *p = &c->attn[i];
        if (p->prim && p->kind == key->kind && p->heads == key->heads && p->hd == key->hd &&
            p->rows == key->rows && p->tk == key->tk && p->tq == key->tq &&
            p->threads == key->threads)
            return p;
    }
    ce_dnnl_attn_prim *slot = &c->attn[c->attn_next];
    c->attn_next = (c->attn_next + 1) % CE_DNNL_ATTN_CACHE;
    ce_dnnl_attn_prim_free(slot);
    *slot = *key;
    slot->prim = NULL;
    return make_attn_prim(c, slot) ? slot : NULL;
}

static int run(ce_dnnl_ctx *c, const ce_dnnl_attn_prim *p, const void *src, const void *wei,
               void *dst)
{
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->wei}, {DNNL_ARG_DST, p->dst}};
    int n = 3;
    if (p->scratch) {
        if (dnnl_memory_set_data_handle(p->scratch, c->scratch) != dnnl_success)
            return 0;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    }
    return dnnl_memory_set_data_handle(p->src, (void *)src) == dnnl_success &&
           dnnl_memory_set_data_handle(p->wei, (void *)wei) == dnnl_success &&
           dnnl_memory_set_data_handle(p->dst, dst) == dnnl_success &&
           dnnl_primitive_execute(p->prim, c->stream, n, args) == dnnl_success &&
           dnnl_stream_wait(c->stream) == dnnl_success;
}

/* The session's buffer of at least @p bytes (64-byte aligned), or NULL. */
static void *attn_buffer(ce_dnnl_ctx *c, size_t bytes)
{
    if (bytes > c->attn_bytes) {
        void *b = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!b)
            return NULL;
        free(c->attn_buf);
        c->attn_buf = b;
        c->attn_bytes = bytes;
    }
    return c->attn_buf;
}

/* The bf16 path; 0 when a buffer or primitive could not be had (nothing of
 * out is then final: the caller computes it all again). */
static int attention_bf16(ce_dnnl_ctx *c, size_t heads, size_t hd, size_t tq, size_t tk,
                          const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                          size_t ldv, float scale, int causal, size_t q_offset, float *out,
                          size_t ldo)
{
    size_t d = heads * hd;
    size_t rows = CHUNK_SCORES / (heads * tk);
    rows = rows < 1 ? 1 : rows > tq ? tq : rows;
    /* bf16 Q, K, V; float32 S; bf16 P; float32 O: each part a multiple of 32
     * values, so every part stays 64-byte aligned */
    size_t n_qkv = ((tq + 2 * tk) * d + 31) / 32 * 32, n_s = (heads * rows * tk + 31) / 32 * 32;
    size_t n_o = (heads * rows * hd + 31) / 32 * 32;
    uint16_t *qb = attn_buffer(c, n_qkv * 2 + n_s * 4 + n_s * 2 + n_o * 4);
    if (!qb)
        return 0;
    uint16_t *kb = qb + tq * d, *vb = kb + tk * d;
    float *s = (float *)(qb + n_qkv);
    uint16_t *pb = (uint16_t *)(s + n_s);
    float *o = (float *)(pb + n_s);
    ce_cpu_to_bf16_heads(c, tq, heads, hd, q, ldq, qb);
    ce_cpu_to_bf16_heads(c, tk, heads, hd, k, ldk, kb);
    ce_cpu_to_bf16_heads(c, tk, heads, hd, v, ldv, vb);
    int saved = ce_dnnl_threads_enter(c->cpu.n_threads);
    int ok = 1;
    for (size_t r0 = 0; ok && r0 < tq; r0 += rows) {
        size_t n = tq - r0 < rows ? tq - r0 : rows;
        ce_dnnl_attn_prim key = {.kind = SCORES,
                                 .heads = heads,
                                 .hd = hd,
                                 .rows = n,
                                 .tk = tk,
                                 .tq = tq,
                                 .threads = c->cpu.n_threads};
        const ce_dnnl_attn_prim *p = attn_prim(c, &key);
        ok = p && run(c, p, qb + r0 * hd, kb, s);
        if (ok)
            ce_cpu_attention_probs(c, heads, n, tk, s, scale, causal, q_offset + r0, pb);
        key.kind = SUMS;
        key.tq = 0;
        p = ok ? attn_prim(c, &key) : NULL;
        ok = p && run(c, p, pb, vb, o);
        for (size_t i = 0; ok && i < n; i++)
            for (size_t h = 0; h < heads; h++)
                memcpy(out + (r0 + i) * ldo + h * hd, o + (h * n + i) * hd, hd * sizeof *o);
    }
    ce_dnnl_threads_leave(saved);
    return ok;
}

void ce_dnnl_attention(void *ctx, size_t heads, size_t hd, size_t tq, size_t tk, const float *q,
                       size_t ldq, const float *k, size_t ldk, const float *v, size_t ldv,
                       float scale, int causal, size_t q_offset, float *out, size_t ldo)
{
    ce_dnnl_ctx *c = ctx;
    if (c->bf16 && tq >= MIN_ROWS && tk > 0 && heads > 0 && hd > 0 &&
        ((c->amx && ce_dnnl_amx_attention(ctx, heads, hd, tq, tk, q, ldq, k, ldk, v, ldv, scale,
                                          causal, q_offset, out, ldo)) ||
         attention_bf16(c, heads, hd, tq, tk, q, ldq, k, ldk, v, ldv, scale, causal, q_offset,
                        out, ldo)))
        return;
    ce_cpu_attention(ctx, heads, hd, tq, tk, q, ldq, k, ldk, v, ldv, scale, causal, q_offset, out,
                     ldo);
}
