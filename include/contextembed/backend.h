/**
 * @file backend.h
 * @brief The compute backend vtable, for people who write backends.
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
 * fail (allocation, thread pools) belongs in @c create, @c model_create,
 * @c session_create or @c linear_prepare.
 *
 * Version 2 adds state per model: when a model is opened with a backend, the
 * library calls @c model_create once and then @c linear_prepare once for each
 * constant weight matrix the model multiplies by (the backend may pack,
 * reorder or convert it); every session of that model, on any thread, then
 * runs @c linear on the prepared form, which the sessions share read-only. A
 * backend that leaves @c linear_prepare NULL gets @c gemm with the raw
 * weights, as in version 1. Weights may be prepared in a reduced precision
 * (::ce_precision; @c precisions says which a backend takes, the descriptor's
 * @c precision which one is asked). See docs/backends.md for a worked example.
 */
#ifndef CONTEXTEMBED_BACKEND_H
#define CONTEXTEMBED_BACKEND_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of ::ce_backend_ops this header describes. */
#define CE_BACKEND_ABI_VERSION 2

/** Transpose flag of a GEMM operand. */
typedef enum ce_transpose {
    CE_NO_TRANS = 0,
    CE_TRANS = 1,
} ce_transpose;

/** Activation applied to the result of a linear product (version 2). */
typedef enum ce_backend_activation {
    CE_BACKEND_ACT_NONE = 0,
    CE_BACKEND_ACT_GELU_ERF = 1,  /**< 0.5 x (1 + erf(x / sqrt 2)) */
    CE_BACKEND_ACT_GELU_TANH = 2, /**< 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    CE_BACKEND_ACT_RELU = 3,      /**< max(x, 0) */
    CE_BACKEND_ACT_SIGMOID = 4,   /**< 1 / (1 + exp(-x)) */
    CE_BACKEND_ACT_TANH = 5,      /**< tanh(x) */
} ce_backend_activation;

/**
 * A constant weight matrix handed to @c linear_prepare (version 2).
 *
 * The product it describes is y[r, :] = act(x[r, :] W^T + bias + beta y[r, :])
 * for x with @c in columns and y with @c out columns. W is stored either as
 * torch.nn.Linear stores it (@c layout CE_TRANS: @c out rows of @c in values,
 * row stride @c ld) or transposed (CE_NO_TRANS: @c in rows of @c out values,
 * as GPT-2's Conv1D). The descriptor itself is valid only during the call;
 * the weight and bias data stay readable while the model is open, but after
 * a successful prepare the library drops the weight's resident pages, so
 * reading it again brings them back from the file (a rare fallback may).
 */
typedef struct ce_linear_desc {
    uint32_t struct_size;       /**< sizeof(ce_linear_desc) of the library calling */
    /** @c in: columns of x (>= 1) */
    size_t in, out;             /**< @c out: columns of y (>= 1) */
    const float *weight;        /**< see above */
    size_t ld;                  /**< row stride of weight, in elements */
    ce_transpose layout;        /**< CE_TRANS: weight is [out, in]; CE_NO_TRANS: [in, out] */
    const float *bias;          /**< [out], or NULL */
    ce_backend_activation act;  /**< applied last */
    const char *name;           /**< the tensor's name, for messages */
    /**
     * Appended to version 2: the precision to prepare the weight in (the
     * model's ::CE_OPT_PRECISION; always one the backend's @c precisions
     * lists). Read it only when @c struct_size covers it
     * (offsetof(ce_linear_desc, precision) < struct_size): a library from
     * before it asks for CE_PRECISION_F32. Weight and bias are always float32.
     */
    ce_precision precision;
} ce_linear_desc;

/** The bit of @p p in ::ce_backend_ops::precisions. */
#define CE_PRECISION_BIT(p) (1u << (unsigned)(p))

