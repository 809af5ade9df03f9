/* Internal: an opened compute backend, as the architectures use it.
 *
 * ce_backend_model_open() gives the state a model keeps for the backend it
 * was opened with (its prepared weights live there, see layers.h);
 * ce_backend_open() gives a session's context. Both look the backend up in
 * the registry (registry.c), copy its table and fill every NULL kernel slot
 * with the reference kernel. Callers then call the kernels directly:
 * b->ops.gemm(b->ctx, ...). The reference kernels ignore ctx, so they can
 * stand in for any backend's missing slot. */
#ifndef CE_BACKENDS_BACKEND_INTERNAL_H
#define CE_BACKENDS_BACKEND_INTERNAL_H

#include <stddef.h>

#include "contextembed/backend.h"

/* Size of the version-1 and version-2 tables: a registered table must be at
 * least as big as the version it claims. */
#define CE_BACKEND_OPS_V1_SIZE \
    (offsetof(ce_backend_ops, lstm_cell) + sizeof(((ce_backend_ops *)0)->lstm_cell))
#define CE_BACKEND_OPS_V2_SIZE \
    (offsetof(ce_backend_ops, clip) + sizeof(((ce_backend_ops *)0)->clip))

/* How many backends (built-in ones included) the registry holds at most. */
#define CE_BACKEND_REGISTRY_CAPACITY 32

/* What a model keeps for the backend it was opened with. */
typedef struct ce_backend_model {
    ce_backend_ops ops; /* filled as in ce_backend */
    void *state;        /* from ops.model_create, or NULL */
    int n_threads;
    ce_precision precision; /* what the weights are prepared in */
    int prepares;           /* weights go through ops.linear_prepare (at that precision) */
} ce_backend_model;

/* Fast paths of the library's own backends beside the public table (not
 * part of the ABI: a host's backend has none). Each may decline a call,
 * computing nothing; the caller then runs the table's slots. */
typedef struct ce_backend_ext {
    /* For each i < n: y[i] = act_i(x W_i^T + b_i), the prepared weights
     * w[i] of the session's model all taking x's width, y[i] with row
     * stride ldy[i] (not overlapping x or each other). Returns 1 when done,
     * 0 when declined. NULL: never. */
    int (*linear_same_x)(void *ctx, size_t n, const void *const *w, size_t rows, const float *x,
                         size_t ldx, float *const *y, const size_t *ldy);
} ce_backend_ext;

typedef struct ce_backend {
    ce_backend_ops ops; /* every slot filled: the backend's own, else the reference kernels */
    void *ctx;          /* from ops.create / ops.session_create */
    int n_threads;      /* as created: the most it may use */
    int active_threads; /* what it uses now (ce_backend_set_threads) */
    /* The model's backend state when it is this same backend: linear products
     * then run on the prepared weights. NULL otherwise (raw weights, gemm). */
    const ce_backend_model *model;
    /* The built-in backend's fast paths when model is set, else none (all
     * NULL); they take ctx. */
    ce_backend_ext ext;
} ce_backend;

/* Open the per-model state of backend @p name (NULL/"auto": the best). On
 * success *out is the caller's (ce_backend_model_close); untouched on failure. */
ce_status ce_backend_model_open(const char *name, int n_threads, ce_backend_model **out);
/* The same at @p precision: CE_ERR_UNSUPPORTED, naming the backend, the
 * precision and what it runs, when the backend's precisions lack it. */
ce_status ce_backend_model_open_at(const char *name, int n_threads, ce_precision precision,
                                   ce_backend_model **out);

/* The precisions @p ops prepares weights in (CE_PRECISION_BIT bits): its
 * `precisions`, or f32 alone when that is 0 and it has linear_prepare; 0 for
 * a backend without linear_prepare (f32 then runs gemm on raw weights). */
uint32_t ce_backend_prepared_precisions(const ce_backend_ops *ops);
/* Whether @p ops can run a model at @p precision (prepared, or f32 by gemm). */
int ce_backend_runs_precision(const ce_backend_ops *ops, ce_precision precision);
void ce_backend_model_close(ce_backend_model *bm);

/* Open backend @p name ("ref", "blis", a registered one) with @p n_threads >= 1.
 * NULL or "auto" picks the registered backend with the highest priority (the
 * first registered among equals). Unknown name: CE_ERR_NOT_FOUND, the message
 * lists the available names. When @p model is the state of the same backend,
 * the session uses its prepared weights. On success *out is the caller's,
 * closed with ce_backend_close(); on failure *out is untouched. */
ce_status ce_backend_open(const char *name, int n_threads, const ce_backend_model *model,
                          ce_backend **out);

/* Destroy the context and free. NULL-safe. */
void ce_backend_close(ce_backend *b);

/* Use @p n threads (clamped to 1..b->n_threads) from the next kernel on. */
void ce_backend_set_threads(ce_backend *b, int n);

/* Calling a backend's step that may fail (create, model_create,
 * linear_prepare). ce_backend_call_begin() puts the caller's ce_last_error()
 * aside and clears it, so that a backend failing without a message can be
 * told apart; ce_backend_call_end() then gives, for the step's status @p st:
 * CE_OK with the caller's message back (a success must not change it), or a
 * status this library knows (an unknown one becomes CE_ERR_BACKEND) with a
 * message that starts with @p context and goes on with the backend's own,
 * else with @p what_failed (may be NULL). */
typedef struct ce_backend_call {
    char saved[1024];
} ce_backend_call;

void ce_backend_call_begin(ce_backend_call *call);
ce_status ce_backend_call_end(ce_backend_call *call, ce_status st, const char *context,
                              const char *what_failed);

/* Names of the registered backends, highest priority first (the order "auto"
 * tries them in); returns how many were written, at most @p cap. The names
 * are valid for the life of the process. */
size_t ce_backend_ranked(const char **names, size_t cap);

/* The reference table: every slot filled, static lifetime. */
const ce_backend_ops *ce_backend_ref_ops(void);

#endif
