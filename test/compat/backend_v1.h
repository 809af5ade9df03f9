/**
 * @file backend_v1.h
 * @brief Version 1 of the backend vtable, kept for the compatibility tests.
 *
 * This is include/contextembed/backend.h as it was at ABI version 1
 * (git show b2d36b2~1:include/contextembed/backend.h) with only names changed
 * so that it can be included beside the current header: the include guard,
 * ce_backend_ops -> ce_backend_ops_v1, ce_transpose -> ce_transpose_v1 (and
 * CE_NO_TRANS, CE_TRANS -> CE_V1_NO_TRANS, CE_V1_TRANS), CE_BACKEND_ABI_VERSION
 * -> CE_BACKEND_V1_ABI_VERSION. The functions are declared by the current
 * header, so their declarations are dropped here: a table built with this
 * header is registered with a cast. Layout and values are unchanged; do not
 * edit it to follow backend.h.
 *
 * (The original text follows.)
 *
 * A backend is a table of kernels. The built-in "ref" backend fills every slot
 * with plain portable C and is the ground truth; other backends fill the slots
 * they accelerate and leave the rest NULL, which the library fills from "ref".
 *
 * The table is versioned like SQLite's VFS: @c abi_version and @c struct_size
 * come first, then members grouped by the version that added them. A backend
 * built against version N of this header keeps working with a library that
 * knows version N or later; a backend claiming a version the library does not
 * know is refused by ce_backend_register().
 *
 * All matrices are row-major float32. Kernels must not fail: anything that can
 * fail (allocation, thread pools) belongs in @c create.
 */
#ifndef CE_TEST_COMPAT_BACKEND_V1_H
#define CE_TEST_COMPAT_BACKEND_V1_H

#include "contextembed/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of ::ce_backend_ops_v1 this header describes. */
#define CE_BACKEND_V1_ABI_VERSION 1

/** Transpose flag of a GEMM operand. */
typedef enum ce_transpose_v1 {
    CE_V1_NO_TRANS = 0,
    CE_V1_TRANS = 1,
} ce_transpose_v1;

/** The backend vtable. Fill with zeros, then set what you implement. */
typedef struct ce_backend_ops_v1 {
    uint32_t abi_version; /**< ::CE_BACKEND_V1_ABI_VERSION the backend was built with */
    uint32_t struct_size; /**< sizeof(ce_backend_ops_v1) where the backend was built */
    const char *name;     /**< unique name, selects the backend ("ref", "blis", ...) */
    int priority;         /**< "auto" picks the registered backend with the highest priority */

    /* ---- version 1: lifecycle ---- */

    /**
     * Create a per-session context using at most @p n_threads threads (>= 1).
     * Returns CE_OK and sets *ctx (may be NULL if the backend has no state).
     */
    ce_status (*create)(int n_threads, void **ctx);
    /** Destroy a context from @c create. Must accept NULL. */
    void (*destroy)(void *ctx);

    /* ---- version 1: kernels (NULL = use the reference kernel) ---- */

    /**
     * C[m,n] = alpha * op(A) * op(B) + beta * C (+ bias[n] on every row when
     * bias is not NULL). op(A) is m x k, op(B) is k x n. With beta == 0, C is
     * not read (it may hold NaN). lda/ldb/ldc are row strides in elements.
     */
    void (*gemm)(void *ctx, ce_transpose_v1 trans_a, ce_transpose_v1 trans_b, size_t m, size_t n,
                 size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                 float beta, float *c, size_t ldc, const float *bias);

    /**
     * y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta for each of
     * @p rows rows of @p dim values (biased variance). y may equal x.
     */
    void (*layer_norm)(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                       const float *gamma, const float *beta, float eps, float *y, size_t ldy);

    /**
     * In-place masked softmax of each row of x (rows x cols, stride ldx) after
     * multiplying by @p scale. Column j of row i is masked (probability 0) when
     * j >= n_valid, or when @p causal is non-zero and j > q_offset + i.
     * A row with every column masked becomes all zeros.
     */
    void (*softmax)(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                    size_t n_valid, int causal, size_t q_offset);

    /** In place: x = 0.5 x (1 + erf(x / sqrt 2)) (BERT's "gelu"). */
    void (*gelu_erf)(void *ctx, size_t n, float *x);
    /** In place: x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2's "gelu_new"). */
    void (*gelu_tanh)(void *ctx, size_t n, float *x);
    /** y = a + b, element-wise; y may alias a or b. */
    void (*add)(void *ctx, size_t n, const float *a, const float *b, float *y);
    /** In place: x = alpha * x. */
    void (*scale)(void *ctx, size_t n, float alpha, float *x);
    /** In place: x = max(x, 0). */
    void (*relu)(void *ctx, size_t n, float *x);
    /** In place: x = 1 / (1 + exp(-x)). */
    void (*sigmoid)(void *ctx, size_t n, float *x);
    /** In place: x = tanh(x). */
    void (*tanh)(void *ctx, size_t n, float *x);
    /**
     * One LSTM step for @p batch rows. gates[r] holds 4*cell pre-activations in
     * the order input, forget, candidate, output (row stride ld_gates). Updates
     * c[r] (stride ldc) and writes h[r] (stride ldh):
     *   c = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(g);
     *   c = clamp(c, -cell_clip, cell_clip) when cell_clip > 0;
     *   h = sigmoid(o) * tanh(c).
     */
    void (*lstm_cell)(void *ctx, size_t batch, size_t cell, const float *gates, size_t ld_gates,
                      float forget_bias, float cell_clip, float *c, size_t ldc, float *h,
                      size_t ldh);
} ce_backend_ops_v1;

/* (ce_backend_register, ce_backend_count and ce_backend_name were declared here.) */

#ifdef __cplusplus
}
#endif

#endif /* CE_TEST_COMPAT_BACKEND_V1_H */