/** The backend vtable. Fill with zeros, then set what you implement. */
typedef struct ce_backend_ops {
    uint32_t abi_version; /**< ::CE_BACKEND_ABI_VERSION the backend was built with */
    uint32_t struct_size; /**< sizeof(ce_backend_ops) where the backend was built */
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
    void (*gemm)(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
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

    /* ---- version 2: state per model, prepared weights (all optional) ---- */

    /** Passed unchanged to @c model_create and @c session_create (a host's own data). */
    void *user_data;
    /**
     * Create the state a model keeps for this backend, shared read-only by
     * every session of the model on any thread. @p n_threads is the model's
     * thread setting (the backend may use that many while preparing).
     * NULL: the backend keeps no per-model state (model_state is then NULL).
     */
    ce_status (*model_create)(void *user_data, int n_threads, void **model_state);
    /** Destroy a state from @c model_create, after every prepared weight was released. */
    void (*model_destroy)(void *model_state);
    /**
     * Per-session context, when set used instead of @c create: it also gets
     * the model's state (NULL when the session's model was opened with another
     * backend, or the backend has no @c model_create).
     */
    ce_status (*session_create)(void *user_data, void *model_state, int n_threads, void **ctx);
    /**
     * Prepare one constant weight (see ::ce_linear_desc) and return the
     * prepared form in *prepared, a copy that does not read desc->weight in
     * normal operation (see ::ce_linear_desc). On failure return an error
     * status (a message through the log is welcome); the library then names
     * the backend and tensor.
     * NULL: weights are not prepared and the library runs @c gemm on them.
     */
    ce_status (*linear_prepare)(void *model_state, const ce_linear_desc *desc, void **prepared);
    /** Free a prepared weight. Required when @c linear_prepare is set. */
    void (*linear_release)(void *model_state, void *prepared);
    /**
     * y[r, :] = act(x[r, :] W^T + bias + beta y[r, :]) for @p rows rows, W the
     * prepared weight. beta is 0 (y is not read) or 1. Strides in elements;
     * x and y do not overlap. Required when @c linear_prepare is set.
     */
    void (*linear)(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                   float beta, float *y, size_t ldy);
    /**
     * Multi-head attention of one sequence. Head h reads columns
     * [h * head_dim, (h + 1) * head_dim) of q (tq rows), k and v (tk rows) and
     * writes the same columns of out (tq rows): out = softmax(scale q k^T) v,
     * where query i sees key j when j < tk and, with @p causal, j <= q_offset + i
     * (every query sees at least one key). out does not overlap q, k or v.
     */
    void (*attention)(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                      const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                      size_t ldv, float scale, int causal, size_t q_offset, float *out,
                      size_t ldo);
    /**
     * Use at most @p n_threads (1 ..the count given at creation) from the next
     * call on; the library lowers it while other processes keep the CPUs busy.
     * NULL: the backend keeps the count it was created with.
     */
    void (*set_threads)(void *ctx, int n_threads);
    /**
     * For each of @p groups groups of @p rows rows of @p cols values (x is
     * dense, group g starts at row g * rows): y[g, j] = max over the group's
     * rows of x[., j]. y has row stride @p ldy.
     */
    void (*max_rows)(void *ctx, size_t groups, size_t rows, size_t cols, const float *x, float *y,
                     size_t ldy);
    /** In place: x = g * t + (1 - g) * x, element-wise (a highway layer's carry). */
    void (*gate_mix)(void *ctx, size_t n, const float *g, const float *t, float *x);
    /** In place: x = min(max(x, -limit), limit), limit > 0. */
    void (*clip)(void *ctx, size_t n, float limit, float *x);

    /* ---- version 2, appended (struct_size tells whether a table has it) ---- */

    /**
     * The precisions @c linear_prepare takes, as CE_PRECISION_BIT() bits.
     * 0 (a table built before this member, or left zero) means
     * CE_PRECISION_F32 only. A model opened at a precision whose bit is clear
     * is refused with CE_ERR_UNSUPPORTED before anything is prepared (with
     * the backend "auto", the backend is skipped): never computed in another
     * precision. When other bits are set but not CE_PRECISION_F32's, f32
     * models are not prepared by the backend: their products run @c gemm on
     * the raw weights, as for a backend without @c linear_prepare.
     * @c linear_prepare may still refuse a precision it lists, with
     * CE_ERR_UNSUPPORTED (e.g. a CPU without the instructions); the model
     * then does not open with that backend.
     */
    uint32_t precisions;
} ce_backend_ops;

/**
 * @brief Register a backend so that sessions can select it by name.
 *
 * The table is copied (only its first @c struct_size bytes, so a table built
 * against an older header keeps working); @c name and whatever @c user_data
 * points to must stay valid for the life of the process. Fails with
 * CE_ERR_BACKEND when the table's @c abi_version is newer than
 * ::CE_BACKEND_ABI_VERSION or @c struct_size is too small for it, with
 * CE_ERR_INVALID_ARGUMENT when @p ops or its name is NULL, when it has neither
 * @c create nor @c session_create, no @c destroy, or @c linear_prepare without
 * @c linear and @c linear_release, and with CE_ERR_STATE when the name is
 * taken.
 *
 * Thread-safe: the registry is process-wide and guarded by a mutex, so
 * backends may be registered while other threads open models and sessions
 * (a model or session already open keeps the backend it has). Entries are
 * never removed. The library then calls the table's functions from any
 * thread: a context from @c create or @c session_create is used by one
 * thread at a time, while a model's state and its prepared weights are
 * shared by the threads of every session on that model at once.
 */
CE_API ce_status ce_backend_register(const ce_backend_ops *ops);

/** @brief Number of registered backends (built-in ones included). Thread-safe. */
CE_API size_t ce_backend_count(void);

/**
 * @brief Name of the @p index-th registered backend, or NULL when out of range.
 * Borrowed, valid for the life of the process. Thread-safe.
 */
CE_API const char *ce_backend_name(size_t index);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_BACKEND_H */
