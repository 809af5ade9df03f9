/* Internal: the "onednn" backend. Every constant weight is reordered once per
 * model into the layout oneDNN's matmul picks for it (format "any": blocked
 * for its AVX-512 / AMX kernels, plain where it has only GEMM), with bias and
 * activation fused as post-ops; sessions share those weights and keep their
 * own primitives, one per weight and row count. The other kernels are the
 * shared CPU kernels. Built when libdnnl-dev is found (CE_HAVE_ONEDNN). */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_BACKEND_H
#define CE_BACKENDS_ONEDNN_ONEDNN_BACKEND_H

#include <oneapi/dnnl/dnnl.h>

#include "backends/cpu/cpu_kernels.h"

const ce_backend_ops *ce_backend_onednn_ops(void);

/* What a model keeps: the engine its weights live on. */
typedef struct ce_dnnl_model {
    dnnl_engine_t engine;
    int n_threads;
} ce_dnnl_model;

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

typedef struct ce_dnnl_ctx {
    ce_cpu_ctx cpu; /* first: the shared kernels read the thread count there */
    dnnl_engine_t engine; /* the model's, or the session's own (owns_engine) */
    int owns_engine;
    dnnl_stream_t stream;
    ce_dnnl_prim *prims; /* open-addressed cache, n_slots a power of two */
    size_t n_slots, n_used;
    void *scratch; /* user-managed scratchpad: one per session, never shared */
    size_t scratch_bytes;
} ce_dnnl_ctx;

ce_status ce_dnnl_model_create(void *user_data, int n_threads, void **model_state);
void ce_dnnl_model_destroy(void *model_state);
ce_status ce_dnnl_session_create(void *user_data, void *model_state, int n_threads, void **ctx);
void ce_dnnl_destroy(void *ctx);

ce_status ce_dnnl_linear_prepare(void *model_state, const ce_linear_desc *desc, void **prepared);
void ce_dnnl_linear_release(void *model_state, void *prepared);
void ce_dnnl_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                    float beta, float *y, size_t ldy);
/* Forget every cached primitive of the session (the cache is full). */
void ce_dnnl_cache_clear(ce_dnnl_ctx *c);

/* Run @p fn with oneDNN's OpenMP thread count set to @p threads in the calling
 * thread, restoring the caller's own setting after. */
int ce_dnnl_threads_enter(int threads);
void ce_dnnl_threads_leave(int saved);

#endif
