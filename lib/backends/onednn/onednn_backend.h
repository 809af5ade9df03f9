/* Internal: the "onednn" backend. Every constant weight is reordered once per
 * model into the layout oneDNN's matmul picks for it (format "any": blocked
 * for its AVX-512 / AMX kernels, plain where it has only GEMM), with bias and
 * activation fused as post-ops; sessions share those weights and keep their
 * own primitives, one per weight and row count. The other kernels are the
 * shared CPU kernels. Built when libdnnl-dev is found (CE_HAVE_ONEDNN). */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_BACKEND_H
#define CE_BACKENDS_ONEDNN_ONEDNN_BACKEND_H

#include <oneapi/dnnl/dnnl.h>

#include "backends/backend_internal.h"
#include "backends/cpu/cpu_kernels.h"

const ce_backend_ops *ce_backend_onednn_ops(void);

/* What a model keeps: the engine its weights live on, and the precision the
 * library opened it at (ce_dnnl_model_set_precision). */
typedef struct ce_dnnl_model {
    dnnl_engine_t engine;
    int n_threads;
    ce_precision precision;
} ce_dnnl_model;

/* The model's precision, told by the registry right after model_create (the
 * v2 table's model_create has no precision): at bf16 its sessions run the
 * attention's products in bf16 too (onednn_attention.c). */
void ce_dnnl_model_set_precision(void *model_state, ce_precision precision);

/* A weight as prepared (onednn_linear.c). */
typedef struct ce_dnnl_weight ce_dnnl_weight;

/* A session's primitive for one weight, row count, beta and thread count. */
typedef struct ce_dnnl_prim {
    const ce_dnnl_weight *w;
    uint64_t serial; /* the weight's: what the cache matches on */
    size_t rows, ldx, ldy;
    int accumulate, threads;
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst, scratch; /* handles set per call; scratch NULL when none needed */
} ce_dnnl_prim;

/* A session's primitive for one of the attention's two products
 * (onednn_attention.c), by kind, shape and thread count. */
typedef struct ce_dnnl_attn_prim {
    int kind, threads;
    size_t heads, hd, rows, tk, tq;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, scratch; /* handles set per call; scratch NULL when none needed */
} ce_dnnl_attn_prim;

#define CE_DNNL_ATTN_CACHE 8 /* attention primitives a session keeps */

typedef struct ce_dnnl_ctx {
    ce_cpu_ctx cpu; /* first: the shared kernels read the thread count there */
    dnnl_engine_t engine; /* the model's, or the session's own (owns_engine) */
    int owns_engine;
    dnnl_stream_t stream;
    ce_dnnl_prim *prims; /* open-addressed cache, n_slots a power of two */
    size_t n_slots, n_used;
    void *scratch; /* user-managed scratchpad: one per session, never shared */
    size_t scratch_bytes;
    int bf16; /* the model runs in bf16: so do the attention's products */
    int amx;  /* ... on the library's AMX kernel (onednn_amx_attention.c) */
    ce_dnnl_attn_prim attn[CE_DNNL_ATTN_CACHE];
    size_t attn_next; /* the entry to replace next */
    void *attn_buf;   /* bf16 queries, keys, values, float32 scores, bf16 probabilities */
    size_t attn_bytes;
} ce_dnnl_ctx;

ce_status ce_dnnl_model_create(void *user_data, int n_threads, void **model_state);
void ce_dnnl_model_destroy(void *model_state);
ce_status ce_dnnl_session_create(void *user_data, void *model_state, int n_threads, void **ctx);
void ce_dnnl_destroy(void *ctx);

ce_status ce_dnnl_linear_prepare(void *model_state, const ce_linear_desc *desc, void **prepared);
void ce_dnnl_linear_release(void *model_state, void *prepared);
/* onednn's fast paths (ce_backend_ext). */
const ce_backend_ext *ce_backend_onednn_ext(void);
int ce_dnnl_linear_same_x(void *ctx, size_t n, const void *const *w, size_t rows, const float *x,
                          size_t ldx, float *const *y, const size_t *ldy);
void ce_dnnl_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                    float beta, float *y, size_t ldy);
/* Forget every cached primitive of the session (the cache is full). */
void ce_dnnl_cache_clear(ce_dnnl_ctx *c);
/* Primitive attributes: user scratchpad, then the sum of beta = 1 when
 * @p accumulate and the activation as post-ops; NULL when out of memory. */
dnnl_primitive_attr_t ce_dnnl_attr(int accumulate, ce_backend_activation act);
/* The session's scratchpad grown to at least @p bytes (4096-byte aligned);
 * 0 when out of memory (the old one stays). */
int ce_dnnl_scratch_reserve(ce_dnnl_ctx *c, size_t bytes);

/* The attention slot: bf16 products for a bf16 model's blocks of query
 * rows, the shared float32 kernel otherwise (onednn_attention.c). */
void ce_dnnl_attention(void *ctx, size_t heads, size_t hd, size_t tq, size_t tk, const float *q,
                       size_t ldq, const float *k, size_t ldk, const float *v, size_t ldv,
                       float scale, int causal, size_t q_offset, float *out, size_t ldo);
void ce_dnnl_attn_prim_free(ce_dnnl_attn_prim *p);

/* Run @p fn with oneDNN's OpenMP thread count set to @p threads in the calling
 * thread, restoring the caller's own setting after. */
int ce_dnnl_threads_enter(int threads);
void ce_dnnl_threads_leave(int saved);

#endif
